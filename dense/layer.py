"""The fully connected layer: z = xW + b, an optional activation, and its gradients."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable

import numpy as np
from numpy.typing import DTypeLike

from dense import _validation as check
from dense.activations import Activation
from dense.init import INITIALIZERS, Initializer

__all__ = ["Dense", "chain"]

# Rows of a parameter updated at once by _descend: a temporary this size fits in the cache.
_BLOCK_BYTES = 1 << 19


class Dense:
    r"""A fully connected layer, a = f(xW + b), trained by plain stochastic gradient descent.

    ``forward`` maps a batch \( x \) of shape ``(batch, input_size)`` to
    \( a = f(z) \), \( z = xW + b \) (\( f \) the identity without an activation).
    ``backward`` receives \( G = \partial L/\partial a \), forms
    \( \delta = \partial L/\partial z \) through the activation, keeps
    \( \partial L/\partial W = x^\top\delta \) and
    \( \partial L/\partial b = \mathbf{1}^\top\delta \), returns
    \( \partial L/\partial x = \delta W^\top \) and steps
    \( W \leftarrow W - \eta\,\partial L/\partial W \),
    \( b \leftarrow b - \eta\,\partial L/\partial b \).

    Parameters
    ----------
    input_size, output_size : int
        \( n_\text{in} \), the width of \( x \), and \( n_\text{out} \), the number of units.
    activation : Activation, optional
        An instance with ``forward(z)`` and ``backward(d_output)``, such as ``ReLU()``. The
        layer keeps its own deep copy: an activation saves its output between the two passes.
    init : {"normal", "xavier", "he"} or callable, default "normal"
        How to draw \( W \) (see ``dense.init``); a callable is called as
        ``init(rng, (input_size, output_size))``.
    rng : None, int or numpy.random.Generator, optional
        Source of the initial weights; the same seed gives the same weights.
    dtype : float dtype, default numpy.float64
        Dtype of parameters, outputs and gradients; inputs of any real dtype are converted.

    Attributes
    ----------
    weights : numpy.ndarray
        \( W \), shape ``(input_size, output_size)``, updated in place.
    biases : numpy.ndarray
        \( b \), shape ``(1, output_size)``, zeros at first, updated in place.
    input : numpy.ndarray or None
        The \( x \) of the last ``forward``: a reference to the caller's array when it
        already has the layer's dtype, so writing into it before ``backward`` changes
        \( \partial L/\partial W \).
    output : numpy.ndarray or None
        The last output \( a \), shape ``(batch, output_size)``.
    d_weights, d_biases : numpy.ndarray or None
        \( \partial L/\partial W \) and \( \partial L/\partial b \) of the last ``backward``.

    Raises
    ------
    TypeError, ValueError
        If an argument has the wrong type or value (``activation`` a class, a size not
        positive, ``init`` unknown or returning another shape or non-finite values).

    Examples
    --------
    >>> import numpy as np
    >>> from dense import Dense, ReLU
    >>> layer = Dense(3, 2, activation=ReLU(), rng=0)
    >>> layer.forward(np.ones((4, 3))).shape
    (4, 2)
    >>> layer.backward(np.ones((4, 2)), learning_rate=0.1).shape
    (4, 3)
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        activation: Activation | None = None,
        *,
        init: str | Initializer = "normal",
        rng: int | np.random.Generator | None = None,
        dtype: DTypeLike = np.float64,
    ) -> None:
        shape = (
            check.positive_int("input_size", input_size),
            check.positive_int("output_size", output_size),
        )
        dtype = _float_dtype(dtype)
        activation = _own_copy(activation)
        weights = _draw(init, check.generator(rng), shape, dtype)
        self._become(weights, np.zeros((1, shape[1]), dtype=dtype), activation, init)

    @classmethod
    def from_parameters(
        cls,
        weights: np.ndarray,
        biases: np.ndarray,
        activation: Activation | None = None,
        *,
        init: str | None = None,
    ) -> Dense:
        r"""Build a layer from given weights and biases (copied), drawing nothing.

        Parameters
        ----------
        weights : array_like, shape (input_size, output_size)
            \( W \), of a floating dtype, which becomes the layer's dtype.
        biases : array_like, shape (1, output_size)
            \( b \), converted to the dtype of ``weights``.
        activation : Activation, optional
            As for the constructor.
        init : str or None, default None
            Only recorded: the name of the initializer the weights once came from.

        Returns
        -------
        Dense
            A new layer with copies of ``weights`` and ``biases``.

        Raises
        ------
        TypeError, ValueError
            If ``weights`` is not a 2-D float array, ``biases`` has another shape, a value
            is NaN or infinite, or ``activation`` is not an instance with both methods.

        Examples
        --------
        >>> import numpy as np
        >>> Dense.from_parameters(np.ones((3, 2), dtype=np.float32), np.zeros((1, 2)))
        Dense(3, 2, dtype=float32)
        """
        weights = check.matrix("weights", weights)
        if weights.dtype.kind != "f":
            raise TypeError(f"weights must hold floats, got dtype {weights.dtype}")
        biases = check.same_shape("biases", biases, (1, weights.shape[1]), "(1, output_size)")
        weights = check.finite_copy("weights", weights, weights.dtype)
        biases = check.finite_copy("biases", biases, weights.dtype)
        layer = cls.__new__(cls)
        layer._become(weights, biases, _own_copy(activation), init)
        return layer

    def _become(
        self, weights: np.ndarray, biases: np.ndarray, activation: Activation | None, init: object
    ) -> None:
        self.input_size, self.output_size = weights.shape
        self.dtype = weights.dtype
        self.activation = activation
        self.init = init
        self.weights = weights
        self.biases = biases
        self.input: np.ndarray | None = None
        self.output: np.ndarray | None = None
        self.d_weights: np.ndarray | None = None
        self.d_biases: np.ndarray | None = None

    def forward(self, input: np.ndarray) -> np.ndarray:
        r"""Compute the output f(xW + b) of a batch and keep x for backward.

        NaN and infinity are not refused (a check would slow every call): they reach the
        output rows of the samples that hold them, as in PyTorch, and NumPy may warn.
        ``Sequential.fit`` checks its data once, up front.

        Parameters
        ----------
        input : array_like, shape (batch, input_size)
            The batch \( x \), one sample per row, of any real dtype.

        Returns
        -------
        numpy.ndarray
            \( a \), shape ``(batch, output_size)``, in the layer's dtype.

        Raises
        ------
        TypeError, ValueError
            If ``input`` is not a real 2-D array with ``input_size`` columns, or a custom
            activation returns something other than an array of ``z``'s shape and dtype.
            Nothing is kept then.

        Examples
        --------
        >>> import numpy as np
        >>> layer = Dense(2, 1, rng=0)
        >>> layer.weights[:] = [[2.0], [3.0]]
        >>> layer.forward(np.array([[1.0, 1.0], [1.0, -1.0]]))
        array([[ 5.],
               [-1.]])
        """
        x = self._as_input(input)
        z = x @ self.weights
        z += self.biases  # b has shape (1, output_size): broadcast over the batch
        output = z if self.activation is None else self.activation.forward(z)
        check.returned(self.activation, "forward", output, z)  # custom ones may not comply
        self.input, self.output = x, output
        return output

    def backward(
        self, d_output: np.ndarray, learning_rate: float, *, input_gradient: bool = True
    ) -> np.ndarray | None:
        r"""Backpropagate d_output = dL/da, keep dL/dW and dL/db, then take one SGD step.

        \( \partial L/\partial x = \delta W^\top \) uses the weights from before the step,
        since those produced the output being differentiated.

        Parameters
        ----------
        d_output : array_like, shape (batch, output_size)
            \( G = \partial L/\partial a \) for the last ``forward``.
        learning_rate : float
            The step size \( \eta \ge 0 \); with ``0`` the parameters stay as they are.
        input_gradient : bool, default True
            Compute \( \partial L/\partial x \); a first layer, whose input is data, needs none.

        Returns
        -------
        numpy.ndarray or None
            \( \partial L/\partial x \), shape ``(batch, input_size)``, or ``None``.

        Raises
        ------
        RuntimeError
            If ``forward`` has not been called.
        TypeError, ValueError
            If ``d_output`` is not real or not of the last output's shape, ``learning_rate``
            is not a finite number >= 0, ``input_gradient`` not a bool, or a custom
            activation's ``backward`` returns something other than what it was given.
            Nothing changes then.

        Examples
        --------
        >>> import numpy as np
        >>> layer = Dense(2, 1, rng=0)
        >>> layer.weights[:] = [[2.0], [3.0]]
        >>> _ = layer.forward(np.array([[1.0, 4.0]]))
        >>> layer.backward(np.array([[1.0]]), learning_rate=0.5)
        array([[2., 3.]])
        >>> layer.d_weights.ravel(), layer.weights.ravel()
        (array([1., 4.]), array([1.5, 1. ]))
        """
        d_output, learning_rate = self._as_upstream(d_output, learning_rate, input_gradient)
        delta = d_output if self.activation is None else self.activation.backward(d_output)
        check.returned(self.activation, "backward", delta, d_output)
        d_input = delta @ self.weights.T if input_gradient else None  # W before the update
        self.d_weights = self.input.T @ delta
        self.d_biases = delta.sum(axis=0, keepdims=True)
        if learning_rate:
            _descend(self.weights, self.d_weights, learning_rate)
            _descend(self.biases, self.d_biases, learning_rate)
        return d_input

    def __repr__(self) -> str:
        extras = "" if self.activation is None else f", activation={self.activation!r}"
        if isinstance(self.init, str) and self.init != "normal":
            extras += f", init={self.init!r}"
        if self.dtype != np.float64:
            extras += f", dtype={self.dtype.name}"
        return f"Dense({self.input_size}, {self.output_size}{extras})"

    def _as_input(self, input: object) -> np.ndarray:
        x = check.matrix("input", input, columns=self.input_size)
        return x if x.dtype == self.dtype else x.astype(self.dtype)

    def _as_upstream(
        self, d_output: object, learning_rate: object, input_gradient: object = True
    ) -> tuple[np.ndarray, float]:
        output = check.cached(self, self.output, "backward")
        d_output = check.same_shape("d_output", d_output, output.shape, "the last output")
        rate = check.finite_real("learning_rate", learning_rate, minimum=0.0)
        check.flag("input_gradient", input_gradient)
        return d_output.astype(self.dtype, copy=False), rate


