"""dense.losses: values, gradients, and the one place where each loss checks its targets."""

import numpy as np
import pytest
from helpers import reproducible
from hypothesis import given
from hypothesis import strategies as st

from dense import MSE, Loss, SoftmaxCrossEntropy, numerical_gradient, relative_error

sizes = st.integers(min_value=1, max_value=16)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


# --- values and gradients -----------------------------------------------------------------


def test_mse_is_the_mean_over_all_elements():
    a, y = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), np.zeros((2, 3))
    loss = MSE()
    assert loss.forward(a, y) == pytest.approx((1 + 4 + 9) / 6)
    np.testing.assert_allclose(loss.backward(), 2 * a / 6)


@reproducible
@given(batch=sizes, n_out=sizes, seed=seeds)
def test_mse_gradient_matches_finite_differences(batch, n_out, seed):
    rng = np.random.default_rng(seed)
    prediction, target = rng.normal(size=(2, batch, n_out))
    loss = MSE()
    loss.forward(prediction, target)
    analytic = loss.backward()
    numerical = numerical_gradient(lambda a: loss.forward(a, target), prediction)
    assert relative_error(analytic, numerical) < 1e-7


@pytest.mark.parametrize("targets", ["labels", "probabilities"])
@reproducible
@given(batch=sizes, classes=st.integers(min_value=2, max_value=16), seed=seeds)
def test_cross_entropy_gradient_matches_finite_differences(targets, batch, classes, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(batch, classes))
    if targets == "labels":
        target = rng.integers(0, classes, size=batch)
    else:
        target = rng.dirichlet(np.ones(classes), size=batch)
    loss = SoftmaxCrossEntropy()
    loss.forward(logits, target)
    analytic = loss.backward()
    numerical = numerical_gradient(lambda z: loss.forward(z, target), logits)
    assert relative_error(analytic, numerical) < 1e-7


def test_cross_entropy_labels_equal_one_hot():
    rng = np.random.default_rng(6)
    logits, labels = rng.normal(size=(5, 4)), np.array([0, 3, 1, 1, 2])
    by_label, by_row = SoftmaxCrossEntropy(), SoftmaxCrossEntropy()
    value = by_label.forward(logits, labels)
    assert value == pytest.approx(by_row.forward(logits, np.eye(4)[labels]), rel=1e-14)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert value == pytest.approx(-np.mean(log_p[np.arange(5), labels]), rel=1e-12)
    np.testing.assert_allclose(by_label.backward(), by_row.backward(), rtol=1e-14)


def test_losses_stay_finite_for_huge_logits():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    # Underflow to 0 is harmless and NumPy ignores it by default; the rest must not happen.
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        ce = SoftmaxCrossEntropy()
        value = ce.forward(logits, np.array([1, 2]))
        grad = ce.backward()
        mse = MSE()
        mse_value = mse.forward(logits, np.zeros_like(logits))
    assert value == pytest.approx(2e4 / 2)  # sample 0 misses by 2e4, sample 1 is right
    assert np.all(np.isfinite(grad))
    assert np.isfinite(mse_value)


@pytest.mark.parametrize("loss", [MSE(), SoftmaxCrossEntropy()])
def test_built_in_losses_follow_the_protocol_and_return_floats(loss):
    assert isinstance(loss, Loss)
    assert type(loss.forward(np.zeros((2, 2)), np.eye(2))) is float


def test_float32_logits_give_float32_gradients():
    out = np.zeros((6, 3), dtype=np.float32)
    for loss, target in ((MSE(), np.zeros((6, 3))), (SoftmaxCrossEntropy(), np.arange(6) % 3)):
        loss.forward(out, target)
        assert loss.backward().dtype == np.float32


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="MSE.backward was called before forward"):
        MSE().backward()
    with pytest.raises(RuntimeError, match="SoftmaxCrossEntropy.backward was called before"):
        SoftmaxCrossEntropy().backward()


