r"""Activation functions: the non-linearity a = f(z) applied after z = xW + b.

Each has ``forward(z)``, which saves what the derivative needs (for the built-in ones, their
own output), and ``backward(d_output)``, which turns \( G = \partial L/\partial a \) into
\( \delta = \partial L/\partial z \). Integer or list input is taken as float64; ``backward``
returns the dtype of the forward output. Every ``backward`` raises ``RuntimeError`` before a
``forward`` and ``ValueError`` for a ``d_output`` whose shape is not the last output's.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from dense import _validation as check

__all__ = ["Activation", "LeakyReLU", "ReLU", "Sigmoid", "Softmax", "Tanh"]


@runtime_checkable
class Activation(Protocol):
    """What a Dense layer needs from an activation: forward(z) and backward(d_output).

    Any object with these two methods works. The layer checks at run time that each returns
    an array of the shape and dtype it was given, and refuses anything else.

    Examples
    --------
    >>> from dense import Activation, ReLU
    >>> isinstance(ReLU(), Activation)
    True
    """

    def forward(self, z: np.ndarray) -> np.ndarray:
        """Return f(z) for pre-activations z of shape (batch, output_size)."""
        ...

    def backward(self, d_output: np.ndarray) -> np.ndarray:
        """Return dL/dz, given d_output = dL/da of the last forward's shape."""
        ...


