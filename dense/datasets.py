r"""Small, seeded 2-D classification sets for teaching: spirals and two moons.

Both are pure NumPy and deterministic for a seed. Points come grouped by class; ``fit``
shuffles them. No class is separable from another by a straight line, so a network needs
a hidden layer to classify them.
"""

from __future__ import annotations

import numpy as np

from dense import _validation as check

__all__ = ["spirals", "two_moons"]


def spirals(
    n_per_class: int,
    classes: int = 3,
    *,
    noise: float = 0.2,
    rng: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Interleaved spiral arms, one per class, rotated copies of one another.

    Point \( t = 0, \dots, n - 1 \) of class \( c \), with \( n \) = ``n_per_class``, lies at
    distance \( \lVert x \rVert = t/(n - 1) \) from the origin (0 when \( n = 1 \)) and angle
    \( \theta = 4 \lVert x \rVert + 2\pi c/C + \varepsilon \), that is
    \( x = \lVert x \rVert (\sin\theta, \cos\theta) \), with \( \varepsilon \sim
    \mathcal{N}(0, \text{noise}^2) \): the \( C \) arms are evenly spaced
    \( 2\pi/C \) apart, inside the unit disc.
    (CS231n's spiral data turns at the same rate but starts arm \( c \) at angle
    \( 4c \), so its arms are not evenly spaced.)

    Parameters
    ----------
    n_per_class : int
        Points per class, at least 1.
    classes : int, default 3
        Number of arms \( C \), at least 2.
    noise : float, default 0.2
        Standard deviation of the angle jitter, in radians.
    rng : None, int or numpy.random.Generator, optional
        Source of the jitter; the same seed gives the same points.

    Returns
    -------
    x : numpy.ndarray
        Float64 points, shape ``(n_per_class * classes, 2)``.
    y : numpy.ndarray
        Int64 labels in ``[0, classes)``, shape ``(n_per_class * classes,)``.

    Raises
    ------
    TypeError
        If a count is not an integer, ``noise`` is not real or ``rng`` has the wrong type.
    ValueError
        If ``n_per_class < 1``, ``classes < 2``, or ``noise`` is negative or not finite.

    Examples
    --------
    >>> x, y = spirals(100, classes=3, rng=0)
    >>> x.shape, y.shape, np.bincount(y).tolist()
    ((300, 2), (300,), [100, 100, 100])
    """
    n = check.positive_int("n_per_class", n_per_class)
    classes = _at_least_two_classes(classes)
    noise = check.finite_real("noise", noise, minimum=0.0)
    generator = check.generator(rng)
    radius = np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)
    points, labels = [], []
    for c in range(classes):
        angle = 4.0 * radius + 2 * np.pi * c / classes + noise * generator.standard_normal(n)
        points.append(np.column_stack([radius * np.sin(angle), radius * np.cos(angle)]))
        labels.append(np.full(n, c, dtype=np.int64))
    return np.concatenate(points), np.concatenate(labels)


def two_moons(
    n_per_class: int,
    *,
    noise: float = 0.1,
    rng: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Two interleaving half circles, the shape of scikit-learn's make_moons.

    For \( \theta \) evenly spaced in \( [0, \pi] \), class 0 lies on
    \( (\cos\theta, \sin\theta) \) and class 1 on \( (1 - \cos\theta, \tfrac12 - \sin\theta) \);
    each coordinate then gets Gaussian noise of standard deviation ``noise``.

    Parameters
    ----------
    n_per_class : int
        Points per moon, at least 1.
    noise : float, default 0.1
        Standard deviation of the noise added to each coordinate.
    rng : None, int or numpy.random.Generator, optional
        Source of the noise; the same seed gives the same points.

    Returns
    -------
    x : numpy.ndarray
        Float64 points, shape ``(2 * n_per_class, 2)``.
    y : numpy.ndarray
        Int64 labels, 0 or 1, shape ``(2 * n_per_class,)``.

    Raises
    ------
    TypeError, ValueError
        As for ``spirals``.

    Examples
    --------
    >>> x, y = two_moons(3, noise=0.0)
    >>> x.round(3)
    array([[ 1. ,  0. ],
           [ 0. ,  1. ],
           [-1. ,  0. ],
           [ 0. ,  0.5],
           [ 1. , -0.5],
           [ 2. ,  0.5]])
    """
    n = check.positive_int("n_per_class", n_per_class)
    noise = check.finite_real("noise", noise, minimum=0.0)
    generator = check.generator(rng)
    theta = np.linspace(0.0, np.pi, n)
    outer = np.column_stack([np.cos(theta), np.sin(theta)])
    inner = np.column_stack([1.0 - np.cos(theta), 0.5 - np.sin(theta)])
    x = np.concatenate([outer, inner]) + noise * generator.standard_normal((2 * n, 2))
    y = np.repeat(np.arange(2, dtype=np.int64), n)
    return x, y


def _at_least_two_classes(classes: object) -> int:
    count = check.positive_int("classes", classes)
    if count < 2:
        raise ValueError(f"classes must be at least 2, got {count}")
    return count