# --- targets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "error", "message"),
    [
        (
            np.array([0, 3]),
            ValueError,
            r"labels must lie in \[0, 3\) for 3 classes, got 3 at position 1",
        ),
        (np.array([-1, 0]), ValueError, "got -1 at position 0"),
        (np.array([0, 1, 2]), ValueError, r"labels must have shape \(2,\), got shape \(3,\)"),
        (
            np.array([0.0, 1.0]),
            TypeError,
            "1-D target must hold integer class labels, got dtype float64",
        ),
        (np.array([[0.5, 0.5, 0.5], [1.0, 0.0, 0.0]]), ValueError, "row 0 sums to 1.5"),
        (np.array([[np.nan, 0.5, 0.5], [1.0, 0.0, 0.0]]), ValueError, "row 0 sums to nan"),
        (np.array([[1.5, -0.5, 0.0], [1.0, 0.0, 0.0]]), ValueError, "must be non-negative"),
        (
            np.ones((2, 4)) / 4,
            ValueError,
            r"shape of the prediction \(batch, classes\), \(2, 3\), got shape \(2, 4\)",
        ),
        (
            np.array([[1], [0]]),
            ValueError,
            r"labels must have shape \(2,\), one label per sample, got shape \(2, 1\); use target.ravel\(\)",
        ),
        (np.array([["a"], ["b"]]), TypeError, "target must hold real numbers"),
    ],
)
def test_cross_entropy_refuses_bad_targets_and_keeps_the_last_result(target, error, message):
    loss = SoftmaxCrossEntropy()
    loss.forward(np.zeros((2, 3)), np.array([0, 1]))
    gradient = loss.backward()
    with pytest.raises(error, match=message):
        loss.forward(np.zeros((2, 3)), target)
    with pytest.raises(error, match=message):
        loss.check_target(target, (2, 3))  # the same check, the same words
    np.testing.assert_array_equal(loss.backward(), gradient)


def test_cross_entropy_over_one_class_is_refused():
    # softmax of one logit is always 1: the loss and its gradient are 0 whatever the model
    # does, so a one-output classifier would "train" without ever learning.
    loss = SoftmaxCrossEntropy()
    with pytest.raises(ValueError, match="at least 2 classes.*got 1; give the last layer one"):
        loss.forward(np.zeros((3, 1)), np.zeros(3, dtype=int))
    with pytest.raises(RuntimeError):
        loss.backward()


def test_float32_probability_rows_get_a_float32_tolerance():
    rows = np.array([[0.5, 0.50002, 0.0]])  # sums to 1 within float32's 1e-4, not float64's 1e-6
    loss = SoftmaxCrossEntropy()
    assert loss.check_target(rows.astype(np.float32), (1, 3)).dtype == np.float32
    with pytest.raises(ValueError, match="row 0 sums to 1.00002"):
        loss.check_target(rows, (1, 3))


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            np.zeros(4),
            r"target must have the shape of the prediction, \(4, 1\), got shape \(4,\); use target.reshape\(-1, 1\)",
        ),
        (np.zeros((4, 2)), r"\(4, 1\), got shape \(4, 2\)$"),
        (np.array([[0.0], [np.inf], [0.0], [0.0]]), "target holds NaN or infinite values"),
    ],
)
def test_mse_refuses_targets_that_would_broadcast_or_are_not_finite(target, message):
    loss = MSE()
    with pytest.raises(ValueError, match=message):
        loss.forward(np.zeros((4, 1)), target)
    with pytest.raises(ValueError, match=message):
        loss.check_target(target, (4, 1))


def test_an_empty_prediction_is_refused():
    with pytest.raises(ValueError, match="prediction must not be empty"):
        MSE().forward(np.zeros((0, 1)), np.zeros((0, 1)))


def test_masked_targets_are_refused_not_silently_read():
    target = np.ma.masked_array(np.full((2, 3), 1e6), mask=[[0, 0, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match="target has 1 masked entries"):
        MSE().forward(np.zeros((2, 3)), target)


@pytest.mark.parametrize(
    ("loss", "target"),
    [
        (MSE(), np.ones((3, 2))),
        (SoftmaxCrossEntropy(), np.array([1, 0, 1])),
        (SoftmaxCrossEntropy(), np.eye(2)[[1, 0, 1]]),
    ],
)
def test_check_target_returns_the_target_itself(loss, target):
    assert loss.check_target(target, (3, 2)) is target
