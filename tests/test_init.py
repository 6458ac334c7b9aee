"""dense.init: the built-in initializers, custom ones, and what the layer refuses."""

import numpy as np
import pytest

from dense import Dense
from dense.init import INITIALIZERS, he, normal, xavier


def test_the_registry_names_the_three_built_in_initializers():
    assert {"normal": normal, "xavier": xavier, "he": he} == INITIALIZERS


def test_default_initialization_shapes_and_scale():
    layer = Dense(400, 300, rng=0)
    assert layer.weights.shape == (400, 300)
    assert layer.biases.shape == (1, 300)
    np.testing.assert_array_equal(layer.biases, 0)
    assert layer.weights.std() == pytest.approx(0.1, rel=0.02)
    assert layer.weights.mean() == pytest.approx(0.0, abs=0.002)


@pytest.mark.parametrize(
    ("init", "std"), [("xavier", np.sqrt(2 / (400 + 300))), ("he", np.sqrt(2 / 400))]
)
def test_named_initializers_have_their_standard_deviation(init, std):
    layer = Dense(400, 300, init=init, rng=1)
    assert layer.weights.std() == pytest.approx(std, rel=0.02)


@pytest.mark.parametrize("function", [normal, xavier, he])
def test_initializers_return_float64_of_the_asked_shape_from_the_generator(function):
    first = function(np.random.default_rng(5), (3, 7))
    assert first.shape == (3, 7)
    assert first.dtype == np.float64
    np.testing.assert_array_equal(first, function(np.random.default_rng(5), (3, 7)))


def test_same_seed_same_weights_and_generator_is_used():
    np.testing.assert_array_equal(Dense(5, 4, rng=3).weights, Dense(5, 4, rng=3).weights)
    assert not np.array_equal(Dense(5, 4, rng=3).weights, Dense(5, 4, rng=4).weights)
    rng = np.random.default_rng(3)
    np.testing.assert_array_equal(Dense(5, 4, rng=rng).weights, Dense(5, 4, rng=3).weights)


def test_callable_initializer_receives_rng_and_shape():
    seen = {}

    def constant(rng, shape):
        seen["args"] = (type(rng), shape)
        return np.full(shape, 0.5)

    layer = Dense(2, 3, init=constant)
    assert seen["args"] == (np.random.Generator, (2, 3))
    np.testing.assert_array_equal(layer.weights, 0.5)


@pytest.mark.parametrize(
    ("init", "error", "message"),
    [
        ("glorot", ValueError, "unknown init 'glorot'; expected one of 'normal', 'xavier', 'he'"),
        (3, TypeError, "init must be a name or a callable, got int"),
        (lambda rng, s: np.zeros((3, 2)), ValueError, r"must return shape \(2, 3\), got \(3, 2\)"),
        (lambda rng, s: np.full(s, np.nan), ValueError, "NaN or infinite"),
        (lambda rng, s: np.full(s, "a"), TypeError, "must hold real numbers"),
    ],
)
def test_bad_initializers_are_refused(init, error, message):
    with pytest.raises(error, match=message):
        Dense(2, 3, init=init)


def test_weights_that_overflow_the_layer_dtype_are_refused():
    with pytest.raises(ValueError, match=r"cast to float16, holds NaN or infinite values"):
        Dense(2, 2, init=lambda rng, shape: np.full(shape, 1e10), dtype=np.float16)


def test_a_refused_activation_draws_no_weights():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError):
        Dense(2, 2, "relu", rng=rng)
    np.testing.assert_array_equal(
        rng.standard_normal(3), np.random.default_rng(0).standard_normal(3)
    )
