r"""Weight initializers: how a layer draws its weights W before training.

An initializer is a function ``(rng, shape) -> array``: it takes a
``numpy.random.Generator`` and ``shape = (input_size, output_size)`` and returns float64
weights of that shape. The layer looks the built-in ones up by name in ``INITIALIZERS`` and
accepts any callable of that form. Each draws \( W_{ij} \sim \mathcal{N}(0, \text{std}^2) \):

| name | std | keeps the variance steady through depth |
|---|---|---|
| `"normal"` | \( 0.1 \) | nothing: the minimal `Dense` class's `randn * 0.1` |
| `"xavier"` | \( \sqrt{2/(n_\text{in} + n_\text{out})} \) | both ways, for tanh-like layers |
| `"he"` | \( \sqrt{2/n_\text{in}} \) | activations, for ReLU layers |

Examples
--------
>>> import numpy as np
>>> w = he(np.random.default_rng(0), (200, 300))
>>> w.shape, bool(abs(w.std() - np.sqrt(2 / 200)) < 0.005)
((200, 300), True)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["INITIALIZERS", "Initializer", "he", "normal", "xavier"]

Initializer = Callable[[np.random.Generator, tuple[int, int]], np.ndarray]


def normal(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Draw weights with std 0.1 at any width, as randn * 0.1 does (see the module description)."""
    return rng.standard_normal(shape) * 0.1


def xavier(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Draw Glorot (Xavier) normal weights, std sqrt(2 / (n_in + n_out))."""
    fan_in, fan_out = shape
    return rng.standard_normal(shape) * np.sqrt(2.0 / (fan_in + fan_out))


def he(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Draw He (Kaiming) normal weights, std sqrt(2 / n_in)."""
    return rng.standard_normal(shape) * np.sqrt(2.0 / shape[0])


INITIALIZERS: dict[str, Initializer] = {"normal": normal, "xavier": xavier, "he": he}
"""The built-in initializers by name, as ``Dense(..., init=name)`` finds them."""
