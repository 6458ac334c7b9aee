"""dense.layer: Dense's forward, backward and SGD step, its checks, and dense.layer.chain."""

import re
import tracemalloc

import numpy as np
import pytest
from helpers import reproducible
from hypothesis import assume, given
from hypothesis import strategies as st

from dense import (
    Activation,
    Dense,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    check_layer,
)
from dense.layer import chain

ACTIVATIONS = [None, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax]
sizes = st.integers(min_value=1, max_value=16)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


def state(layer):
    """Everything a refused call must leave as it was, copied."""
    return [
        None if value is None else np.array(value, copy=True)
        for value in (layer.weights, layer.biases, layer.input, layer.output)
    ] + [layer.d_weights, layer.d_biases]


def assert_same_state(layer, before):
    for now, then in zip(state(layer)[:4], before[:4], strict=True):
        np.testing.assert_array_equal(now, then)
    assert layer.d_weights is before[4]
    assert layer.d_biases is before[5]


@pytest.fixture
def trained():
    layer = Dense(3, 2, activation=Sigmoid(), rng=0)
    layer.forward(np.ones((4, 3)))
    layer.backward(np.ones((4, 2)), learning_rate=0.1)
    return layer


# --- the formulas -------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda a: getattr(a, "__name__", "none"))
@reproducible
@given(batch=sizes, n_in=sizes, n_out=sizes, seed=seeds)
def test_gradients_match_finite_differences(activation, batch, n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    layer = Dense(n_in, n_out, activation=activation and activation(), init="xavier", rng=rng)
    layer.biases[:] = rng.normal(size=layer.biases.shape)
    x, d_output = rng.normal(size=(batch, n_in)), rng.normal(size=(batch, n_out))
    if activation in (ReLU, LeakyReLU):
        # A finite difference straddling the kink at z = 0 measures neither side's slope.
        assume(np.abs(x @ layer.weights + layer.biases).min() > 1e-4)
    check_layer(layer, x, d_output).assert_correct()


def test_the_single_neuron_of_the_minimal_dense_class():
    """z = x1 w1 + x2 w2 + x3 w3 + b, so dL/dw_i = x_i delta and dL/dx_i = delta w_i."""
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
    check_layer(layer, x, delta).assert_correct()


def test_forward_is_xw_plus_b_with_bias_broadcast():
    rng = np.random.default_rng(0)
    layer = Dense(3, 2, rng=rng)
    layer.biases[:] = [[1.0, -1.0]]
    x = rng.normal(size=(4, 3))
    expected = np.array(
        [
            [
                sum(x[s, i] * layer.weights[i, j] for i in range(3)) + layer.biases[0, j]
                for j in range(2)
            ]
            for s in range(4)
        ]
    )
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-13)


def test_forward_stores_a_reference_to_the_input():
    x = np.ones((2, 3))
    layer = Dense(3, 2, rng=0)
    layer.forward(x)
    assert layer.input is x
    x[:] = 5.0  # the caller changes the batch before backward ...
    layer.backward(np.ones((2, 2)), learning_rate=0.0)
    np.testing.assert_array_equal(layer.d_weights, np.full((3, 2), 10.0))  # ... and dW sees it


def test_d_input_uses_the_weights_from_before_the_update():
    rng = np.random.default_rng(1)
    layer = Dense(4, 3, rng=rng)
    x, delta = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    old_weights = layer.weights.copy()
    layer.forward(x)
    d_input = layer.backward(delta, learning_rate=1.0)
    assert not np.allclose(layer.weights, old_weights)
    np.testing.assert_allclose(d_input, delta @ old_weights.T, rtol=1e-13)
    assert not np.allclose(d_input, delta @ layer.weights.T)


def test_backward_applies_the_sgd_update():
    rng = np.random.default_rng(2)
    layer = Dense(4, 3, activation=Tanh(), rng=rng)
    old_w, old_b = layer.weights.copy(), layer.biases.copy()
    layer.forward(rng.normal(size=(6, 4)))
    layer.backward(rng.normal(size=(6, 3)), learning_rate=0.3)
    np.testing.assert_allclose(layer.weights, old_w - 0.3 * layer.d_weights, rtol=1e-14)
    np.testing.assert_allclose(layer.biases, old_b - 0.3 * layer.d_biases, rtol=1e-14)


