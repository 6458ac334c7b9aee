"""dense.Sequential: chaining, backpropagation through the stack, and the training loop."""

import copy
import io
import re
import sys

import numpy as np
import pytest
from helpers import assert_same_parameters, mlp, parameters

from dense import (
    MSE,
    Dense,
    LeakyReLU,
    Loss,
    ReLU,
    Sequential,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    numerical_gradient,
    relative_error,
)
from dense.datasets import spirals, two_moons

# --- construction -------------------------------------------------------------------------


def test_layers_are_kept_in_order_as_a_tuple():
    first, second = Dense(3, 4, rng=0), Dense(4, 2, rng=1)
    model = Sequential([first, second])
    assert model.layers == (first, second)
    assert model.layers[0] is first
    assert (model.input_size, model.output_size) == (3, 2)


def test_layers_may_come_from_any_iterable():
    model = Sequential(Dense(a, b, rng=0) for a, b in [(2, 3), (3, 1)])
    assert len(model.layers) == 2


def test_layers_may_come_as_separate_arguments_like_torch():
    first, second = Dense(3, 4, rng=0), Dense(4, 2, rng=1)
    assert Sequential(first, second).layers == (first, second)
    assert Sequential(first).layers == (first,)
    with pytest.raises(TypeError, match=r"layers\[1\] must be a dense.Dense, got list"):
        Sequential(first, [second])
    with pytest.raises(
        ValueError, match=re.escape("layers[0] has output_size 4 but layers[1] has input_size 3")
    ):
        Sequential(first, first.__class__(3, 2))


def test_n_parameters_counts_weights_and_biases():
    model = Sequential([Dense(64, 64, ReLU(), rng=0), Dense(64, 10, rng=1)])
    assert model.n_parameters == 64 * 64 + 64 + 64 * 10 + 10 == 4810


def test_repr_is_a_model_summary():
    model = Sequential([Dense(64, 64, ReLU(), init="he", rng=0), Dense(64, 10, rng=1)])
    lines = repr(model).splitlines()
    assert lines[0] == "Sequential"
    assert lines[1].split() == ["#", "Layer", "Output", "shape", "Parameters"]
    assert "Dense(64, 64, activation=ReLU(), init='he')" in lines[2]
    assert lines[2].rstrip().endswith("(batch, 64)        4,160")
    assert lines[3].split()[-1] == "650"
    assert "(batch, 10)" in lines[3]
    assert lines[-1] == "Total parameters: 4,810"


def test_sizes_that_do_not_chain_are_refused_naming_both():
    with pytest.raises(
        ValueError,
        match=re.escape("layers[0] has output_size 4 but layers[1] has input_size 5"),
    ):
        Sequential([Dense(3, 4, rng=0), Dense(5, 2, rng=0)])


@pytest.mark.parametrize("empty", [[], ()])
def test_no_layers_is_refused(empty):
    with pytest.raises(ValueError, match="at least one dense.Dense, got an empty list"):
        Sequential(*[empty] if isinstance(empty, list) else empty)


def test_non_dense_items_are_refused():
    with pytest.raises(TypeError, match=r"layers\[1\] must be a dense.Dense, got ReLU"):
        Sequential([Dense(3, 3, rng=0), ReLU()])


def test_something_that_is_neither_a_layer_nor_a_list_is_refused():
    with pytest.raises(TypeError, match="layers must be a list of dense.Dense, got int"):
        Sequential(5)


def test_the_same_layer_twice_is_refused():
    layer = Dense(3, 3, rng=0)
    with pytest.raises(ValueError, match=r"layers\[0\] and layers\[1\] are the same Dense object"):
        Sequential([layer, layer])


# --- forward, backward, predict -----------------------------------------------------------


def test_forward_composes_the_layers():
    model = mlp([3, 5, 4, 2])
    x = np.random.default_rng(1).normal(size=(6, 3))
    probe = copy.deepcopy(model.layers)
    expected = probe[2].forward(probe[1].forward(probe[0].forward(x)))
    np.testing.assert_array_equal(model.forward(x), expected)


