r"""Gradient checking: compare analytic gradients with central finite differences.

Each partial derivative of a scalar function \( f \) is estimated by
\( \partial f/\partial x_i \approx (f(\dots, x_i + h, \dots) - f(\dots, x_i - h, \dots))/(2h) \),
only \( x_i \) moved, whose error shrinks like \( h^2 \). The analytic gradient
\( g_\text{an} \) and the estimate \( g_\text{fd} \) are compared by their relative error
\( e_\text{rel} \) (``relative_error``), read with the one table ``THRESHOLDS``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable

import numpy as np

from dense import _validation as check
from dense.activations import Activation
from dense.layer import Dense

__all__ = [
    "THRESHOLDS",
    "ActivationCheck",
    "GradientCheck",
    "LayerCheck",
    "check_activation",
    "check_layer",
    "numerical_gradient",
    "relative_error",
    "verdict",
]

THRESHOLDS: tuple[tuple[float, str], ...] = (
    (1e-7, "correct"),
    (1e-2, "suspicious: a kink within h, float32 arithmetic or a poor h; else a bug"),
    (math.inf, "wrong: a bug, or a kink hit squarely"),
)
"""How to read a relative error e_rel of a float64 check with h = 1e-6, one row per verdict.

Each row is (upper bound, verdict); e_rel gets the verdict of the first row with e_rel < bound.
"""


def verdict(error: float) -> str:
    """Return the verdict of THRESHOLDS for a relative error (NaN reads as wrong)."""
    return next((text for bound, text in THRESHOLDS if error < bound), THRESHOLDS[-1][1])


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, *, h: float = 1e-6
) -> np.ndarray:
    r"""Estimate the gradient of f at x by central differences, one element at a time.

    ``x`` is perturbed in place, where ``f`` must read it (a closure over an earlier copy
    sees no change and gives zeros), and every element is restored exactly, even if ``f``
    raises.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``.
    x : numpy.ndarray
        A writeable floating array of any shape; use float64.
    h : float, default 1e-6
        The step.

    Returns
    -------
    numpy.ndarray
        \( g_\text{fd} \), shape and dtype of ``x``.

    Raises
    ------
    TypeError
        If ``x`` is not a floating NumPy array or ``f`` does not return a real number.
    ValueError
        If ``h`` is not positive and finite, or ``x`` is read-only.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> g = numerical_gradient(lambda v: float(np.sum(v**2)), x)
    >>> bool(np.allclose(g, 2 * x))
    True
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError(
            f"x must be a floating numpy array, got {type(x).__name__} "
            f"{getattr(x, 'dtype', '')}".rstrip()
        )
    h = check.finite_real("h", h)
    if h <= 0:
        raise ValueError(f"h must be positive, got {h}")
    if not x.flags.writeable:
        raise ValueError("x must be writeable: it is perturbed in place, where f reads it")
    gradient = np.empty_like(x)
    # Indexing by position, not through a flattened view, works for any memory layout.
    for i in np.ndindex(x.shape):
        original = x[i]
        try:
            x[i] = original + h
            plus = check.finite_real("f(x)", f(x))
            x[i] = original - h
            minus = check.finite_real("f(x)", f(x))
        finally:
            x[i] = original
        gradient[i] = (plus - minus) / (2 * h)
    return gradient