@pytest.mark.parametrize(("dtype", "shape"), [(np.float64, (700, 130)), (np.float32, (3, 2))])
def test_the_update_in_blocks_of_rows_is_the_update_bit_for_bit(dtype, shape):
    # 700 x 130 float64 rows span more than one block (_BLOCK_BYTES), 3 x 2 lies in one.
    rng = np.random.default_rng(4)
    layer = Dense(*shape, activation=ReLU(), rng=rng, dtype=dtype)
    old_w, old_b = layer.weights.copy(), layer.biases.copy()
    layer.forward(rng.normal(size=(5, shape[0])))
    layer.backward(rng.normal(size=(5, shape[1])), learning_rate=0.3)
    np.testing.assert_array_equal(layer.weights, old_w - 0.3 * layer.d_weights)
    np.testing.assert_array_equal(layer.biases, old_b - 0.3 * layer.d_biases)


def test_the_update_allocates_no_temporary_of_the_weights_size():
    # W is 8 MiB: a step may allocate dL/dW (8 MiB), dL/dx and dL/db, and one block of the
    # update, but no second W-sized array (the temporary that learning_rate * dW once was).
    rng = np.random.default_rng(6)
    layer = Dense(1024, 1024, rng=rng)
    x, d_output = rng.normal(size=(4, 1024)), rng.normal(size=(4, 1024))
    layer.forward(x)
    tracemalloc.start()
    try:
        layer.backward(d_output, learning_rate=0.1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    allowed = layer.d_weights.nbytes + 2 * x.nbytes + layer.d_biases.nbytes + (1 << 19)
    assert layer.weights.nbytes == 8 << 20
    assert peak <= allowed + 64 * 1024, f"backward allocated {peak} bytes at its peak"


def test_backward_without_the_input_gradient_returns_none_and_learns_the_same():
    rng = np.random.default_rng(7)
    x, d_output = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    both = [Dense(4, 3, activation=Tanh(), rng=8) for _ in range(2)]
    for layer in both:
        layer.forward(x)
    d_input = both[0].backward(d_output, learning_rate=0.2)
    assert both[1].backward(d_output, learning_rate=0.2, input_gradient=False) is None
    assert d_input.shape == (6, 4)
    for name in ("d_weights", "d_biases", "weights", "biases"):
        np.testing.assert_array_equal(getattr(both[1], name), getattr(both[0], name))


def test_zero_learning_rate_changes_nothing():
    rng = np.random.default_rng(3)
    layer = Dense(4, 3, activation=ReLU(), rng=rng)
    old_w, old_b = layer.weights.copy(), layer.biases.copy()
    layer.forward(rng.normal(size=(6, 4)))
    layer.backward(rng.normal(size=(6, 3)), learning_rate=0)
    np.testing.assert_array_equal(layer.weights, old_w)
    np.testing.assert_array_equal(layer.biases, old_b)
    assert layer.d_weights is not None
    assert np.any(layer.d_weights != 0)


# --- dtypes and inputs --------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_float32_end_to_end(activation):
    rng = np.random.default_rng(5)
    layer = Dense(4, 3, activation=activation and activation(), rng=rng, dtype=np.float32)
    assert layer.weights.dtype == layer.biases.dtype == np.float32
    out = layer.forward(rng.normal(size=(6, 4)))  # float64 input
    assert out.dtype == np.float32
    d_input = layer.backward(rng.normal(size=(6, 3)), learning_rate=0.1)  # float64 upstream
    for array in (d_input, layer.d_weights, layer.d_biases, layer.weights, layer.biases):
        assert array.dtype == np.float32


def test_integer_input_is_converted():
    layer = Dense(2, 2, rng=0)
    out = layer.forward(np.array([[1, 2]]))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, np.array([[1.0, 2.0]]) @ layer.weights)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("activation", [None, ReLU, Softmax])
def test_non_finite_input_reaches_only_the_rows_that_hold_it(bad, activation):
    # The documented policy: forward does not check (fit does, once); a sample's NaN or
    # infinity shows in its own output row and nowhere else.
    layer = Dense(3, 4, activation and activation(), rng=0)
    x = np.random.default_rng(1).normal(size=(5, 3))
    clean = layer.forward(x).copy()
    x[2, 1] = bad
    with np.errstate(invalid="ignore", over="ignore"):
        out = layer.forward(x)
    assert not np.all(np.isfinite(out[2]))
    np.testing.assert_array_equal(np.delete(out, 2, axis=0), np.delete(clean, 2, axis=0))


