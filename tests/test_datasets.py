"""dense.datasets: shapes, determinism, exact geometry, validation, and that they need a hidden layer."""

import re

import numpy as np
import pytest

from dense import Dense, ReLU, Sequential, SoftmaxCrossEntropy
from dense.datasets import spirals, two_moons


@pytest.mark.parametrize(("n", "classes"), [(1, 2), (50, 3), (7, 5)])
def test_spirals_shapes_dtypes_and_balanced_labels(n, classes):
    x, y = spirals(n, classes, rng=0)
    assert x.shape == (n * classes, 2)
    assert x.dtype == np.float64
    assert y.shape == (n * classes,)
    assert y.dtype == np.int64
    assert np.bincount(y).tolist() == [n] * classes


def test_two_moons_shapes_dtypes_and_balanced_labels():
    x, y = two_moons(40, rng=0)
    assert (x.shape, x.dtype, y.shape, y.dtype) == ((80, 2), np.float64, (80,), np.int64)
    assert np.bincount(y).tolist() == [40, 40]


@pytest.mark.parametrize("make", [spirals, two_moons])
def test_same_seed_same_points_other_seed_other_points(make):
    x, y = make(30, rng=5)
    x_again, y_again = make(30, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(x, x_again)
    np.testing.assert_array_equal(y, y_again)
    assert not np.array_equal(make(30, rng=6)[0], x)


@pytest.mark.parametrize("seed", [np.int64(3), np.uint32(3), np.int8(3)])
def test_numpy_integer_seeds_are_seeds(seed):
    np.testing.assert_array_equal(spirals(5, rng=seed)[0], spirals(5, rng=3)[0])


def test_spiral_arms_are_evenly_spaced_rotations_of_one_another():
    x, y = spirals(20, classes=5, noise=0.0)
    turn = 2 * np.pi / 5
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    for c in range(4):  # (sin, cos) coordinates: arm c + 1 is arm c turned by 2 pi / 5
        np.testing.assert_allclose(x[y == c + 1], x[y == c] @ rotation, atol=1e-14)


def test_spirals_without_noise_follow_the_formula():
    n, classes = 11, 4
    x, y = spirals(n, classes, noise=0.0)
    r = np.linspace(0, 1, n)
    for c in range(classes):
        theta = 4 * r + 2 * np.pi * c / classes
        points = x[y == c]
        np.testing.assert_allclose(np.hypot(points[:, 0], points[:, 1]), r, atol=1e-15)
        np.testing.assert_allclose(
            points, np.column_stack([r * np.sin(theta), r * np.cos(theta)]), atol=1e-15
        )


def test_spiral_noise_only_turns_points_so_they_stay_in_the_unit_disc():
    x, y = spirals(200, noise=1.0, rng=1)
    radius = np.hypot(x[:, 0], x[:, 1])
    np.testing.assert_allclose(np.sort(radius[y == 0]), np.linspace(0, 1, 200), atol=1e-15)


def test_two_moons_without_noise_lie_on_their_half_circles():
    x, y = two_moons(25, noise=0.0)
    outer, inner = x[y == 0], x[y == 1]
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1.0)
    assert outer[:, 1].min() >= -1e-15  # upper half circle
    assert inner[:, 1].max() <= 0.5 + 1e-15  # lower half circle


def test_two_moons_noise_has_the_requested_spread():
    exact, _ = two_moons(5000, noise=0.0)
    noisy, _ = two_moons(5000, noise=0.3, rng=2)
    assert np.std(noisy - exact) == pytest.approx(0.3, rel=0.02)


def train_accuracy(x, y, hidden):
    rng = np.random.default_rng(0)
    classes = int(y.max()) + 1
    if hidden:
        layers = [Dense(2, 64, ReLU(), init="he", rng=rng), Dense(64, classes, init="he", rng=rng)]
    else:
        layers = [Dense(2, classes, rng=rng)]
    model = Sequential(layers)
    model.fit(x, y, SoftmaxCrossEntropy(), epochs=200, learning_rate=0.5, rng=rng, progress=False)
    return (model.predict(x).argmax(axis=1) == y).mean()


@pytest.mark.parametrize(
    ("make", "linear_at_most", "hidden_at_least"),
    # measured: spirals linear 0.54, hidden 0.98; moons linear 0.89, hidden 1.0
    [(lambda: spirals(100, rng=0), 0.65, 0.95), (lambda: two_moons(100, rng=0), 0.92, 0.98)],
)
def test_a_straight_line_is_not_enough_but_a_hidden_layer_is(make, linear_at_most, hidden_at_least):
    x, y = make()
    assert train_accuracy(x, y, hidden=False) < linear_at_most
    assert train_accuracy(x, y, hidden=True) > hidden_at_least


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: spirals(0), ValueError, "n_per_class must be a positive integer, got 0"),
        (lambda: spirals(2.5), TypeError, "n_per_class must be a positive integer, got 2.5"),
        (lambda: spirals(10, classes=1), ValueError, "classes must be at least 2, got 1"),
        (lambda: spirals(10, classes="3"), TypeError, "classes must be a positive integer"),
        (lambda: spirals(10, noise=-0.1), ValueError, "noise must be >= 0.0, got -0.1"),
        (lambda: spirals(10, noise=float("nan")), ValueError, "noise must be finite, got nan"),
        (
            lambda: spirals(10, rng="0"),
            TypeError,
            "rng must be None, an int seed or a numpy.random.Generator",
        ),
        (lambda: two_moons(-3), ValueError, "n_per_class must be a positive integer, got -3"),
        (lambda: two_moons(True), TypeError, "got the bool True"),
        (lambda: two_moons(10, noise=np.inf), ValueError, "noise must be finite, got inf"),
        (lambda: two_moons(10, noise="a lot"), TypeError, "noise must be a real number"),
        (
            lambda: two_moons(10, rng=-1),
            ValueError,
            "rng seed must be a non-negative integer, got -1",
        ),
    ],
)
def test_bad_arguments_are_refused(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()
