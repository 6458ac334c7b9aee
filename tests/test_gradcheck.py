"""dense.gradcheck: the checker itself: exact restoration, no side effects, the one table of
thresholds, and messages that say which gradient is wrong and by how much."""

import re

import numpy as np
import pytest
from helpers import reproducible
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dense import (
    ActivationCheck,
    Dense,
    LayerCheck,
    ReLU,
    Sigmoid,
    Tanh,
    check_activation,
    check_layer,
    numerical_gradient,
    relative_error,
)
from dense.gradcheck import THRESHOLDS, verdict

# --- numerical_gradient -------------------------------------------------------------------


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


def test_numerical_gradient_refuses_bad_arguments():
    with pytest.raises(TypeError, match="x must be a floating numpy array, got list"):
        numerical_gradient(lambda v: 0.0, [1.0])
    with pytest.raises(ValueError, match="h must be positive, got -1.0"):
        numerical_gradient(lambda v: 0.0, np.ones(2), h=-1.0)
    with pytest.raises(TypeError, match="f\\(x\\) must be a real number"):
        numerical_gradient(lambda v: v, np.ones(2))
    read_only = np.ones(3)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="x must be writeable"):
        numerical_gradient(lambda v: float(v.sum()), read_only)


# --- relative_error and the thresholds ----------------------------------------------------


def test_relative_error_is_the_norm_wise_ratio():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    a, n = np.array([3.0, 0.0]), np.array([0.0, 4.0])
    assert relative_error(a, n) == pytest.approx(5.0 / 7.0)
    # norm-wise, not CS231n's element-wise |a - n| / max(|a|, |n|), which would give 1 here
    assert relative_error([1.0, 1e-20], [1.0, 0.0]) < 1e-19


@pytest.mark.parametrize("scale", [1e-200, 1e-160, 1.0, 1e160, 1e200])
def test_relative_error_does_not_depend_on_the_scale(scale):
    # Squares of entries below 1e-154 underflow to 0 and above 1e154 overflow.
    a, n = np.array([3.0, 0.0]), np.array([0.0, 4.0])
    assert relative_error(scale * a, scale * n) == pytest.approx(5.0 / 7.0, rel=1e-15)


def test_an_error_of_exactly_one_means_opposite_directions_or_a_zero_gradient():
    g = np.array([[0.5, -2.0], [1.5, 0.25]])
    assert relative_error(g, -g) == 1.0  # a sign error
    assert relative_error(g, np.zeros_like(g)) == 1.0  # a forgotten, all-zero gradient
    assert relative_error(np.zeros_like(g), g) == 1.0
    assert relative_error(g, -3.0 * g) == pytest.approx(1.0, abs=1e-15)  # any negative multiple


finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False)
vectors = arrays(np.float64, 4, elements=finite)


@reproducible
@given(a=vectors, n=vectors, c=st.floats(min_value=1e-3, max_value=1e3))
def test_relative_error_is_one_exactly_for_opposite_or_zero_gradients(a, n, c):
    e = relative_error(a, n)
    assert 0.0 <= e <= 1.0 + 1e-15
    norm_a, norm_n = np.linalg.norm(a), np.linalg.norm(n)
    if a @ n >= 0 and norm_a + norm_n > 0:
        # Not opposed: |a - n|^2 <= |a|^2 + |n|^2, so e^2 <= 1 - 2|a||n| / (|a| + |n|)^2,
        # below 1 unless one of them is zero.
        assert e**2 <= 1 - 2 * norm_a * norm_n / (norm_a + norm_n) ** 2 + 1e-12
    if np.any(a):
        assert relative_error(a, -c * a) == pytest.approx(1.0, abs=1e-12)
        assert relative_error(a, np.zeros_like(a)) == 1.0


def test_thresholds_are_one_ordered_table_ending_without_a_bound():
    bounds = [bound for bound, _ in THRESHOLDS]
    assert bounds == sorted(bounds)
    assert bounds[-1] == np.inf
    assert [verdict(e).split(":")[0] for e in (0.0, 3e-11, 1e-7, 1e-3, 1e-2, 1.0, np.nan)] == [
        "correct",
        "correct",
        "suspicious",
        "suspicious",
        "wrong",
        "wrong",
        "wrong",
    ]


def test_relative_error_refuses_different_shapes():
    with pytest.raises(
        ValueError, match=r"numerical must have the shape of analytic, \(2,\), got shape \(3,\)"
    ):
        relative_error(np.ones(2), np.ones(3))


# --- check_layer --------------------------------------------------------------------------


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


class TransposedBug(Dense):
    """d_input computed with the updated weights: the classic ordering mistake."""

    def backward(self, d_output, learning_rate):
        super().backward(d_output, learning_rate)
        return d_output @ self.weights.T


class MissingBatchSum(Dense):
    def backward(self, d_output, learning_rate):
        d_input = super().backward(d_output, learning_rate)
        self.d_biases = self.d_biases / len(d_output)  # a mean where a sum belongs
        return d_input