def test_predict_is_forward_and_argmax_gives_classes():
    model = mlp([2, 4, 3])
    x = np.random.default_rng(2).normal(size=(5, 2))
    logits = model.predict(x)
    np.testing.assert_array_equal(logits, model.forward(x))
    assert logits.argmax(axis=1).shape == (5,)


def test_forward_refuses_the_wrong_width_before_any_layer_runs():
    model = mlp([3, 4, 2])
    with pytest.raises(ValueError, match=r"must have shape \(batch, 3\), got shape \(2, 4\)"):
        model.forward(np.ones((2, 4)))
    assert all(layer.input is None for layer in model.layers)


@pytest.mark.parametrize("activation", [Tanh, Sigmoid, lambda: LeakyReLU(0.1), ReLU])
def test_backward_matches_finite_differences_of_the_whole_model(activation):
    rng = np.random.default_rng(3)
    # Xavier keeps the gradients from vanishing through three sigmoids: with the seed's
    # 0.1 scale |dL/dx| ~ 3e-4 and float64 rounding in the difference quotient dominates.
    model = mlp([4, 6, 5, 3], activation=activation, seed=3, init="xavier")
    x = rng.normal(size=(7, 4))
    labels = rng.integers(0, 3, size=7)
    loss = SoftmaxCrossEntropy()

    def total_loss(_):
        return loss.forward(model.forward(x), labels)

    loss.forward(model.forward(x), labels)
    d_input = model.backward(loss.backward(), learning_rate=0.0)
    analytic = [d_input] + [g for layer in model.layers for g in (layer.d_weights, layer.d_biases)]
    numeric = [numerical_gradient(total_loss, x)]
    for layer in model.layers:
        numeric += [
            numerical_gradient(total_loss, layer.weights),
            numerical_gradient(total_loss, layer.biases),
        ]
    errors = [relative_error(a, n) for a, n in zip(analytic, numeric, strict=True)]
    assert max(errors) < 1e-7, errors


def test_backward_updates_every_layer_by_its_own_gradient():
    rng = np.random.default_rng(4)
    model = mlp([3, 4, 2], seed=4)
    x, g = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    reference = copy.deepcopy(model)
    reference.forward(x)
    expected_d_input = reference.backward(g, learning_rate=0.0)

    model.forward(x)
    d_input = model.backward(g, learning_rate=0.5)
    np.testing.assert_allclose(d_input, expected_d_input, rtol=1e-13)
    for layer, ref in zip(model.layers, reference.layers, strict=True):
        np.testing.assert_allclose(layer.weights, ref.weights - 0.5 * ref.d_weights, rtol=1e-13)
        np.testing.assert_allclose(layer.biases, ref.biases - 0.5 * ref.d_biases, rtol=1e-13)


def test_backward_with_zero_learning_rate_changes_no_parameter():
    model = mlp([3, 4, 2])
    saved = parameters(model)
    model.forward(np.ones((2, 3)))
    model.backward(np.ones((2, 2)), learning_rate=0.0)
    assert_same_parameters(model, saved)


def test_backward_refuses_a_wrong_gradient_shape_before_any_update():
    model = mlp([3, 4, 2])
    saved = parameters(model)
    model.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"\(2, 2\), got shape \(2, 3\)"):
        model.backward(np.ones((2, 3)), learning_rate=0.1)
    assert_same_parameters(model, saved)


def test_backward_before_forward_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="before forward"):
        mlp([3, 2]).backward(np.ones((1, 2)), learning_rate=0.1)


# --- fit ----------------------------------------------------------------------------------


def test_fit_learns_two_moons_and_returns_one_loss_per_epoch():
    x, y = two_moons(100, noise=0.1, rng=0)
    model = mlp([2, 16, 2], seed=0, init="xavier")
    history = model.fit(
        x, y, SoftmaxCrossEntropy(), epochs=100, learning_rate=0.5, rng=0, progress=False
    )
    assert len(history) == 100
    assert all(isinstance(v, float) for v in history)
    assert history[-1] < 0.2 * history[0]  # measured: 0.47 -> 0.035
    assert (model.predict(x).argmax(axis=1) == y).mean() > 0.97  # measured: 1.0


