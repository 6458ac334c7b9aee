"""Argument checks shared by the layer, activations and losses.

Every check runs *before* any state changes, so a refused call leaves the
object exactly as it was, and every message quotes what was received.
"""

from __future__ import annotations

import math
import numbers
import operator

import numpy as np

# Booleans, integers and floats can stand for numbers; complex, strings and
# objects cannot.
_REAL_KINDS = "biuf"


def positive_int(name: str, value: object) -> int:
    """Return ``value`` as an ``int`` if it is a positive integer, else raise."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a positive integer, got the bool {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name} must be a positive integer, got {value!r} of type {type(value).__name__}"
        ) from None
    if number <= 0:
        raise ValueError(f"{name} must be a positive integer, got {number}")
    return number


def finite_real(name: str, value: object, *, minimum: float | None = None) -> float:
    """Return ``value`` as a ``float`` if it is a finite real number (``>= minimum``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number, got {value!r} of type {type(value).__name__}"
        )
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {number}")
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {number}")
    return number


def real_array(name: str, value: object) -> np.ndarray:
    """Return ``value`` as a NumPy array of real numbers, without copying arrays."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array of real numbers ({error})") from None
    if array.dtype.kind not in _REAL_KINDS:
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {array.dtype}")
    return array


def matrix(name: str, value: object, *, columns: int | None = None) -> np.ndarray:
    """Return ``value`` as a 2-D real array ``(batch, columns)``, or raise."""
    array = real_array(name, value)
    expected = f"(batch, {columns})" if columns is not None else "(batch, features)"
    if array.ndim != 2:
        hint = ""
        if array.ndim == 1:
            hint = "; for a single sample use x.reshape(1, -1), for a column x.reshape(-1, 1)"
        raise ValueError(
            f"{name} must be 2-D with shape {expected}, got {array.ndim}-D shape {array.shape}"
            f"{hint}"
        )
    if columns is not None and array.shape[1] != columns:
        raise ValueError(
            f"{name} must have shape {expected}, got shape {array.shape} "
            f"({array.shape[1]} features instead of {columns})"
        )
    return array


def same_shape(name: str, value: object, shape: tuple[int, ...], of: str) -> np.ndarray:
    """Return ``value`` as a real array whose shape equals ``shape``, or raise."""
    array = real_array(name, value)
    if array.shape != shape:
        raise ValueError(f"{name} must have the shape of {of}, {shape}, got shape {array.shape}")
    return array


def cached(owner: object, value: np.ndarray | None, needs: str) -> np.ndarray:
    """Return a value saved by ``forward``; raise if ``forward`` has not run yet."""
    if value is None:
        raise RuntimeError(
            f"{type(owner).__name__}.{needs} was called before forward(); "
            "call forward first, it saves the values the gradient needs"
        )
    return value


def generator(rng: int | np.random.Generator | None) -> np.random.Generator:
    """Return a Generator for ``None`` (fresh entropy), an ``int`` seed or a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, int) and not isinstance(rng, bool)):
        if rng is not None and rng < 0:
            raise ValueError(f"rng seed must be a non-negative integer, got {rng}")
        return np.random.default_rng(rng)
    raise TypeError(
        f"rng must be None, an int seed or a numpy.random.Generator, got {type(rng).__name__}"
    )