def test_masked_entries_are_refused_not_silently_read():
    layer = Dense(3, 2, rng=0)
    masked = np.ma.masked_array(np.full((2, 3), 1e6), mask=[[0, 1, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match=r"input has 1 masked entries.*filled"):
        layer.forward(masked)
    assert layer.input is None


def test_a_masked_array_with_nothing_masked_is_an_ordinary_array():
    layer = Dense(3, 2, rng=0)
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(layer.forward(np.ma.masked_array(x)), layer.forward(x))


@pytest.mark.parametrize("seed", [np.int64(3), np.uint32(3), np.int8(3)])
def test_numpy_integer_seeds_are_seeds(seed):
    np.testing.assert_array_equal(Dense(3, 2, rng=seed).weights, Dense(3, 2, rng=3).weights)


# --- activations inside the layer ---------------------------------------------------------


@pytest.mark.parametrize("activation", [ReLU, LeakyReLU, Sigmoid, Tanh, Softmax])
def test_one_activation_instance_shared_by_two_layers(activation):
    rng = np.random.default_rng(4)
    shared = activation()
    a, b = Dense(3, 4, shared, rng=10), Dense(3, 4, shared, rng=11)
    alone_a, alone_b = Dense(3, 4, activation(), rng=10), Dense(3, 4, activation(), rng=11)
    x, g = rng.normal(size=(5, 3)), rng.normal(size=(5, 4))
    for layer in (a, b, alone_a, alone_b):
        layer.forward(x * (1 if layer in (a, alone_a) else -2))
    grads = [layer.backward(g, learning_rate=0.0) for layer in (a, b, alone_a, alone_b)]
    np.testing.assert_array_equal(grads[0], grads[2])
    np.testing.assert_array_equal(grads[1], grads[3])
    np.testing.assert_array_equal(a.d_weights, alone_a.d_weights)


def test_custom_activation_following_the_protocol():
    class Square:
        def forward(self, z):
            self.z = z
            return z * z

        def backward(self, d_output):
            return 2 * self.z * d_output

    assert isinstance(Square(), Activation)
    layer = Dense(2, 2, Square(), rng=0)
    x = np.array([[1.0, -1.0]])
    z = x @ layer.weights
    np.testing.assert_allclose(layer.forward(x), z * z)
    np.testing.assert_allclose(layer.backward(np.ones((1, 2)), 0.0), (2 * z) @ layer.weights.T)


class Returns:
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
    layer = Dense(3, 2, Returns("neither", None), rng=0)
    layer.forward(np.ones((4, 3)))
    layer.backward(np.ones((4, 2)), learning_rate=0.1)
    layer.activation.method, layer.activation.bad = method, bad
    before = state(layer)
    if method == "forward":
        call = lambda: layer.forward(np.full((4, 3), 2.0))  # noqa: E731
    else:
        call = lambda: layer.backward(np.full((4, 2), 2.0), learning_rate=0.1)  # noqa: E731
    with pytest.raises(error, match=f"Returns.{method} must return .*{message}"):
        call()
    assert_same_state(layer, before)


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


# --- refused calls change nothing ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"input_size": 0}, ValueError, "input_size must be a positive integer, got 0"),
        ({"output_size": -1}, ValueError, "output_size must be a positive integer, got -1"),
        (
            {"input_size": 2.5},
            TypeError,
            "input_size must be a positive integer, got 2.5 of type float",
        ),
        ({"input_size": True}, TypeError, "got the bool True"),
        ({"input_size": "3"}, TypeError, "got '3' of type str"),
        (
            {"rng": "seed"},
            TypeError,
            "rng must be None, an int seed or a numpy.random.Generator, got str",
        ),
        ({"rng": -1}, ValueError, "non-negative integer, got -1"),
        ({"rng": np.int64(-1)}, ValueError, "non-negative integer, got -1"),
        ({"dtype": np.int64}, TypeError, "floating dtype such as float64, got int64"),
        ({"dtype": "no dtype"}, TypeError, "floating dtype such as float64, got 'no dtype'"),
        (
            {"activation": "relu"},
            TypeError,
            r"activation must have forward\(z\) and backward\(d_output\) methods, got 'relu' of type str",
        ),
    ],
)
def test_constructor_refuses_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        Dense(**{"input_size": 3, "output_size": 2, **kwargs})


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
def test_forward_refuses_bad_input_and_changes_nothing(trained, bad_input, error, message):
    before = state(trained)
    with pytest.raises(error, match=message):
        trained.forward(bad_input)
    assert_same_state(trained, before)


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
        (np.ones((4, 2)), 10**400, ValueError, "learning_rate must be finite"),
        (np.ones((4, 2)), -(10**400), ValueError, "learning_rate must be finite"),
        (
            np.ones((4, 2)),
            "0.1",
            TypeError,
            "learning_rate must be a real number, got '0.1' of type str",
        ),
        (np.ones((4, 2)), None, TypeError, "got None of type NoneType"),
    ],
)
def test_backward_refuses_bad_input_and_changes_nothing(trained, d_output, rate, error, message):
    before = state(trained)
    with pytest.raises(error, match=message):
        trained.backward(d_output, rate)
    assert_same_state(trained, before)