def test_fit_does_exactly_the_seed_update_per_batch():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    model = mlp([3, 4, 2], seed=5)
    by_hand = copy.deepcopy(model)
    model.fit(x, y, MSE(), epochs=1, batch_size=4, learning_rate=0.1, shuffle=False, progress=False)
    loss = MSE()
    for start in (0, 4, 8):
        batch = slice(start, start + 4)
        loss.forward(by_hand.forward(x[batch]), y[batch])
        by_hand.backward(loss.backward(), 0.1)
    assert_same_parameters(model, parameters(by_hand))


def test_epoch_loss_is_the_mean_over_samples_weighting_batches_by_size():
    # With learning_rate=0 nothing moves, so the epoch mean must equal the full-data loss,
    # although the 20 samples come in batches of 7, 7 and 6.
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(20, 3)), rng.integers(0, 4, size=20)
    model = mlp([3, 5, 4], seed=6)
    full = SoftmaxCrossEntropy().forward(model.forward(x), y)
    history = model.fit(
        x, y, SoftmaxCrossEntropy(), epochs=2, batch_size=7, learning_rate=0.0, rng=0,
        progress=False,
    )  # fmt: skip
    assert history == pytest.approx([full, full], rel=1e-12)
    batch_mean = np.mean(
        [
            SoftmaxCrossEntropy().forward(model.forward(x[s : s + 7]), y[s : s + 7])
            for s in (0, 7, 14)
        ]
    )
    assert abs(batch_mean - full) > 1e-6  # the unweighted mean would differ


