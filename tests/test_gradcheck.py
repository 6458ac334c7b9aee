"""The gradient checker itself: exact restoration, no side effects, and it catches bugs."""

import numpy as np
import pytest

from dense import Dense, Sigmoid, check_layer, numerical_gradient, relative_error


def test_numerical_gradient_restores_every_element_exactly():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    original = x.copy()
    numerical_gradient(lambda v: float(np.sum(np.sin(v))), x)
    np.testing.assert_array_equal(x, original)


def test_numerical_gradient_restores_even_when_f_raises():
    x = np.array([1.0, 2.0])

    def explode(v):
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        numerical_gradient(explode, x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_central_differences_are_second_order():
    # For f = sum(x^3) the central difference errs by exactly h^2 per element.
    x = np.array([0.5, -1.5, 2.0])
    for h in (1e-2, 1e-3):
        estimate = numerical_gradient(lambda v: float(np.sum(v**3)), x, h=h)
        np.testing.assert_allclose(estimate - 3 * x**2, h**2, rtol=1e-3)


def test_relative_error_definition():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    a, n = np.array([3.0, 0.0]), np.array([0.0, 4.0])
    assert relative_error(a, n) == pytest.approx(5.0 / 7.0)


def test_check_layer_leaves_the_layer_untouched():
    rng = np.random.default_rng(1)
    layer = Dense(4, 3, activation=Sigmoid(), rng=rng, dtype=np.float32)
    x = rng.normal(size=(2, 4))
    layer.forward(x)
    saved = (layer.weights.copy(), layer.biases.copy(), layer.input, layer.output)
    activation_state = layer.activation._saved.copy()
    result = check_layer(layer, rng.normal(size=(5, 4)), rng.normal(size=(5, 3)))
    assert result.max_error < 1e-7  # float32 parameters are checked in float64
    np.testing.assert_array_equal(layer.weights, saved[0])
    np.testing.assert_array_equal(layer.biases, saved[1])
    assert layer.weights.dtype == np.float32
    assert layer.input is saved[2]
    assert layer.output is saved[3]
    np.testing.assert_array_equal(layer.activation._saved, activation_state)


class _TransposedBug(Dense):
    """d_input computed with the updated weights: the classic ordering mistake."""

    def backward(self, d_output, learning_rate):
        super().backward(d_output, learning_rate)
        return d_output @ self.weights.T


class _MissingBatchSum(Dense):
    def backward(self, d_output, learning_rate):
        d_input = super().backward(d_output, learning_rate)
        self.d_biases = self.d_biases / len(d_output)  # a mean where a sum belongs
        return d_input


def test_check_layer_catches_a_wrong_bias_gradient():
    rng = np.random.default_rng(2)
    layer = _MissingBatchSum(3, 2, rng=rng)
    result = check_layer(layer, rng.normal(size=(4, 3)), rng.normal(size=(4, 2)))
    assert result.d_biases > 0.1
    assert result.d_weights < 1e-7


def test_check_layer_runs_backward_with_zero_rate_so_order_bugs_need_a_rate():
    # check_layer uses learning_rate=0, under which the ordering bug is invisible;
    # the dedicated test in test_layer.py catches it with a real step.
    rng = np.random.default_rng(3)
    layer = _TransposedBug(3, 2, rng=rng)
    assert check_layer(layer, rng.normal(size=(4, 3)), rng.normal(size=(4, 2))).d_input < 1e-7