def test_backward_refuses_an_input_gradient_that_is_not_a_bool(trained):
    before = state(trained)
    with pytest.raises(TypeError, match="input_gradient must be True or False, got 'no'"):
        trained.backward(np.ones((4, 2)), 0.1, input_gradient="no")
    assert_same_state(trained, before)


def test_backward_before_forward():
    fresh = Dense(3, 2, activation=ReLU(), rng=0)
    weights = fresh.weights.copy()
    with pytest.raises(RuntimeError, match=re.escape("Dense.backward was called before forward()")):
        fresh.backward(np.ones((1, 2)), 0.1)
    np.testing.assert_array_equal(fresh.weights, weights)


# --- from_parameters, repr, chain ---------------------------------------------------------


def test_from_parameters_copies_the_arrays_and_draws_nothing():
    weights, biases = np.arange(6.0).reshape(3, 2), np.array([[0.5, -0.5]])
    layer = Dense.from_parameters(weights, biases, LeakyReLU(0.2), init="he")
    assert (layer.input_size, layer.output_size, layer.dtype, layer.init) == (
        3,
        2,
        np.float64,
        "he",
    )
    np.testing.assert_array_equal(layer.weights, weights)
    np.testing.assert_array_equal(layer.biases, biases)
    assert layer.weights is not weights
    assert layer.biases is not biases
    layer.forward(np.ones((1, 3)))
    layer.backward(np.ones((1, 2)), learning_rate=0.1)
    np.testing.assert_array_equal(weights, np.arange(6.0).reshape(3, 2))  # the caller's stay
    assert repr(layer) == "Dense(3, 2, activation=LeakyReLU(negative_slope=0.2), init='he')"


def test_from_parameters_takes_the_dtype_of_the_weights():
    layer = Dense.from_parameters(np.ones((2, 2), dtype=np.float32), [[1, 2]])
    assert layer.dtype == layer.biases.dtype == np.float32


@pytest.mark.parametrize(
    ("weights", "biases", "error", "message"),
    [
        (np.ones(3), np.zeros((1, 3)), ValueError, r"weights must be 2-D"),
        (
            np.ones((3, 2), dtype=int),
            np.zeros((1, 2)),
            TypeError,
            "weights must hold floats, got dtype int64",
        ),
        (
            np.ones((3, 2)),
            np.zeros(2),
            ValueError,
            r"biases must have the shape of \(1, output_size\), \(1, 2\), got shape \(2,\)",
        ),
        (
            np.full((3, 2), np.nan),
            np.zeros((1, 2)),
            ValueError,
            "weights holds NaN or infinite values",
        ),
        (
            np.ones((3, 2)),
            np.full((1, 2), np.inf),
            ValueError,
            "biases holds NaN or infinite values",
        ),
        (
            np.ones((3, 2), dtype=np.float16),
            np.full((1, 2), 1e10),
            ValueError,
            "biases holds NaN or infinite values",
        ),
    ],
)
def test_from_parameters_refuses_what_no_layer_could_hold(weights, biases, error, message):
    with pytest.raises(error, match=message):
        Dense.from_parameters(weights, biases)


def test_repr_reads_like_the_constructor():
    assert repr(Dense(784, 128, activation=ReLU())) == "Dense(784, 128, activation=ReLU())"
    assert repr(Dense(2, 3)) == "Dense(2, 3)"
    assert (
        repr(Dense(2, 3, LeakyReLU(0.2), init="he", dtype=np.float32))
        == "Dense(2, 3, activation=LeakyReLU(negative_slope=0.2), init='he', dtype=float32)"
    )


def test_chain_returns_the_same_layers_or_names_what_does_not_fit():
    a, b = Dense(3, 4), Dense(4, 2)
    assert chain(iter([a, b])) == (a, b)
    with pytest.raises(
        ValueError, match=re.escape("layers[0] has output_size 4 but layers[1] has input_size 5")
    ):
        chain([a, Dense(5, 1)])
    square = Dense(3, 3)
    with pytest.raises(ValueError, match=r"layers\[0\] and layers\[1\] are the same Dense object"):
        chain([square, square])
