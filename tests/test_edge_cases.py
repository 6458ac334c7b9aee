"""Inputs a realistic user sends that the happy-path tests do not: each was once mishandled."""

import copy

import numpy as np
import pytest

from dense import (
    MSE,
    Dense,
    LeakyReLU,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    SoftmaxCrossEntropy,
    Tanh,
    numerical_gradient,
)
from dense.datasets import spirals


def _state(layer):
    """Everything a refused call must leave as it was, copied."""
    return [
        None if value is None else np.array(value, copy=True)
        for value in (layer.weights, layer.biases, layer.input, layer.output)
    ] + [layer.d_weights, layer.d_biases]


def _assert_same_state(layer, before):
    for now, then in zip(_state(layer)[:4], before[:4], strict=True):
        np.testing.assert_array_equal(now, then)
    assert layer.d_weights is before[4]
    assert layer.d_biases is before[5]


# --- custom activations that break the contract ------------------------------------------


class _Returns:
    """An activation whose forward or backward returns ``bad(array)`` instead of the array."""

    def __init__(self, method, bad):
        self.method, self.bad = method, bad

    def forward(self, z):
        return self.bad(z) if self.method == "forward" else z

    def backward(self, d_output):
        return self.bad(d_output) if self.method == "backward" else d_output


@pytest.mark.parametrize("method", ["forward", "backward"])
@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        (lambda a: a[:, :1], ValueError, r"\(4, 2\) float64, got shape \(4, 1\)"),
        (lambda a: a.sum(axis=1), ValueError, r"got shape \(4,\)"),
        (lambda a: a[:1], ValueError, r"got shape \(1, 2\)"),  # would broadcast
        (lambda a: a.astype(np.float32), TypeError, "got shape .4, 2. and dtype float32"),
        (lambda a: (a > 0).astype(int), TypeError, "dtype int64"),
        (lambda a: a.tolist(), TypeError, "got list"),
        (lambda a: None, TypeError, "got NoneType"),
    ],
)
def test_a_custom_activation_returning_the_wrong_thing_is_refused_and_changes_nothing(
    method, bad, error, message
):
    layer = Dense(3, 2, _Returns("neither", None), rng=0)
    layer.forward(np.ones((4, 3)))
    layer.backward(np.ones((4, 2)), learning_rate=0.1)
    layer.activation.method, layer.activation.bad = method, bad
    before = _state(layer)
    if method == "forward":
        call = lambda: layer.forward(np.full((4, 3), 2.0))  # noqa: E731
    else:
        call = lambda: layer.backward(np.full((4, 2), 2.0), learning_rate=0.1)  # noqa: E731
    with pytest.raises(error, match=f"_Returns.{method} must return .*{message}"):
        call()
    _assert_same_state(layer, before)


def test_a_float32_layer_refuses_an_activation_that_widens_to_float64():
    class Widens:
        def forward(self, z):
            return z.astype(np.float64)

        def backward(self, d_output):
            return d_output

    layer = Dense(3, 2, Widens(), rng=0, dtype=np.float32)
    with pytest.raises(TypeError, match=r"\(1, 2\) float32, got shape \(1, 2\) and dtype float64"):
        layer.forward(np.ones((1, 3)))
    assert layer.output is None


@pytest.mark.parametrize("activation", [ReLU, Sigmoid, LeakyReLU])
def test_an_activation_class_instead_of_an_instance_is_refused(activation):
    with pytest.raises(TypeError, match=f"an instance such as {activation.__name__}\\(\\)"):
        Dense(3, 2, activation)


# --- activations called directly ---------------------------------------------------------


@pytest.mark.parametrize("activation", [ReLU(), LeakyReLU(0.5), Sigmoid(), Tanh(), Softmax()])
@pytest.mark.parametrize(
    "z", [[[-3, 2]], np.array([[-3, 2]], dtype=np.int8), np.array([[3, 200]], dtype=np.uint8)]
)
def test_activations_treat_lists_and_integers_as_float64(activation, z):
    expected = copy.deepcopy(activation).forward(np.array(z, dtype=np.float64))
    out = activation.forward(z)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, expected)  # LeakyReLU(0.5) of int -3 is -1.5, not -1


@pytest.mark.parametrize("activation", [ReLU(), LeakyReLU(), Sigmoid(), Tanh(), Softmax()])
def test_activation_gradients_keep_the_forward_dtype(activation):
    activation.forward(np.array([[0.5, -0.5]], dtype=np.float32))
    assert activation.backward(np.array([[1.0, 1.0]])).dtype == np.float32
    assert activation.backward([[True, True]]).dtype == np.float32


# --- masked arrays -----------------------------------------------------------------------


def _masked(shape, where):
    mask = np.zeros(shape, dtype=bool)
    mask[where] = True
    return np.ma.masked_array(np.full(shape, 1e6), mask=mask)


