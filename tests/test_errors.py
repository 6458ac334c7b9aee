"""Bad input gets a clear error that quotes what was received, and changes nothing."""

import re

import numpy as np
import pytest

from dense import (
    MSE,
    Dense,
    LeakyReLU,
    ReLU,
    Sigmoid,
    SoftmaxCrossEntropy,
    check_layer,
    numerical_gradient,
    relative_error,
)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"input_size": 0, "output_size": 2},
            ValueError,
            "input_size must be a positive integer, got 0",
        ),
        (
            {"input_size": 3, "output_size": -1},
            ValueError,
            "output_size must be a positive integer, got -1",
        ),
        (
            {"input_size": 2.5, "output_size": 2},
            TypeError,
            "input_size must be a positive integer, got 2.5 of type float",
        ),
        ({"input_size": True, "output_size": 2}, TypeError, "got the bool True"),
        ({"input_size": "3", "output_size": 2}, TypeError, "got '3' of type str"),
        (
            {"input_size": 2, "output_size": 2, "init": "glorot"},
            ValueError,
            "unknown init 'glorot'; expected one of 'seed', 'xavier', 'he'",
        ),
        (
            {"input_size": 2, "output_size": 2, "init": 3},
            TypeError,
            "init must be a name or a callable, got int",
        ),
        (
            {"input_size": 2, "output_size": 3, "init": lambda rng, s: np.zeros((3, 2))},
            ValueError,
            r"must return shape \(2, 3\), got \(3, 2\)",
        ),
        (
            {"input_size": 2, "output_size": 3, "init": lambda rng, s: np.full(s, np.nan)},
            ValueError,
            "NaN or infinite",
        ),
        (
            {"input_size": 2, "output_size": 2, "rng": "seed"},
            TypeError,
            "rng must be None, an int seed or a numpy.random.Generator, got str",
        ),
        (
            {"input_size": 2, "output_size": 2, "rng": -1},
            ValueError,
            "non-negative integer, got -1",
        ),
        (
            {"input_size": 2, "output_size": 2, "dtype": np.int64},
            TypeError,
            "floating dtype such as float64, got int64",
        ),
        (
            {"input_size": 2, "output_size": 2, "activation": "relu"},
            TypeError,
            "forward.* and backward.* methods, got 'relu' of type str",
        ),
    ],
)
def test_constructor_refuses_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        Dense(**kwargs)


def _snapshot(layer):
    return (
        layer.weights.copy(),
        layer.biases.copy(),
        layer.input,
        layer.output,
        layer.d_weights,
        layer.d_biases,
    )


def _assert_unchanged(layer, snapshot):
    weights, biases, x, out, dw, db = snapshot
    np.testing.assert_array_equal(layer.weights, weights)
    np.testing.assert_array_equal(layer.biases, biases)
    assert layer.input is x
    assert layer.output is out
    assert layer.d_weights is dw
    assert layer.d_biases is db


@pytest.fixture
def layer():
    trained = Dense(3, 2, activation=Sigmoid(), rng=0)
    trained.forward(np.ones((4, 3)))
    trained.backward(np.ones((4, 2)), learning_rate=0.1)
    return trained


@pytest.mark.parametrize(
    ("bad_input", "error", "message"),
    [
        (
            np.ones(3),
            ValueError,
            r"input must be 2-D with shape \(batch, 3\), got 1-D shape \(3,\); for a single sample use x.reshape\(1, -1\)",
        ),
        (np.ones((2, 3, 1)), ValueError, r"got 3-D shape \(2, 3, 1\)"),
        (
            np.ones((4, 5)),
            ValueError,
            r"input must have shape \(batch, 3\), got shape \(4, 5\) \(5 features instead of 3\)",
        ),
        (
            np.array([["a", "b", "c"]]),
            TypeError,
            "input must hold real numbers, got an array of dtype <U1",
        ),
        (np.ones((1, 3), dtype=complex), TypeError, "dtype complex128"),
        ([[1, 2], [3]], TypeError, "input must be an array of real numbers"),
    ],
)
def test_forward_refuses_bad_input_and_changes_nothing(layer, bad_input, error, message):
    before = _snapshot(layer)
    with pytest.raises(error, match=message):
        layer.forward(bad_input)
    _assert_unchanged(layer, before)