def _descend(parameter: np.ndarray, gradient: np.ndarray, rate: float) -> None:
    """Take one SGD step in place, parameter -= rate * gradient."""
    # A block of rows at a time, so the temporary rate * block stays in the cache.
    # One temporary of the parameter's size would be a third array streamed through
    # memory and, when large, fresh memory that the system maps page by page.
    rows = max(1, _BLOCK_BYTES // parameter[0].nbytes)
    for start in range(0, len(parameter), rows):
        parameter[start : start + rows] -= rate * gradient[start : start + rows]


def chain(layers: Iterable[Dense]) -> tuple[Dense, ...]:
    """Return layers as a tuple after checking that they can run one after another.

    Parameters
    ----------
    layers : iterable of Dense
        The layers, first to last.

    Returns
    -------
    tuple of Dense
        The same layer objects, in order.

    Raises
    ------
    TypeError
        If ``layers`` is not iterable or holds something other than a ``Dense``.
    ValueError
        If ``layers`` is empty, a layer's ``output_size`` differs from the next one's
        ``input_size``, or one layer object appears twice (it would overwrite its own
        saved input).

    Examples
    --------
    >>> chain([Dense(3, 4), Dense(4, 2)])
    (Dense(3, 4), Dense(4, 2))
    """
    try:
        layers = tuple(layers)
    except TypeError:
        raise TypeError(
            f"layers must be a list of dense.Dense, got {type(layers).__name__}"
        ) from None
    if not layers:
        raise ValueError("layers must hold at least one dense.Dense, got an empty list")
    for k, layer in enumerate(layers):
        if not isinstance(layer, Dense):
            raise TypeError(f"layers[{k}] must be a dense.Dense, got {type(layer).__name__}")
    for k, (a, b) in enumerate(itertools.pairwise(layers)):
        if a.output_size != b.input_size:
            raise ValueError(
                f"layers do not chain: layers[{k}] has output_size {a.output_size!r} but "
                f"layers[{k + 1}] has input_size {b.input_size!r}"
            )
    for k, layer in enumerate(layers):
        first = next(i for i, other in enumerate(layers) if other is layer)
        if first != k:
            raise ValueError(
                f"layers[{first}] and layers[{k}] are the same Dense object; each position "
                "needs its own layer, because a layer keeps the input of its last forward"
            )
    return layers


def _float_dtype(dtype: DTypeLike) -> np.dtype:
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a floating dtype such as float64, got {dtype!r}") from None
    if resolved.kind != "f":
        raise TypeError(f"dtype must be a floating dtype such as float64, got {resolved.name}")
    return resolved


def _own_copy(activation: Activation | None) -> Activation | None:
    if activation is None:
        return None
    return copy.deepcopy(check.instance("activation", activation, Activation))


def _draw(
    init: str | Initializer, rng: np.random.Generator, shape: tuple[int, int], dtype: np.dtype
) -> np.ndarray:
    if isinstance(init, str):
        if init not in INITIALIZERS:
            known = ", ".join(repr(name) for name in INITIALIZERS)
            raise ValueError(f"unknown init {init!r}; expected one of {known} or a callable")
        init = INITIALIZERS[init]
    elif not callable(init):
        raise TypeError(f"init must be a name or a callable, got {type(init).__name__}")
    weights = check.real_array("init(rng, shape)", init(rng, shape))
    if weights.shape != shape:
        raise ValueError(f"init(rng, shape) must return shape {shape}, got {weights.shape}")
    return check.finite_copy(f"init(rng, shape), cast to {dtype.name},", weights, dtype)
