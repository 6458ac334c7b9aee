"""Argument checks shared by the package; each message quotes what was received.

Every check runs before any state changes, so a refused call leaves the object as it was.
"""

from __future__ import annotations

import inspect
import math
import numbers
import operator

import numpy as np

# Booleans, integers and floats can stand for numbers; complex, strings and
# objects cannot.
_REAL_KINDS = "biuf"


def flag(name: str, value: object) -> bool:
    """Return ``value`` as a ``bool`` if it is Python's or NumPy's ``True`` or ``False``."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


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
    try:
        number = float(value)
    except OverflowError:  # an int beyond 1.8e308
        raise ValueError(
            f"{name} must be finite, got an integer of {len(str(value))} digits"
        ) from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {number}")
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {number}")
    return number


def real_array(name: str, value: object) -> np.ndarray:
    """Return ``value`` as a NumPy array of real numbers, without copying arrays."""
    if isinstance(value, np.ma.MaskedArray) and np.ma.is_masked(value):
        # np.asarray would drop the mask and read the hidden values as if they were data.
        raise ValueError(
            f"{name} has {np.ma.count_masked(value)} masked entries; NumPy would read the "
            f"values under the mask as data. Pass {name}.filled(value) or drop those rows"
        )
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array of real numbers ({error})") from None
    if array.dtype.kind not in _REAL_KINDS:
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {array.dtype}")
    return array


def finite(name: str, array: np.ndarray) -> np.ndarray:
    """Return ``array`` if it holds no NaN or infinity, else raise."""
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


def finite_copy(name: str, array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Return a copy of ``array`` in ``dtype`` if every value is finite there, else raise."""
    with np.errstate(over="ignore"):  # checked after the cast: a float16 overflows at 65504
        copy = np.array(array, dtype=dtype)
    return finite(name, copy)


def float_array(name: str, value: object) -> np.ndarray:
    """Return ``value`` as a floating array: floats as they are, anything else as float64."""
    array = real_array(name, value)
    return array if array.dtype.kind == "f" else array.astype(np.float64)


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


def returned(owner: object, method: str, value: object, like: np.ndarray) -> np.ndarray:
    """Return what ``owner.method`` returned if it has the shape and dtype of ``like``."""
    if isinstance(value, np.ndarray) and value.shape == like.shape and value.dtype == like.dtype:
        return value  # the message below is built only on failure: it costs microseconds
    where = (
        f"{type(owner).__name__}.{method} must return an array of the shape and dtype it "
        f"was given, {like.shape} {like.dtype}"
    )
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{where}, got {type(value).__name__}")
    error = ValueError if value.shape != like.shape else TypeError
    raise error(f"{where}, got shape {value.shape} and dtype {value.dtype}")


def instance(name: str, value: object, protocol: type) -> object:
    """Return ``value`` if it is an instance, not a class, with the methods of ``protocol``."""
    if isinstance(value, type):  # the class has the methods too, but they need an instance
        raise TypeError(
            f"{name} must be an instance such as {value.__name__}(), got the class {value.__name__}"
        )
    if not isinstance(value, protocol):
        methods = " and ".join(_signature(protocol, method) for method in ("forward", "backward"))
        raise TypeError(
            f"{name} must have {methods} methods, got {value!r} of type {type(value).__name__}"
        )
    return value


def _signature(protocol: type, method: str) -> str:
    parameters = list(inspect.signature(getattr(protocol, method)).parameters)[1:]  # not self
    return f"{method}({', '.join(parameters)})"


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
    if rng is None:
        return np.random.default_rng()
    # numbers.Integral includes NumPy's integers, such as a seed read from an array.
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool | np.bool_):
        if rng < 0:
            raise ValueError(f"rng seed must be a non-negative integer, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"rng must be None, an int seed or a numpy.random.Generator, got {type(rng).__name__}"
    )