def test_same_seed_same_history_other_seed_other_history():
    x, y = spirals(30, rng=1)

    def run(seed, shuffle=True):
        model = mlp([2, 8, 3], seed=0)
        return model.fit(
            x, y, SoftmaxCrossEntropy(), epochs=5, batch_size=16, learning_rate=0.3,
            shuffle=shuffle, rng=seed, progress=False,
        ), parameters(model)  # fmt: skip

    history, params = run(7)
    again, params_again = run(np.random.default_rng(7))
    assert history == again
    for a, b in zip(params, params_again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert run(8)[0] != history
    assert run(7, shuffle=False)[0] == run(8, shuffle=False)[0]


def test_fit_accepts_probability_rows_for_cross_entropy():
    x, y = two_moons(20, rng=0)
    model = mlp([2, 4, 2])
    history = model.fit(x, np.eye(2)[y], SoftmaxCrossEntropy(), epochs=2, progress=False)
    assert len(history) == 2


# --- progress -----------------------------------------------------------------------------


def small_fit(progress):
    x, y = two_moons(10, rng=0)
    return mlp([2, 3, 2]).fit(
        x, y, SoftmaxCrossEntropy(), epochs=3, batch_size=5, progress=progress
    )


def test_no_progress_bar_when_false(capsys):
    small_fit(False)
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == ""


def test_progress_bar_on_stderr_when_true(capsys):
    small_fit(True)
    captured = capsys.readouterr()
    assert "epoch 3/3" in captured.err
    assert "12/12" in captured.err  # 3 epochs x 4 batches
    assert "loss=" in captured.err
    assert captured.out == ""


def test_progress_none_shows_nothing_without_a_terminal(capsys):
    assert not sys.stderr.isatty()
    small_fit(None)
    assert capsys.readouterr().err == ""


def test_progress_none_shows_the_bar_on_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    small_fit(None)
    assert "epoch 3/3" in terminal.getvalue()


def test_progress_none_survives_a_missing_stderr(monkeypatch):
    monkeypatch.setattr(sys, "stderr", None)  # pythonw, some daemons
    assert len(small_fit(None)) == 3


# --- refused calls leave the model untouched ----------------------------------------------

X3 = np.random.default_rng(9).normal(size=(12, 3))
LABELS = np.arange(12) % 3


@pytest.mark.parametrize(
    ("x", "y", "loss", "kwargs", "error", "message"),
    [
        (
            X3,
            LABELS[:10],
            SoftmaxCrossEntropy(),
            {},
            ValueError,
            "same number of samples, got 12 inputs and 10 targets",
        ),
        (
            X3[:, :2],
            LABELS,
            SoftmaxCrossEntropy(),
            {},
            ValueError,
            r"x must have shape (batch, 3), got shape (12, 2)",
        ),
        (X3[0], LABELS, SoftmaxCrossEntropy(), {}, ValueError, "x must be 2-D"),
        (X3[:0], LABELS[:0], SoftmaxCrossEntropy(), {}, ValueError, "at least one sample"),
        (
            X3,
            LABELS + 1,
            SoftmaxCrossEntropy(),
            {},
            ValueError,
            "target labels must lie in [0, 3) for 3 classes, got 3 at position 2",
        ),
        (X3, LABELS - 1, SoftmaxCrossEntropy(), {}, ValueError, "got -1 at position 0"),
        (X3, LABELS.astype(float), SoftmaxCrossEntropy(), {}, TypeError, "integer class labels"),
        (
            X3,
            np.ones((12, 4)) / 4,
            SoftmaxCrossEntropy(),
            {},
            ValueError,
            "target must have the shape of the prediction (batch, classes), (12, 3), got shape (12, 4)",
        ),
        (X3, np.ones((12, 3)), SoftmaxCrossEntropy(), {}, ValueError, "rows must sum to 1"),
        (
            X3,
            np.ones((12, 2)),
            MSE(),
            {},
            ValueError,
            "target must have the shape of the prediction, (12, 3), got shape (12, 2)",
        ),
        (X3, np.ones(12), MSE(), {}, ValueError, "got shape (12,)"),
        (
            np.where(X3 > 1, np.nan, X3),
            LABELS,
            SoftmaxCrossEntropy(),
            {},
            ValueError,
            "x holds NaN",
        ),
        (X3, np.full((12, 3), np.inf), MSE(), {}, ValueError, "target holds NaN or infinite"),
        (
            X3,
            LABELS,
            SoftmaxCrossEntropy,
            {},
            TypeError,
            "an instance such as SoftmaxCrossEntropy()",
        ),
        (
            X3,
            LABELS.reshape(-1, 1),
            SoftmaxCrossEntropy(),
            {},
            ValueError,
            "target labels must have shape (12,), one label per sample, got shape (12, 1); use target.ravel()",
        ),
        (
            np.ma.masked_array(X3, mask=X3 > 1),
            LABELS,
            SoftmaxCrossEntropy(),
            {},
            ValueError,
            "x has 6 masked entries",
        ),
        (
            X3,
            LABELS,
            object(),
            {},
            TypeError,
            "loss must have forward(prediction, target) and backward()",
        ),
        (
            X3,
            LABELS,
            SoftmaxCrossEntropy(),
            {"epochs": 0},
            ValueError,
            "epochs must be a positive integer, got 0",
        ),
        (
            X3,
            LABELS,
            SoftmaxCrossEntropy(),
            {"epochs": 2.0},
            TypeError,
            "epochs must be a positive integer",
        ),
        (
            X3,
            LABELS,
            SoftmaxCrossEntropy(),
            {"batch_size": 0},
            ValueError,
            "batch_size must be a positive integer, got 0",
        ),
        (
            X3,
            LABELS,
            SoftmaxCrossEntropy(),
            {"batch_size": 2.5},
            TypeError,
            "batch_size must be a positive integer, got 2.5",
        ),
        (X3, LABELS, SoftmaxCrossEntropy(), {"batch_size": True}, TypeError, "got the bool True"),
        (
            X3,
            LABELS,
            SoftmaxCrossEntropy(),
            {"learning_rate": -0.1},
            ValueError,
            "learning_rate must be >= 0.0, got -0.1",
        ),
        (
            X3,
            LABELS,
            SoftmaxCrossEntropy(),
            {"learning_rate": np.nan},
            ValueError,
            "learning_rate must be finite",
        ),
        (
            X3,
            LABELS,
            SoftmaxCrossEntropy(),
            {"shuffle": 1},
            TypeError,
            "shuffle must be True or False",
        ),
        (
            X3,
            LABELS,
            SoftmaxCrossEntropy(),
            {"rng": "seed"},
            TypeError,
            "rng must be None, an int seed",
        ),
        (
            X3,
            LABELS,
            SoftmaxCrossEntropy(),
            {"progress": "yes"},
            TypeError,
            "progress must be True, False or None",
        ),
    ],
)
def test_fit_refuses_bad_arguments_before_changing_anything(x, y, loss, kwargs, error, message):
    model = mlp([3, 4, 3], seed=9)
    saved = parameters(model)
    with pytest.raises(error, match=re.escape(message)):
        model.fit(x, y, loss, **{"progress": False, **kwargs})
    assert_same_parameters(model, saved)
    assert all(layer.input is None for layer in model.layers)


def test_fit_refuses_cross_entropy_over_one_output_before_touching_the_model():
    model = Sequential([Dense(2, 1, rng=0)])
    with pytest.raises(ValueError, match="at least 2 classes.*got 1"):
        model.fit(np.ones((3, 2)), np.zeros(3, dtype=int), SoftmaxCrossEntropy(), progress=False)
    assert model.layers[0].input is None


def test_fit_asks_the_loss_to_check_all_targets_once_before_the_first_step():
    calls = []

    class Counting(MSE):
        def check_target(self, target, shape):
            calls.append((len(target), shape))
            return super().check_target(target, shape)

    x, y = np.ones((10, 3)), np.zeros((10, 2))
    mlp([3, 2]).fit(x, y, Counting(), epochs=1, batch_size=4, progress=False)
    # first all 10 targets against the last layer's width, then each batch in forward
    assert calls == [(10, (10, 2)), (4, (4, 2)), (4, (4, 2)), (2, (2, 2))]


def test_numpy_bools_are_bools_for_fit():
    x, y = np.ones((4, 2)), np.zeros((4, 1))
    histories = [
        Sequential([Dense(2, 1, rng=0)]).fit(
            x, y, MSE(), epochs=2, rng=0, shuffle=flag, progress=np.False_
        )
        for flag in (True, np.True_)
    ]
    assert histories[0] == histories[1]


# --- training that diverges stops before the step that would break it ----------------------


def test_a_diverging_loss_stops_with_the_epoch_and_finite_parameters():
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=(64, 4)) * 10, rng.normal(size=(64, 1)) * 10
    model = mlp([4, 16, 1], activation=lambda: LeakyReLU(0.1), seed=10)
    with pytest.raises(RuntimeError) as info:
        model.fit(x, y, MSE(), epochs=100, batch_size=8, learning_rate=10.0, rng=0, progress=False)
    message = str(info.value)
    assert re.search(
        r"training stopped at epoch \d+/100, batch \d/8: (the loss is (inf|nan)|the step would overflow)",
        message,
    )
    assert "smaller learning_rate than 10.0" in message
    for p in parameters(model):
        assert np.all(np.isfinite(p))


