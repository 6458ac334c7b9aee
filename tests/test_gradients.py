"""Every analytic gradient against central finite differences, float64, rel. error < 1e-7."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dense import (
    MSE,
    Dense,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    SoftmaxCrossEntropy,
    Tanh,
    check_layer,
    numerical_gradient,
    relative_error,
)

TOLERANCE = 1e-7
ACTIVATIONS = [None, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax]
KINKED = (ReLU, LeakyReLU)
sizes = st.integers(min_value=1, max_value=16)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
# derandomize: the same examples on every run and every machine.
reproducible = settings(derandomize=True, deadline=None, max_examples=40)


def _layer_and_data(activation, batch, n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    layer = Dense(n_in, n_out, activation=activation and activation(), init="xavier", rng=rng)
    layer.biases[:] = rng.normal(size=layer.biases.shape)
    x = rng.normal(size=(batch, n_in))
    return layer, x, rng.normal(size=(batch, n_out))


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda a: getattr(a, "__name__", "none"))
@reproducible
@given(batch=sizes, n_in=sizes, n_out=sizes, seed=seeds)
def test_layer_gradients_match_finite_differences(activation, batch, n_in, n_out, seed):
    layer, x, d_output = _layer_and_data(activation, batch, n_in, n_out, seed)
    if activation in KINKED:
        # A finite difference straddling the kink at z = 0 measures neither side's slope.
        z = x @ layer.weights + layer.biases
        assume(np.abs(z).min() > 1e-4)
    result = check_layer(layer, x, d_output)
    assert result.max_error < TOLERANCE, result


@reproducible
@given(batch=sizes, n_out=sizes, seed=seeds)
def test_mse_gradient_matches_finite_differences(batch, n_out, seed):
    rng = np.random.default_rng(seed)
    prediction, target = rng.normal(size=(2, batch, n_out))
    loss = MSE()
    loss.forward(prediction, target)
    analytic = loss.backward()
    numerical = numerical_gradient(lambda p: loss.forward(p, target), prediction)
    assert relative_error(analytic, numerical) < TOLERANCE


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
    assert relative_error(analytic, numerical) < TOLERANCE


def test_seed_example_single_neuron():
    """The seed's worked example: z = x1 w1 + x2 w2 + x3 w3 + b, so dL/dw_i = x_i delta."""
    layer = Dense(3, 1)
    layer.weights[:] = [[0.5], [-1.0], [2.0]]
    layer.biases[:] = 0.25
    x = np.array([[1.0, 2.0, 3.0]])
    z = layer.forward(x)
    assert z[0, 0] == pytest.approx(1.0 * 0.5 + 2.0 * -1.0 + 3.0 * 2.0 + 0.25)
    delta = np.array([[0.5]])
    d_input = layer.backward(delta, learning_rate=0.0)
    np.testing.assert_array_equal(layer.d_weights, [[0.5], [1.0], [1.5]])  # x_i * delta
    np.testing.assert_array_equal(layer.d_biases, [[0.5]])
    np.testing.assert_array_equal(d_input, [[0.25, -0.5, 1.0]])  # delta * w_i
    assert check_layer(layer, x, delta).max_error < TOLERANCE


def test_softmax_backward_equals_explicit_jacobian_product():
    rng = np.random.default_rng(7)
    z, g = rng.normal(size=(2, 5, 4))
    softmax = Softmax()
    s = softmax.forward(z)
    expected = np.stack(
        [(np.diag(row) - np.outer(row, row)) @ gr for row, gr in zip(s, g, strict=True)]
    )
    np.testing.assert_allclose(softmax.backward(g), expected, rtol=1e-12, atol=1e-15)