def relative_error(analytic: np.ndarray, numerical: np.ndarray) -> float:
    r"""Return ||g_an - g_fd|| / (||g_an|| + ||g_fd||), the norm-wise relative error.

    \( e_\text{rel} = \lVert g_\text{an} - g_\text{fd}\rVert / (\lVert g_\text{an}\rVert +
    \lVert g_\text{fd}\rVert) \) over whole arrays (Frobenius norms), the form of the
    gradient-checking exercise of Andrew Ng's Deep Learning Specialization; CS231n's notes
    compare element by element, \( |g_\text{an} - g_\text{fd}| /
    \max(|g_\text{an}|, |g_\text{fd}|) \) per entry. By the triangle inequality
    \( e_\text{rel} \le 1 \), with \( e_\text{rel} = 1 \) exactly when the two point in
    opposite directions or one of them is zero (a sign error, or a forgotten all-zero
    gradient).

    Parameters
    ----------
    analytic, numerical : array_like
        Two gradients of the same shape.

    Returns
    -------
    float
        In ``[0, 1]``; ``0.0`` when both are exactly zero.

    Raises
    ------
    ValueError
        If the shapes differ.

    Examples
    --------
    >>> round(relative_error([1.0], [1.1]), 4)
    0.0476
    >>> relative_error([1.0, 2.0], [0.0, 0.0])
    1.0
    """
    a = check.real_array("analytic", analytic).astype(np.float64)
    n = check.same_shape("numerical", numerical, a.shape, "analytic").astype(np.float64)
    # e_rel does not change when both are divided by their largest entry, and then no square
    # in a norm can underflow (gradients below 1e-154) or overflow.
    largest = max(np.max(np.abs(a), initial=0.0), np.max(np.abs(n), initial=0.0))
    if largest == 0:
        return 0.0
    a, n = a / largest, n / largest
    return float(np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n)))