def test_masked_entries_are_refused_not_silently_read():
    layer = Dense(3, 2, rng=0)
    with pytest.raises(ValueError, match=r"input has 1 masked entries.*filled"):
        layer.forward(_masked((2, 3), (0, 1)))
    assert layer.input is None
    with pytest.raises(ValueError, match="target has 1 masked entries"):
        MSE().forward(np.zeros((2, 3)), _masked((2, 3), (1, 2)))
    model = Sequential([Dense(3, 1, rng=0)])
    with pytest.raises(ValueError, match="x has 3 masked entries"):
        model.fit(_masked((4, 3), (0,)), np.zeros((4, 1)), MSE(), progress=False)
    assert model.layers[0].input is None


def test_a_masked_array_with_nothing_masked_is_an_ordinary_array():
    layer = Dense(3, 2, rng=0)
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(layer.forward(np.ma.masked_array(x)), layer.forward(x))


# --- numpy scalars -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [np.int64(3), np.uint32(3), np.int8(3)])
def test_numpy_integer_seeds_are_seeds(seed):
    np.testing.assert_array_equal(Dense(3, 2, rng=seed).weights, Dense(3, 2, rng=3).weights)
    np.testing.assert_array_equal(spirals(5, rng=seed)[0], spirals(5, rng=3)[0])


def test_a_negative_numpy_seed_is_refused():
    with pytest.raises(ValueError, match="non-negative integer, got -1"):
        Dense(3, 2, rng=np.int64(-1))


def test_numpy_bools_are_bools_for_fit():
    x, y = np.ones((4, 2)), np.zeros((4, 1))
    histories = [
        Sequential([Dense(2, 1, rng=0)]).fit(
            x, y, MSE(), epochs=2, rng=0, shuffle=flag, progress=np.False_
        )
        for flag in (True, np.True_)
    ]
    assert histories[0] == histories[1]


@pytest.mark.parametrize("huge", [10**400, -(10**400)])
def test_an_integer_too_large_for_a_float_is_a_value_error(huge):
    layer = Dense(3, 2, rng=0)
    layer.forward(np.ones((1, 3)))
    with pytest.raises(ValueError, match="learning_rate must be finite"):
        layer.backward(np.ones((1, 2)), huge)
    with pytest.raises(ValueError, match="negative_slope must be finite"):
        LeakyReLU(huge)


# --- losses ------------------------------------------------------------------------------


def test_cross_entropy_over_one_class_is_refused():
    # softmax of one logit is always 1: the loss and its gradient are 0 whatever the model
    # does, so a one-output classifier would "train" without ever learning.
    loss = SoftmaxCrossEntropy()
    with pytest.raises(ValueError, match="at least 2 classes.*got 1"):
        loss.forward(np.zeros((3, 1)), np.zeros(3, dtype=int))
    with pytest.raises(RuntimeError):
        loss.backward()
    model = Sequential([Dense(2, 1, rng=0)])
    with pytest.raises(ValueError, match="at least 2 classes.*1 output"):
        model.fit(np.ones((3, 2)), np.zeros(3, dtype=int), SoftmaxCrossEntropy(), progress=False)
    assert model.layers[0].input is None


def test_labels_shaped_as_a_column_get_a_hint():
    with pytest.raises(
        ValueError, match=r"labels must have shape \(2,\).*got shape \(2, 1\).*ravel"
    ):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([[1], [0]]))
    with pytest.raises(ValueError, match=r"shape \(2, 1\); labels must have shape \(n,\).*ravel"):
        Sequential([Dense(2, 3, rng=0)]).fit(
            np.ones((2, 2)), np.array([[1], [0]]), SoftmaxCrossEntropy(), progress=False
        )


def test_fit_refuses_a_loss_class_before_touching_the_model():
    model = Sequential([Dense(2, 3, rng=0)])
    with pytest.raises(TypeError, match=r"an instance such as SoftmaxCrossEntropy\(\)"):
        model.fit(np.ones((2, 2)), np.array([1, 0]), SoftmaxCrossEntropy, progress=False)
    assert model.layers[0].input is None


# --- gradient checking -------------------------------------------------------------------


@pytest.mark.parametrize(
    "x",
    [
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.arange(6.0).reshape(3, 2).T,
        np.arange(12.0).reshape(3, 4)[:, ::2],
        np.ones((0, 3)),
    ],
    ids=["fortran", "transposed", "strided", "empty"],
)
def test_numerical_gradient_works_on_any_memory_layout(x):
    weights = np.arange(x.size, dtype=np.float64).reshape(x.shape)
    original = x.copy()
    gradient = numerical_gradient(lambda v: float(np.sum(weights * v**2)), x)
    np.testing.assert_allclose(gradient, 2 * weights * original, rtol=1e-7, atol=1e-7)
    np.testing.assert_array_equal(x, original)


def test_numerical_gradient_refuses_a_read_only_array():
    x = np.ones(3)
    x.flags.writeable = False
    with pytest.raises(ValueError, match="x must be writeable"):
        numerical_gradient(lambda v: float(v.sum()), x)


# --- initializers ------------------------------------------------------------------------


def test_weights_that_overflow_the_layer_dtype_are_refused():
    with pytest.raises(ValueError, match="NaN or infinite weights.*float16"):
        Dense(2, 2, init=lambda rng, shape: np.full(shape, 1e10), dtype=np.float16)
