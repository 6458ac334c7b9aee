"""Behaviour of Dense beyond the gradient formulas."""

import numpy as np
import pytest

from dense import MSE, Dense, LeakyReLU, ReLU, Sigmoid, Softmax, SoftmaxCrossEntropy, Tanh
from dense.activations import Activation


def test_initialization_shapes_and_seed_scale():
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


def test_forward_is_xw_plus_b_with_bias_broadcast():
    rng = np.random.default_rng(0)
    layer = Dense(3, 2, rng=rng)
    layer.biases[:] = [[1.0, -1.0]]
    x = rng.normal(size=(4, 3))
    expected = np.array(
        [
            [
                sum(x[n, i] * layer.weights[i, j] for i in range(3)) + layer.biases[0, j]
                for j in range(2)
            ]
            for n in range(4)
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


@pytest.mark.parametrize("activation", [None, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax])
def test_float32_end_to_end(activation):
    rng = np.random.default_rng(5)
    layer = Dense(4, 3, activation=activation and activation(), rng=rng, dtype=np.float32)
    assert layer.weights.dtype == layer.biases.dtype == np.float32
    out = layer.forward(rng.normal(size=(6, 4)))  # float64 input
    assert out.dtype == np.float32
    d_input = layer.backward(rng.normal(size=(6, 3)), learning_rate=0.1)  # float64 upstream
    for array in (d_input, layer.d_weights, layer.d_biases, layer.weights, layer.biases):
        assert array.dtype == np.float32
    for loss, target in ((MSE(), np.zeros((6, 3))), (SoftmaxCrossEntropy(), np.arange(6) % 3)):
        loss.forward(out, target)
        assert loss.backward().dtype == np.float32


def test_integer_input_is_converted():
    layer = Dense(2, 2, rng=0)
    out = layer.forward(np.array([[1, 2]]))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, np.array([[1.0, 2.0]]) @ layer.weights)


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


def test_cross_entropy_labels_equal_one_hot():
    rng = np.random.default_rng(6)
    logits, labels = rng.normal(size=(5, 4)), np.array([0, 3, 1, 1, 2])
    by_label, by_row = SoftmaxCrossEntropy(), SoftmaxCrossEntropy()
    value = by_label.forward(logits, labels)
    assert value == pytest.approx(by_row.forward(logits, np.eye(4)[labels]), rel=1e-14)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert value == pytest.approx(-np.mean(log_p[np.arange(5), labels]), rel=1e-12)
    np.testing.assert_allclose(by_label.backward(), by_row.backward(), rtol=1e-14)


def test_mse_is_the_mean_over_all_elements():
    p, t = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), np.zeros((2, 3))
    loss = MSE()
    assert loss.forward(p, t) == pytest.approx((1 + 4 + 9) / 6)
    np.testing.assert_allclose(loss.backward(), 2 * p / 6)


def test_repr_reads_like_the_constructor():
    assert repr(Dense(784, 128, activation=ReLU())) == "Dense(784, 128, activation=ReLU())"
    assert repr(Dense(2, 3)) == "Dense(2, 3)"
    assert (
        repr(Dense(2, 3, LeakyReLU(0.2), init="he", dtype=np.float32))
        == "Dense(2, 3, activation=LeakyReLU(negative_slope=0.2), init='he', dtype=float32)"
    )


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