@pytest.mark.parametrize(
    ("d_output", "rate", "error", "message"),
    [
        (
            np.ones((4, 3)),
            0.1,
            ValueError,
            r"d_output must have the shape of the last output, \(4, 2\), got shape \(4, 3\)",
        ),
        (np.ones((2,)), 0.1, ValueError, r"got shape \(2,\)"),
        (np.array([["x", "y"]] * 4), 0.1, TypeError, "d_output must hold real numbers"),
        (np.ones((4, 2)), -0.1, ValueError, "learning_rate must be >= 0.0, got -0.1"),
        (np.ones((4, 2)), float("nan"), ValueError, "learning_rate must be finite, got nan"),
        (np.ones((4, 2)), float("inf"), ValueError, "learning_rate must be finite, got inf"),
        (
            np.ones((4, 2)),
            "0.1",
            TypeError,
            "learning_rate must be a real number, got '0.1' of type str",
        ),
        (np.ones((4, 2)), None, TypeError, "got None of type NoneType"),
    ],
)
def test_backward_refuses_bad_input_and_changes_nothing(layer, d_output, rate, error, message):
    before = _snapshot(layer)
    with pytest.raises(error, match=message):
        layer.backward(d_output, rate)
    _assert_unchanged(layer, before)


def test_backward_before_forward():
    fresh = Dense(3, 2, activation=ReLU(), rng=0)
    weights = fresh.weights.copy()
    with pytest.raises(RuntimeError, match=re.escape("Dense.backward was called before forward()")):
        fresh.backward(np.ones((1, 2)), 0.1)
    np.testing.assert_array_equal(fresh.weights, weights)
    with pytest.raises(RuntimeError, match="ReLU.backward was called before forward"):
        ReLU().backward(np.ones((1, 2)))
    with pytest.raises(RuntimeError, match="MSE.backward was called before forward"):
        MSE().backward()
    with pytest.raises(RuntimeError, match="SoftmaxCrossEntropy.backward was called before"):
        SoftmaxCrossEntropy().backward()


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
        (np.array([[1.5, -0.5, 0.0], [1.0, 0.0, 0.0]]), ValueError, "must be non-negative"),
        (
            np.ones((2, 4)) / 4,
            ValueError,
            r"shape of the prediction \(batch, classes\), \(2, 3\), got shape \(2, 4\)",
        ),
    ],
)
def test_cross_entropy_refuses_bad_targets(target, error, message):
    loss = SoftmaxCrossEntropy()
    loss.forward(np.zeros((2, 3)), np.array([0, 1]))
    gradient = loss.backward()
    with pytest.raises(error, match=message):
        loss.forward(np.zeros((2, 3)), target)
    np.testing.assert_array_equal(loss.backward(), gradient)  # the last good result is kept


def test_mse_refuses_shapes_that_would_broadcast():
    with pytest.raises(
        ValueError,
        match=r"target must have the shape of the prediction, \(4, 1\), got shape \(4,\)",
    ):
        MSE().forward(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match="prediction must not be empty"):
        MSE().forward(np.zeros((0, 1)), np.zeros((0, 1)))


def test_activation_refuses_mismatched_upstream():
    relu = ReLU()
    relu.forward(np.ones((2, 3)))
    with pytest.raises(
        ValueError,
        match=r"d_output must have the shape of the last forward output, \(2, 3\), got shape \(3, 2\)",
    ):
        relu.backward(np.ones((3, 2)))


@pytest.mark.parametrize(
    ("slope", "error", "message"),
    [
        (-0.1, ValueError, ">= 0.0, got -0.1"),
        (float("nan"), ValueError, "finite, got nan"),
        ("0.1", TypeError, "negative_slope must be a real number"),
    ],
)
def test_leaky_relu_refuses_bad_slope(slope, error, message):
    with pytest.raises(error, match=message):
        LeakyReLU(slope)


def test_gradcheck_refuses_bad_arguments():
    with pytest.raises(TypeError, match="x must be a floating numpy array, got list"):
        numerical_gradient(lambda v: 0.0, [1.0])
    with pytest.raises(ValueError, match="h must be positive, got -1.0"):
        numerical_gradient(lambda v: 0.0, np.ones(2), h=-1.0)
    with pytest.raises(TypeError, match="f\\(x\\) must be a real number"):
        numerical_gradient(lambda v: v, np.ones(2))
    with pytest.raises(
        ValueError, match=r"numerical must have the shape of analytic, \(2,\), got shape \(3,\)"
    ):
        relative_error(np.ones(2), np.ones(3))
    with pytest.raises(TypeError, match="layer must be a dense.Dense, got str"):
        check_layer("layer", np.ones((1, 1)), np.ones((1, 1)))
    with pytest.raises(
        ValueError, match=r"d_output must have the shape of \(batch, output_size\), \(1, 2\)"
    ):
        check_layer(Dense(1, 2), np.ones((1, 1)), np.ones((1, 3)))
