r"""Weight initializers: how the layer draws \( W \) before training.

An initializer is a function ``(rng, shape) -> array``. The layer looks the
built-in ones up by name and accepts any callable of that form.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["INITIALIZERS", "Initializer", "he", "seed", "xavier"]

Initializer = Callable[[np.random.Generator, tuple[int, int]], np.ndarray]


def seed(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    r"""Draw \( W_{ij} \sim \mathcal{N}(0, 0.1^2) \), the seed's ``randn * 0.1``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The source of randomness.
    shape : tuple of int
        ``(input_size, output_size)``.

    Returns
    -------
    numpy.ndarray
        Float64 weights of shape ``(input_size, output_size)``.

    Examples
    --------
    >>> import numpy as np
    >>> seed(np.random.default_rng(0), (2, 3)).shape
    (2, 3)
    """
    return rng.standard_normal(shape) * 0.1


def xavier(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    r"""Glorot (Xavier) normal, \( W_{ij} \sim \mathcal{N}(0, 2/(n_\text{in} + n_\text{out})) \).

    Keeps the variance of activations and of gradients roughly constant
    through layers with tanh-like activations.

    Parameters
    ----------
    rng : numpy.random.Generator
        The source of randomness.
    shape : tuple of int
        ``(input_size, output_size)``.

    Returns
    -------
    numpy.ndarray
        Float64 weights of shape ``(input_size, output_size)``.

    Examples
    --------
    >>> import numpy as np
    >>> w = xavier(np.random.default_rng(0), (300, 100))
    >>> bool(abs(w.std() - np.sqrt(2 / 400)) < 0.005)
    True
    """
    fan_in, fan_out = shape
    return rng.standard_normal(shape) * np.sqrt(2.0 / (fan_in + fan_out))


def he(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    r"""He (Kaiming) normal, \( W_{ij} \sim \mathcal{N}(0, 2/n_\text{in}) \).

    The factor 2 makes up for ReLU zeroing half of its inputs, so the
    activation variance stays constant through ReLU layers.

    Parameters
    ----------
    rng : numpy.random.Generator
        The source of randomness.
    shape : tuple of int
        ``(input_size, output_size)``.

    Returns
    -------
    numpy.ndarray
        Float64 weights of shape ``(input_size, output_size)``.

    Examples
    --------
    >>> import numpy as np
    >>> w = he(np.random.default_rng(0), (200, 300))
    >>> bool(abs(w.std() - np.sqrt(2 / 200)) < 0.005)
    True
    """
    return rng.standard_normal(shape) * np.sqrt(2.0 / shape[0])


INITIALIZERS: dict[str, Initializer] = {"seed": seed, "xavier": xavier, "he": he}