class Recorder(MSE):
    """Remembers every layer's parameters at the start of each batch."""

    def __init__(self, model):
        super().__init__()
        self.model, self.seen = model, []

    def forward(self, prediction, target):
        self.seen.append(parameters(self.model))
        return super().forward(prediction, target)


@pytest.mark.parametrize(
    ("first", "second", "rate", "message"),
    [
        # batch 1 is tiny, so even this rate moves the biases only to about 1e7; batch 2
        # then has gradients near 1e9, and 1e307 times that overflows
        (1e-300, 1e3, 1e307, "batch 2/2: the step would overflow the parameters of layer 0"),
        # batch 2's outputs near 1e199 square to infinity in the loss
        (1.0, 1e200, 0.1, "batch 2/2: the loss is inf"),
    ],
    ids=["step-overflows", "loss-overflows"],
)
def test_a_refused_step_leaves_every_layer_as_it_was_before_that_step(first, second, rate, message):
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=(16, 2)), rng.normal(size=(16, 2))
    x[:8], y[:8], x[8:] = first * x[:8], first * y[:8], second * x[8:]
    model = mlp([2, 3, 2], activation=ReLU, seed=11)
    loss = Recorder(model)
    with pytest.raises(RuntimeError, match=f"epoch 1/3, {message}"):
        model.fit(
            x, y, loss, epochs=3, batch_size=8, learning_rate=rate, shuffle=False, progress=False
        )
    assert len(loss.seen) == 2
    assert any(not np.array_equal(a, b) for a, b in zip(*loss.seen, strict=True))  # batch 1 stepped
    assert_same_parameters(model, loss.seen[1])  # batch 2 did not


