"""dense.activations: values, derivatives, dtypes, and the checks on their arguments."""

import copy
import re

import numpy as np
import pytest

from dense import Activation, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh, check_activation

BUILT_IN = [ReLU, lambda: LeakyReLU(0.1), Sigmoid, Tanh, Softmax]
NAMES = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax"]


@pytest.mark.parametrize("make", BUILT_IN, ids=NAMES)
def test_backward_matches_finite_differences(make):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, 5))
    z[np.abs(z) < 1e-3] = 0.5  # away from ReLU's kink, where a difference measures no slope
    assert isinstance(make(), Activation)
    check_activation(make(), z, rng.normal(size=(6, 5))).assert_correct()


@pytest.mark.parametrize("activation", [ReLU, LeakyReLU, Sigmoid, Tanh, Softmax])
def test_large_inputs_stay_finite_without_warnings(activation):
    z = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]])
    act = activation()
    # Underflow to 0 is harmless and NumPy ignores it by default; the rest must not happen.
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out = act.forward(z)
        grad = act.backward(np.ones_like(z))
    assert np.all(np.isfinite(out))
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("activation", [ReLU(), LeakyReLU(0.5), Sigmoid(), Tanh(), Softmax()])
@pytest.mark.parametrize(
    "z", [[[-3, 2]], np.array([[-3, 2]], dtype=np.int8), np.array([[3, 200]], dtype=np.uint8)]
)
def test_lists_and_integers_are_taken_as_float64(activation, z):
    expected = copy.deepcopy(activation).forward(np.array(z, dtype=np.float64))
    out = activation.forward(z)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, expected)  # LeakyReLU(0.5) of int -3 is -1.5, not -1


@pytest.mark.parametrize("activation", [ReLU(), LeakyReLU(), Sigmoid(), Tanh(), Softmax()])
def test_gradients_keep_the_forward_dtype(activation):
    activation.forward(np.array([[0.5, -0.5]], dtype=np.float32))
    assert activation.backward(np.array([[1.0, 1.0]])).dtype == np.float32
    assert activation.backward([[True, True]]).dtype == np.float32


def test_relu_uses_zero_at_the_kink_and_keeps_its_output():
    relu = ReLU()
    a = relu.forward(np.array([[-1.0, 0.0, 2.0]]))
    assert relu._saved is a  # the output is the cache: no copy, no reference to z
    np.testing.assert_array_equal(relu.backward(np.array([[5.0, 5.0, 5.0]])), [[0.0, 0.0, 5.0]])


def test_relu_backward_with_a_non_finite_upstream_follows_ieee_arithmetic():
    # The documented policy: a product with the mask, so inf * 0 is NaN where the unit is off
    # (fit never applies such a gradient); on active units the value passes unchanged.
    relu = ReLU()
    relu.forward(np.array([[-1.0, 2.0, 3.0]]))
    with np.errstate(invalid="ignore"):
        d_z = relu.backward(np.array([[np.inf, np.inf, -np.inf]]))
    assert np.isnan(d_z[0, 0])
    np.testing.assert_array_equal(d_z[0, 1:], [np.inf, -np.inf])


def test_softmax_backward_is_the_vector_jacobian_product():
    rng = np.random.default_rng(7)
    z, g = rng.normal(size=(2, 5, 4))
    softmax = Softmax()
    p = softmax.forward(z)
    jacobians = [np.diag(row) - np.outer(row, row) for row in p]  # p_j([j = k] - p_k)
    vjp = np.stack([gr @ jacobian for gr, jacobian in zip(g, jacobians, strict=True)])
    jvp = np.stack([jacobian @ gr for gr, jacobian in zip(g, jacobians, strict=True)])
    np.testing.assert_allclose(softmax.backward(g), vjp, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(vjp, jvp, rtol=1e-12, atol=1e-15)  # the Jacobian is symmetric
    for jacobian in jacobians:
        np.testing.assert_array_equal(jacobian, jacobian.T)


def test_softmax_needs_rows():
    with pytest.raises(ValueError, match=r"z must be 2-D"):
        Softmax().forward(np.zeros(3))


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="ReLU.backward was called before forward"):
        ReLU().backward(np.ones((1, 2)))


def test_upstream_of_another_shape_is_refused():
    relu = ReLU()
    relu.forward(np.ones((2, 3)))
    message = "d_output must have the shape of the last forward output, (2, 3), got shape (3, 2)"
    with pytest.raises(ValueError, match=re.escape(message)):
        relu.backward(np.ones((3, 2)))


@pytest.mark.parametrize(
    ("slope", "error", "message"),
    [
        (-0.1, ValueError, ">= 0.0, got -0.1"),
        (float("nan"), ValueError, "finite, got nan"),
        ("0.1", TypeError, "negative_slope must be a real number"),
        (10**400, ValueError, "negative_slope must be finite"),
        (-(10**400), ValueError, "negative_slope must be finite"),
    ],
)
def test_leaky_relu_refuses_bad_slope(slope, error, message):
    with pytest.raises(error, match=message):
        LeakyReLU(slope)


def test_repr_reads_like_the_constructor():
    assert repr(ReLU()) == "ReLU()"
    assert repr(LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