class GradientCheck:
    """Relative errors by gradient name, each with its verdict from THRESHOLDS."""

    def errors(self) -> dict[str, float]:
        """Return the relative error of each gradient, by the name of its field."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}

    @property
    def max_error(self) -> float:
        """The largest relative error (NaN if any is NaN)."""
        return float(np.max(list(self.errors().values())))

    def __str__(self) -> str:
        return "\n".join(f"{name:9} {e:.1e}  {verdict(e)}" for name, e in self.errors().items())

    def assert_correct(self) -> None:
        """Raise AssertionError naming each gradient whose relative error is not below 1e-7."""
        bound = THRESHOLDS[0][0]
        wrong = [name for name, error in self.errors().items() if not error < bound]
        if wrong:
            raise AssertionError(
                f"{' and '.join(wrong)} not correct (relative error must be below {bound:g}):"
                f"\n{self}"
            )


@dataclasses.dataclass(frozen=True)
class LayerCheck(GradientCheck):
    r"""The relative errors of a layer's three gradients, as check_layer returns them.

    Attributes
    ----------
    d_input, d_weights, d_biases : float
        Relative error of \( \partial L/\partial x \), \( \partial L/\partial W \) and
        \( \partial L/\partial b \).

    Examples
    --------
    >>> result = LayerCheck(d_input=3e-11, d_weights=2e-11, d_biases=0.6)
    >>> print(result)
    d_input   3.0e-11  correct
    d_weights 2.0e-11  correct
    d_biases  6.0e-01  wrong: a bug, or a kink hit squarely
    >>> result.assert_correct()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    AssertionError: d_biases not correct (relative error must be below 1e-07):
    ...
    """

    d_input: float
    d_weights: float
    d_biases: float


@dataclasses.dataclass(frozen=True)
class ActivationCheck(GradientCheck):
    r"""The relative error of an activation's backward, as check_activation returns it.

    Attributes
    ----------
    d_z : float
        Relative error of \( \partial L/\partial z \).
    """

    d_z: float


def check_layer(
    layer: Dense, x: np.ndarray, d_output: np.ndarray, *, h: float = 1e-6
) -> LayerCheck:
    r"""Check a layer's backward against finite differences, leaving the layer untouched.

    It differentiates \( L = \sum_{s,j} a_{sj} G_{sj} \), whose \( \partial L/\partial a \)
    is ``d_output`` \( = G \), on a float64 deep copy of the layer. Inputs that put a ReLU's
    \( z \) within \( h \) of its kink make the finite difference meaningless.

    Parameters
    ----------
    layer : Dense
        The layer to check, with any activation.
    x : array_like, shape (batch, input_size)
        The input at which to check.
    d_output : array_like, shape (batch, output_size)
        The upstream gradient \( G = \partial L/\partial a \).
    h : float, default 1e-6
        The finite-difference step.

    Returns
    -------
    LayerCheck
        The relative errors; ``print`` it or call ``assert_correct()``.

    Raises
    ------
    TypeError, ValueError
        If ``layer`` is not a ``Dense``, or an array is not real or has the wrong shape.

    Examples
    --------
    >>> import numpy as np
    >>> from dense import Dense, Tanh
    >>> rng = np.random.default_rng(0)
    >>> layer = Dense(4, 3, activation=Tanh(), rng=rng)
    >>> check_layer(layer, rng.normal(size=(5, 4)), rng.normal(size=(5, 3))).assert_correct()
    """
    if not isinstance(layer, Dense):
        raise TypeError(f"layer must be a dense.Dense, got {type(layer).__name__}")
    x = check.matrix("x", x, columns=layer.input_size).astype(np.float64)
    upstream = check.same_shape(
        "d_output", d_output, (x.shape[0], layer.output_size), "(batch, output_size)"
    ).astype(np.float64)
    probe = copy.deepcopy(layer)
    probe.dtype = np.dtype(np.float64)
    probe.weights = probe.weights.astype(np.float64)
    probe.biases = probe.biases.astype(np.float64)

    def loss(_: np.ndarray) -> float:
        return float(np.sum(probe.forward(x) * upstream))

    probe.forward(x)
    d_input = probe.backward(upstream, learning_rate=0.0)
    return LayerCheck(
        d_input=relative_error(d_input, numerical_gradient(loss, x, h=h)),
        d_weights=relative_error(probe.d_weights, numerical_gradient(loss, probe.weights, h=h)),
        d_biases=relative_error(probe.d_biases, numerical_gradient(loss, probe.biases, h=h)),
    )


def check_activation(
    activation: Activation, z: np.ndarray, d_output: np.ndarray, *, h: float = 1e-6
) -> ActivationCheck:
    r"""Check an activation's backward against finite differences, on a copy of it.

    ``backward(d_output)`` must be the gradient of \( L = \sum_{s,j} f(z)_{sj} G_{sj} \)
    with respect to \( z \), computed here in float64.

    Parameters
    ----------
    activation : Activation
        An instance with ``forward(z)`` and ``backward(d_output)``, built in or your own.
    z, d_output : array_like, shape (batch, units)
        The pre-activations at which to check, and \( G = \partial L/\partial a \).
    h : float, default 1e-6
        The finite-difference step.

    Returns
    -------
    ActivationCheck
        ``print`` it, or call ``assert_correct()``.

    Raises
    ------
    TypeError, ValueError
        If ``activation`` is a class or lacks a method, an array is not real or has the
        wrong shape, or a method returns something other than what it was given.

    Examples
    --------
    >>> import numpy as np
    >>> class Square:
    ...     def forward(self, z):
    ...         self.z = z
    ...         return z**2
    ...     def backward(self, d_output):
    ...         return d_output * self.z  # forgot the factor 2
    >>> rng = np.random.default_rng(0)
    >>> result = check_activation(Square(), rng.normal(size=(3, 2)), rng.normal(size=(3, 2)))
    >>> round(result.d_z, 6)  # the analytic gradient is half the true one: e_rel = 1/3
    0.333333
    """
    probe = copy.deepcopy(check.instance("activation", activation, Activation))
    z = check.matrix("z", z).astype(np.float64)
    upstream = check.same_shape("d_output", d_output, z.shape, "z").astype(np.float64)

    def loss(_: np.ndarray) -> float:
        a = check.returned(probe, "forward", probe.forward(z), z)
        return float(np.sum(a * upstream))

    loss(z)  # the forward pass that backward differentiates
    d_z = check.returned(probe, "backward", probe.backward(upstream), upstream)
    return ActivationCheck(d_z=relative_error(d_z, numerical_gradient(loss, z, h=h)))