class _Cached:
    """Saves one array in ``forward`` and checks ``d_output`` against it in ``backward``."""

    _saved: np.ndarray | None = None

    def _upstream(self, d_output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        saved = check.cached(self, self._saved, "backward")
        upstream = check.same_shape("d_output", d_output, saved.shape, "the last forward output")
        # The gradient keeps the dtype of the forward pass, as in a float32 layer.
        return saved, upstream.astype(saved.dtype, copy=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ReLU(_Cached):
    r"""Rectified linear unit, max(z, 0), with derivative [z > 0] (0 at the kink, as in PyTorch).

    ``backward`` returns \( G \odot [z > 0] \) as a product, so a non-finite entry of
    \( G \) where \( z \le 0 \) gives NaN (\( \infty \cdot 0 \)), not 0.

    Examples
    --------
    >>> import numpy as np
    >>> relu = ReLU()
    >>> relu.forward(np.array([[-2.0, 0.0, 3.0]]))
    array([[0., 0., 3.]])
    >>> relu.backward(np.array([[1.0, 1.0, 1.0]]))
    array([[0., 0., 1.]])
    """

    def forward(self, z: np.ndarray) -> np.ndarray:
        """Return max(z, 0) elementwise, shape unchanged."""
        z = check.float_array("z", z)  # an int z would give an int output and gradient
        # The output is positive exactly where z is, so it is all backward needs.
        self._saved = np.maximum(z, 0)
        return self._saved

    def backward(self, d_output: np.ndarray) -> np.ndarray:
        """Return dL/dz = d_output where z > 0, and 0 elsewhere."""
        output, d_output = self._upstream(d_output)
        # A product rather than np.where, which branches on each element and, on the random
        # sign pattern of real pre-activations, is 3-12x slower. It keeps d_output's dtype.
        return d_output * (output > 0)


class LeakyReLU(_Cached):
    r"""Leaky ReLU: z where z > 0, negative_slope * z elsewhere.

    Parameters
    ----------
    negative_slope : float, default 0.01
        The slope \( \alpha \ge 0 \) for \( z \le 0 \).

    Raises
    ------
    TypeError, ValueError
        If ``negative_slope`` is not a real number, or is negative, NaN or infinite.

    Examples
    --------
    >>> import numpy as np
    >>> leaky = LeakyReLU(negative_slope=0.1)
    >>> leaky.forward(np.array([[-2.0, 3.0]]))
    array([[-0.2,  3. ]])
    >>> leaky.backward(np.array([[1.0, 1.0]]))
    array([[0.1, 1. ]])
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = check.finite_real("negative_slope", negative_slope, minimum=0.0)

    def forward(self, z: np.ndarray) -> np.ndarray:
        """Return z where z > 0 and negative_slope * z elsewhere."""
        z = check.float_array("z", z)  # an int z would round alpha * z to an int
        # With a slope >= 0 the output is positive exactly where z is, so, as for
        # ReLU, the output is all backward needs and no reference to z is kept.
        self._saved = np.where(z > 0, z, self.negative_slope * z).astype(z.dtype, copy=False)
        return self._saved

    def backward(self, d_output: np.ndarray) -> np.ndarray:
        """Return dL/dz = d_output where z > 0, times negative_slope elsewhere."""
        output, d_output = self._upstream(d_output)
        slope = np.where(output > 0, 1.0, self.negative_slope).astype(d_output.dtype, copy=False)
        return d_output * slope

    def __repr__(self) -> str:
        return f"LeakyReLU(negative_slope={self.negative_slope!r})"


class Sigmoid(_Cached):
    r"""Logistic sigmoid, 1 / (1 + exp(-z)), computed without overflow.

    \( \sigma'(z) = \sigma(z)(1 - \sigma(z)) \), so the output is all ``backward`` needs.

    Examples
    --------
    >>> import numpy as np
    >>> sigmoid = Sigmoid()
    >>> sigmoid.forward(np.array([[-1e4, 0.0, 1e4]]))
    array([[0. , 0.5, 1. ]])
    >>> sigmoid.backward(np.array([[1.0, 1.0, 1.0]]))
    array([[0.  , 0.25, 0.  ]])
    """

    def forward(self, z: np.ndarray) -> np.ndarray:
        """Return the sigmoid of z elementwise."""
        z = check.float_array("z", z)
        # rho = exp(-|z|) lies in [0, 1]; both branches below only divide by 1 + rho.
        rho = np.exp(-np.abs(z))
        self._saved = np.where(z >= 0, 1, rho) / (1 + rho)
        return self._saved

    def backward(self, d_output: np.ndarray) -> np.ndarray:
        """Return dL/dz = d_output * s * (1 - s), with s the saved sigmoid."""
        s, d_output = self._upstream(d_output)
        return d_output * s * (1 - s)


class Tanh(_Cached):
    r"""Hyperbolic tangent, with derivative 1 - tanh(z)**2.

    Examples
    --------
    >>> import numpy as np
    >>> tanh = Tanh()
    >>> tanh.forward(np.array([[0.0, 1e4]]))
    array([[0., 1.]])
    >>> tanh.backward(np.array([[2.0, 2.0]]))
    array([[2., 0.]])
    """

    def forward(self, z: np.ndarray) -> np.ndarray:
        """Return tanh(z) elementwise."""
        self._saved = np.tanh(check.float_array("z", z))
        return self._saved

    def backward(self, d_output: np.ndarray) -> np.ndarray:
        """Return dL/dz = d_output * (1 - t**2), with t the saved tanh."""
        t, d_output = self._upstream(d_output)
        return d_output * (1 - t * t)


class Softmax(_Cached):
    r"""Row-wise softmax: each row of z (one sample) becomes a probability vector p.

    \( p_{sk} = e^{z_{sk}} / \sum_j e^{z_{sj}} \), computed with the row maximum subtracted
    first, so no exponent is positive. Row \( s \) has the Jacobian
    \( \partial p_{sj}/\partial z_{sk} = p_{sj}([j = k] - p_{sk}) \).

    Examples
    --------
    >>> import numpy as np
    >>> softmax = Softmax()
    >>> softmax.forward(np.array([[0.0, 0.0], [1e4, 0.0]]))
    array([[0.5, 0.5],
           [1. , 0. ]])
    >>> softmax.backward(np.array([[1.0, 0.0], [0.0, 0.0]]))
    array([[ 0.25, -0.25],
           [ 0.  ,  0.  ]])
    """

    def forward(self, z: np.ndarray) -> np.ndarray:
        """Return the softmax of each row of z, shape (batch, classes); ValueError if not 2-D."""
        z = check.matrix("z", check.float_array("z", z))
        exps = np.exp(z - z.max(axis=1, keepdims=True))
        self._saved = exps / exps.sum(axis=1, keepdims=True)
        return self._saved

    def backward(self, d_output: np.ndarray) -> np.ndarray:
        r"""Return dL/dz, the vector-Jacobian product of each row of d_output, without the Jacobian.

        Row \( G_s \) of d_output is the \( v^\top \) of the VJP \( v^\top J_s \), so row
        \( s \) of the result is \( G_s J_s \), that is
        \( \delta_{sk} = p_{sk}\,(G_{sk} - \sum_j G_{sj}\,p_{sj}) \); it equals
        \( (J_s G_s^\top)^\top \) because the softmax Jacobian is symmetric.
        """
        p, g = self._upstream(d_output)
        return p * (g - np.sum(g * p, axis=1, keepdims=True))
