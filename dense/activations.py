r"""Activation functions: the non-linearity applied after \( z = xW + b \).

Each activation has the two methods the layer calls, ``forward(z)`` and
``backward(d_output)``. ``forward`` saves what the derivative needs (for
every built-in activation, its own output), so ``backward`` can turn \( \partial L / \partial a \)
into \( \partial L / \partial z \) without recomputing anything. ``z`` may be
any real array: integers and lists are taken as float64, and ``backward``
returns its gradient in the dtype of the forward output.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from dense import _validation as check

__all__ = ["Activation", "LeakyReLU", "ReLU", "Sigmoid", "Softmax", "Tanh"]


@runtime_checkable
class Activation(Protocol):
    r"""What [`Dense`][dense.Dense] needs from an activation.

    Any object with these two methods works; the classes in this module are
    the built-in ones.

    Examples
    --------
    >>> from dense import Activation, ReLU
    >>> isinstance(ReLU(), Activation)
    True
    """

    def forward(self, z: np.ndarray) -> np.ndarray:
        r"""Return \( f(z) \) for pre-activations ``z`` of shape ``(batch, units)``."""
        ...

    def backward(self, d_output: np.ndarray) -> np.ndarray:
        r"""Return \( \partial L/\partial z \) given \( \partial L/\partial f(z) \)."""
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
    r"""Rectified linear unit, \( f(z) = \max(z, 0) \).

    Its derivative is \( f'(z) = 1 \) where \( z > 0 \) and \( 0 \) elsewhere
    (we take \( 0 \) at the kink \( z = 0 \), as PyTorch does).

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
        r"""Return \( \max(z, 0) \) elementwise, shape unchanged."""
        z = check.float_array("z", z)  # an int z would give an int output and gradient
        # The output is positive exactly where z is, so it is all backward needs.
        self._saved = np.maximum(z, 0)
        return self._saved

    def backward(self, d_output: np.ndarray) -> np.ndarray:
        r"""Return \( \partial L/\partial z = \partial L/\partial a \odot [z > 0] \).

        Raises
        ------
        RuntimeError
            If ``forward`` has not been called.
        ValueError
            If ``d_output`` does not have the shape of the last output.
        """
        output, d_output = self._upstream(d_output)
        active = output > 0
        if d_output.dtype.kind == "f" and not np.isfinite(d_output).all():
            # inf * 0 is NaN (and a warning), where the derivative prescribes an exact 0,
            # as PyTorch gives too: only np.where keeps that.
            return np.where(active, d_output, 0).astype(d_output.dtype, copy=False)
        # The product, as the formula reads, rather than np.where: np.where branches on
        # each element, and on the random sign pattern of real pre-activations it is
        # 3-12x slower (measured with benchmarks/). It keeps d_output's dtype.
        return d_output * active


class LeakyReLU(_Cached):
    r"""Leaky ReLU, \( f(z) = z \) for \( z > 0 \) and \( \alpha z \) otherwise.

    Parameters
    ----------
    negative_slope : float, default 0.01
        The slope \( \alpha \) for negative inputs. Must be finite and
        non-negative.

    Raises
    ------
    TypeError
        If ``negative_slope`` is not a real number.
    ValueError
        If ``negative_slope`` is negative, NaN or infinite.

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
        r"""Return \( z \) where \( z > 0 \) and \( \alpha z \) elsewhere."""
        z = check.float_array("z", z)  # an int z would round alpha * z to an int
        # With a slope >= 0 the output is positive exactly where z is, so, as for
        # ReLU, the output is all backward needs and no reference to z is kept.
        self._saved = np.where(z > 0, z, self.negative_slope * z).astype(z.dtype, copy=False)
        return self._saved

    def backward(self, d_output: np.ndarray) -> np.ndarray:
        r"""Return \( \partial L/\partial a \) where \( z > 0 \), times \( \alpha \) elsewhere.

        Raises
        ------
        RuntimeError
            If ``forward`` has not been called.
        ValueError
            If ``d_output`` does not have the shape of the last output.
        """
        output, d_output = self._upstream(d_output)
        slope = np.where(output > 0, 1.0, self.negative_slope).astype(d_output.dtype, copy=False)
        return d_output * slope

    def __repr__(self) -> str:
        return f"LeakyReLU(negative_slope={self.negative_slope!r})"


class Sigmoid(_Cached):
    r"""Logistic sigmoid, \( \sigma(z) = 1 / (1 + e^{-z}) \).

    Its derivative is \( \sigma'(z) = \sigma(z)\,(1 - \sigma(z)) \), so the
    output is all ``backward`` needs. The forward pass never exponentiates a
    positive number, so \( |z| \) up to ``1e4`` and beyond gives no overflow.

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
        r"""Return \( \sigma(z) \) elementwise, computed without overflow."""
        z = check.float_array("z", z)
        # e = exp(-|z|) lies in (0, 1]; both branches below only divide by 1 + e.
        e = np.exp(-np.abs(z))
        self._saved = np.where(z >= 0, 1, e) / (1 + e)
        return self._saved

    def backward(self, d_output: np.ndarray) -> np.ndarray:
        r"""Return \( \partial L/\partial a \odot \sigma(z)(1 - \sigma(z)) \).

        Raises
        ------
        RuntimeError
            If ``forward`` has not been called.
        ValueError
            If ``d_output`` does not have the shape of the last output.
        """
        s, d_output = self._upstream(d_output)
        return d_output * s * (1 - s)


class Tanh(_Cached):
    r"""Hyperbolic tangent, \( f(z) = \tanh z \), with \( f'(z) = 1 - \tanh^2 z \).

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
        r"""Return \( \tanh z \) elementwise."""
        self._saved = np.tanh(check.float_array("z", z))
        return self._saved

    def backward(self, d_output: np.ndarray) -> np.ndarray:
        r"""Return \( \partial L/\partial a \odot (1 - \tanh^2 z) \).

        Raises
        ------
        RuntimeError
            If ``forward`` has not been called.
        ValueError
            If ``d_output`` does not have the shape of the last output.
        """
        t, d_output = self._upstream(d_output)
        return d_output * (1 - t * t)


class Softmax(_Cached):
    r"""Row-wise softmax, \( s_{nj} = e^{z_{nj}} / \sum_k e^{z_{nk}} \).

    Each row of ``z`` (one sample) becomes a probability vector. The Jacobian
    of one row is \( \partial s_j / \partial z_k = s_j(\delta_{jk} - s_k) \),
    and ``backward`` applies it without ever building it:

    \[ \frac{\partial L}{\partial z_{nk}}
       = s_{nk}\Big(g_{nk} - \sum_j g_{nj}\, s_{nj}\Big),
       \qquad g = \frac{\partial L}{\partial s}. \]

    The row maximum is subtracted before exponentiating, which leaves the
    result unchanged and keeps every exponent \( \le 0 \).

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
        r"""Return the softmax of each row of ``z`` ``(batch, classes)``.

        Raises
        ------
        ValueError
            If ``z`` is not 2-D.
        """
        z = check.matrix("z", check.float_array("z", z))
        e = np.exp(z - z.max(axis=1, keepdims=True))
        self._saved = e / e.sum(axis=1, keepdims=True)
        return self._saved

    def backward(self, d_output: np.ndarray) -> np.ndarray:
        r"""Return the Jacobian-vector product \( s \odot (g - (g \cdot s)\mathbf{1}) \), row-wise.

        Raises
        ------
        RuntimeError
            If ``forward`` has not been called.
        ValueError
            If ``d_output`` does not have the shape of the last output.
        """
        s, g = self._upstream(d_output)
        return s * (g - np.sum(g * s, axis=1, keepdims=True))