def test_an_overflowing_step_is_refused_in_a_float32_layer_too():
    model = Sequential(Dense(2, 2, rng=0, dtype=np.float32))
    before = parameters(model)
    x, y = np.full((4, 2), 1e3), np.array([0, 1, 0, 1])
    with pytest.raises(RuntimeError, match="would overflow the parameters of layer 0"):
        model.fit(x, y, SoftmaxCrossEntropy(), epochs=1, learning_rate=1e38, progress=False)
    assert_same_parameters(model, before)


def test_a_large_step_that_cannot_overflow_is_taken():
    model = Sequential(Dense(2, 2, rng=0))
    x, y = np.ones((4, 2)), np.array([0, 1, 0, 1])
    before = parameters(model)
    model.fit(x, y, SoftmaxCrossEntropy(), epochs=1, learning_rate=1e100, progress=False)
    assert not np.array_equal(parameters(model)[0], before[0])
    assert all(np.all(np.isfinite(p)) for p in parameters(model))


def test_a_custom_loss_needs_no_check_target():
    class L1:
        def forward(self, prediction, target):
            self.sign = np.sign(prediction - target) / prediction.size
            return float(np.mean(np.abs(prediction - target)))

        def backward(self):
            return self.sign

    assert isinstance(L1(), Loss)
    assert not hasattr(L1(), "check_target")
    x = np.linspace(-1, 1, 16).reshape(-1, 1)
    model = Sequential([Dense(1, 1, rng=0)])
    history = model.fit(x, 2 * x, L1(), epochs=50, batch_size=4, learning_rate=0.1, progress=False)
    assert history[-1] < 0.5 * history[0]


def test_digits_reach_the_accuracy_the_training_page_asserts():
    # The configuration of docs/training.md; 30 epochs take about 0.15 s.
    datasets = pytest.importorskip("sklearn.datasets")
    model_selection = pytest.importorskip("sklearn.model_selection")
    digits = datasets.load_digits()
    x_train, x_test, y_train, y_test = model_selection.train_test_split(
        digits.data / 16, digits.target, test_size=0.25, random_state=0
    )
    rng = np.random.default_rng(0)
    model = Sequential(
        [Dense(64, 64, ReLU(), init="he", rng=rng), Dense(64, 10, init="he", rng=rng)]
    )
    model.fit(
        x_train, y_train, SoftmaxCrossEntropy(), epochs=30, batch_size=32, learning_rate=0.5,
        rng=rng, progress=False,
    )  # fmt: skip
    assert (model.predict(x_test).argmax(axis=1) == y_test).mean() >= 0.95


def test_fit_skips_the_first_layers_input_gradient_and_no_other():
    asked = []

    class Recording(Dense):
        def backward(self, d_output, learning_rate, *, input_gradient=True):
            asked.append((self.input_size, input_gradient))
            return super().backward(d_output, learning_rate, input_gradient=input_gradient)

    model = Sequential(
        Recording(2, 3, ReLU(), rng=0), Recording(3, 4, rng=1), Recording(4, 1, rng=2)
    )
    x = np.random.default_rng(3).normal(size=(8, 2))
    model.fit(x, x[:, :1], MSE(), epochs=1, batch_size=8, progress=False)
    assert asked == [(4, True), (3, True), (2, False)]  # last to first
    assert model.backward(np.ones((8, 1)), learning_rate=0.0).shape == (8, 2)  # dL/dx on request


def test_backward_without_the_input_gradient_changes_nothing_else():
    rng = np.random.default_rng(4)
    x, g = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    full, lean = mlp([3, 4, 2], seed=5), mlp([3, 4, 2], seed=5)
    full.forward(x), lean.forward(x)
    assert full.backward(g, 0.1).shape == (5, 3)
    assert lean.backward(g, 0.1, input_gradient=False) is None
    assert_same_parameters(lean, parameters(full))
    for a, b in zip(full.layers, lean.layers, strict=True):
        np.testing.assert_array_equal(a.d_weights, b.d_weights)
