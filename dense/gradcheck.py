r"""Gradient checking: compare analytic gradients with central finite differences.

For a scalar function \( f \) of an array \( x \), each partial derivative is
estimated by

\[ \frac{\partial f}{\partial x_i} \approx
   \frac{f(x + h e_i) - f(x - h e_i)}{2h}, \]

whose error shrinks like \( h^2 \) (the one-sided difference only like
\( h \)). Analytic and numerical gradients \( a, n \) are compared by the
relative error \( \lVert a - n\rVert / \max(\lVert a\rVert + \lVert n\rVert,
\epsilon) \): in float64 a correct gradient gives about ``1e-10``, and
anything above ``1e-7`` points at a bug.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dense import _validation as check
from dense.layer import Dense

__all__ = ["LayerCheck", "check_layer", "numerical_gradient", "relative_error"]

_TINY = 1e-300  # only guards 0/0 when both gradients are exactly zero


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, *, h: float = 1e-6
) -> np.ndarray:
    r"""Estimate \( \partial f/\partial x \) by central differences.

    ``x`` is perturbed in place, one element at a time, and every element is
    restored to its exact original value afterwards, even if ``f`` raises.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``; it must read ``x`` when called (not a copy made
        earlier), since that is where the perturbation happens. A closure
        over a copy would see no change and return an all-zero gradient.
    x : numpy.ndarray
        A floating array of any shape. Use float64: in float32 the rounding
        error of \( f \) divided by \( 2h \) swamps the estimate.
    h : float, default 1e-6
        The step. \( 10^{-6} \) balances truncation error (\( \sim h^2 \))
        against rounding error (\( \sim 10^{-16}/h \)) in float64.

    Returns
    -------
    numpy.ndarray
        The estimated gradient, shape and dtype of ``x``.

    Raises
    ------
    TypeError
        If ``x`` is not a floating NumPy array or ``f`` does not return a
        real number.
    ValueError
        If ``h`` is not a positive finite number, or ``x`` is read-only.

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
    r"""Return \( \lVert a - n\rVert / \max(\lVert a\rVert + \lVert n\rVert, \epsilon) \).

    This is the CS231n relative error, taken over whole arrays (Frobenius
    norms) rather than element by element: an element that is nearly zero
    in both gradients would otherwise turn harmless rounding noise into a
    large ratio.

    Parameters
    ----------
    analytic, numerical : array_like
        Two gradients of the same shape.

    Returns
    -------
    float
        ``0.0`` when both are exactly zero, otherwise a number in ``[0, 1]``.

    Raises
    ------
    ValueError
        If the shapes differ.

    Examples
    --------
    >>> relative_error([1.0, 2.0], [1.0, 2.0])
    0.0
    >>> round(relative_error([1.0], [1.1]), 4)
    0.0476
    """
    a = check.real_array("analytic", analytic).astype(np.float64)
    n = check.same_shape("numerical", numerical, a.shape, "analytic").astype(np.float64)
    scale = max(float(np.linalg.norm(a) + np.linalg.norm(n)), _TINY)
    return float(np.linalg.norm(a - n) / scale)


@dataclass(frozen=True)
class LayerCheck:
    """Relative errors of a layer's three gradients, from [`check_layer`][dense.check_layer].

    Attributes
    ----------
    d_input, d_weights, d_biases : float
        Relative error of \\( \\partial L/\\partial x \\), \\( \\partial L/\\partial W \\)
        and \\( \\partial L/\\partial b \\).
    """

    d_input: float
    d_weights: float
    d_biases: float

    @property
    def max_error(self) -> float:
        """The largest of the three relative errors."""
        return max(self.d_input, self.d_weights, self.d_biases)


def check_layer(
    layer: Dense, x: np.ndarray, d_output: np.ndarray, *, h: float = 1e-6
) -> LayerCheck:
    r"""Check a layer's ``backward`` against finite differences, leaving the layer untouched.

    The upstream gradient \( G \) = ``d_output`` is the gradient of the
    scalar \( L = \sum_{nj} \text{output}_{nj}\, G_{nj} \), so the check
    differentiates that \( L \) numerically with respect to \( x \),
    \( W \) and \( b \), and compares with what ``backward`` returns and
    stores. All work happens on a float64 deep copy of the layer, so the
    layer's parameters, saved input and activation state stay as they were;
    it checks the formulas, not float32 rounding.

    Near a kink the check is meaningless: a finite difference that
    straddles \( z = 0 \) of a ReLU measures neither slope. A fresh layer
    (zero biases) fed an all-zero row puts every \( z \) of that row exactly
    on the kink, so use inputs with no such rows, or nonzero biases.

    Parameters
    ----------
    layer : Dense
        The layer to check, with any activation.
    x : array_like, shape (batch, input_size)
        The input at which to check.
    d_output : array_like, shape (batch, output_size)
        The upstream gradient \( \partial L/\partial\,\text{output} \).
    h : float, default 1e-6
        The finite-difference step.

    Returns
    -------
    LayerCheck
        The relative error of ``d_input``, ``d_weights`` and ``d_biases``.

    Raises
    ------
    TypeError
        If ``layer`` is not a [`Dense`][dense.Dense] or an array is not real.
    ValueError
        If ``x`` or ``d_output`` has the wrong shape.

    Examples
    --------
    >>> import numpy as np
    >>> from dense import Dense, Tanh
    >>> rng = np.random.default_rng(0)
    >>> layer = Dense(4, 3, activation=Tanh(), rng=rng)
    >>> result = check_layer(layer, rng.normal(size=(5, 4)), rng.normal(size=(5, 3)))
    >>> result.max_error < 1e-7
    True
    """
    if not isinstance(layer, Dense):
        raise TypeError(f"layer must be a dense.Dense, got {type(layer).__name__}")
    probe = copy.deepcopy(layer)
    probe.dtype = np.dtype(np.float64)
    probe.weights = probe.weights.astype(np.float64)
    probe.biases = probe.biases.astype(np.float64)
    x = check.matrix("x", x, columns=layer.input_size).astype(np.float64)
    upstream = check.same_shape(
        "d_output", d_output, (x.shape[0], layer.output_size), "(batch, output_size)"
    ).astype(np.float64)

    def loss(_: np.ndarray) -> float:
        return float(np.sum(probe.forward(x) * upstream))

    probe.forward(x)
    d_input = probe.backward(upstream, learning_rate=0.0)
    return LayerCheck(
        d_input=relative_error(d_input, numerical_gradient(loss, x, h=h)),
        d_weights=relative_error(probe.d_weights, numerical_gradient(loss, probe.weights, h=h)),
        d_biases=relative_error(probe.d_biases, numerical_gradient(loss, probe.biases, h=h)),
    )