class ForgottenInput(Dense):
    def backward(self, d_output, learning_rate):
        super().backward(d_output, learning_rate)
        return np.zeros_like(self.input)  # dL/dx never computed


def test_check_layer_catches_a_wrong_bias_gradient_and_says_which():
    rng = np.random.default_rng(2)
    layer = MissingBatchSum(3, 2, rng=rng)
    result = check_layer(layer, rng.normal(size=(4, 3)), rng.normal(size=(4, 2)))
    assert result.d_biases == pytest.approx(3 / 5)  # a mean over 4: |1 - 1/4| / (1 + 1/4)
    assert result.d_weights < 1e-7
    assert result.d_input < 1e-7
    message = (
        f"d_biases not correct (relative error must be below 1e-07):\n"
        f"d_input   {result.d_input:.1e}  correct\n"
        f"d_weights {result.d_weights:.1e}  correct\n"
        f"d_biases  6.0e-01  wrong: a bug, or a kink hit squarely"
    )
    with pytest.raises(AssertionError) as info:
        result.assert_correct()
    assert str(info.value) == message


def test_a_forgotten_gradient_has_relative_error_one():
    rng = np.random.default_rng(5)
    layer = ForgottenInput(3, 2, rng=rng)
    result = check_layer(layer, rng.normal(size=(4, 3)), rng.normal(size=(4, 2)))
    assert result.d_input == 1.0
    with pytest.raises(AssertionError, match="^d_input not correct"):
        result.assert_correct()


def test_check_layer_runs_backward_with_zero_rate_so_order_bugs_need_a_rate():
    # check_layer uses learning_rate=0, under which the ordering bug is invisible;
    # test_layer.py catches it with a real step.
    rng = np.random.default_rng(3)
    layer = TransposedBug(3, 2, rng=rng)
    assert check_layer(layer, rng.normal(size=(4, 3)), rng.normal(size=(4, 2))).d_input < 1e-7


def test_a_result_prints_one_line_per_gradient_and_its_verdict():
    result = LayerCheck(d_input=2e-11, d_weights=3e-5, d_biases=np.nan)
    assert str(result).splitlines() == [
        "d_input   2.0e-11  correct",
        "d_weights 3.0e-05  suspicious: a kink within h, float32 arithmetic or a poor h; else a bug",
        "d_biases  nan  wrong: a bug, or a kink hit squarely",
    ]
    assert np.isnan(result.max_error)
    with pytest.raises(AssertionError, match=re.escape("d_weights and d_biases not correct")):
        result.assert_correct()
    LayerCheck(0.0, 1e-9, 9.9e-8).assert_correct()  # passes quietly


def test_check_layer_refuses_bad_arguments():
    with pytest.raises(TypeError, match="layer must be a dense.Dense, got str"):
        check_layer("layer", np.ones((1, 1)), np.ones((1, 1)))
    with pytest.raises(
        ValueError, match=r"d_output must have the shape of \(batch, output_size\), \(1, 2\)"
    ):
        check_layer(Dense(1, 2), np.ones((1, 1)), np.ones((1, 3)))


# --- check_activation ---------------------------------------------------------------------


class Cube:
    def __init__(self, factor=3.0):
        self.factor = factor

    def forward(self, z):
        self.z = z
        return z**3

    def backward(self, d_output):
        return self.factor * self.z**2 * d_output


def test_check_activation_passes_a_right_backward_and_catches_a_wrong_one():
    rng = np.random.default_rng(4)
    z, g = rng.normal(size=(2, 5, 3))
    check_activation(Cube(), z, g).assert_correct()
    wrong = check_activation(Cube(factor=-3.0), z, g)  # a sign error
    assert wrong == ActivationCheck(d_z=pytest.approx(1.0))
    with pytest.raises(AssertionError, match=r"^d_z not correct .*\nd_z       1.0e\+00  wrong"):
        wrong.assert_correct()


def test_check_activation_works_on_a_copy():
    relu = ReLU()
    a = relu.forward(np.array([[1.0, -1.0]]))
    z = np.array([[0.5, -0.7]])
    check_activation(relu, z, np.ones((1, 2))).assert_correct()
    assert relu._saved is a
    np.testing.assert_array_equal(z, [[0.5, -0.7]])


@pytest.mark.parametrize(
    ("activation", "z", "d_output", "error", "message"),
    [
        (Tanh, np.ones((2, 2)), np.ones((2, 2)), TypeError, r"an instance such as Tanh\(\)"),
        (Tanh(), np.ones(2), np.ones(2), ValueError, "z must be 2-D"),
        (
            Tanh(),
            np.ones((2, 2)),
            np.ones((2, 3)),
            ValueError,
            r"d_output must have the shape of z",
        ),
        (
            Cube(factor=np.ones((1, 1, 1))),
            np.ones((2, 2)),
            np.ones((2, 2)),
            ValueError,
            "Cube.backward must return",
        ),
    ],
)
def test_check_activation_refuses_bad_arguments(activation, z, d_output, error, message):
    with pytest.raises(error, match=message):
        check_activation(activation, z, d_output)
