r"""The fully connected layer: \( z = xW + b \), an optional activation, and its gradients."""

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


class Dense:
    r"""A fully connected layer trained by plain stochastic gradient descent.

    The forward pass maps a batch \( x \) of shape ``(batch, input_size)`` to

    \[ z = xW + b, \qquad \text{output} = f(z), \]

    with weights \( W \) of shape ``(input_size, output_size)``, biases
    \( b \) of shape ``(1, output_size)`` broadcast over the batch, and \( f \)
    the activation (the identity when ``activation`` is ``None``). The
    backward pass receives \( \partial L/\partial\,\text{output} \), forms
    \( \delta = \partial L/\partial z \) through the activation, and computes

    \[ \frac{\partial L}{\partial W} = x^\top \delta, \qquad
       \frac{\partial L}{\partial b} = \sum_{n} \delta_{n}, \qquad
       \frac{\partial L}{\partial x} = \delta W^\top, \]

    then takes one SGD step \( W \leftarrow W - \eta\,\partial L/\partial W \),
    \( b \leftarrow b - \eta\,\partial L/\partial b \).

    Parameters
    ----------
    input_size : int
        Number of input features, the width of \( x \).
    output_size : int
        Number of units, the width of \( z \).
    activation : Activation, optional
        An object with ``forward(z)`` and ``backward(d_output)``, such as
        [`ReLU`][dense.ReLU]. The layer keeps its own deep copy, because an
        activation saves its output between the two passes: one
        instance shared by two layers would hand the first layer the second
        layer's values.
    init : {"seed", "xavier", "he"} or callable, default "seed"
        How to draw \( W \): ``"seed"`` is ``randn * 0.1`` as in the original
        derivation, ``"xavier"`` has standard deviation
        \( \sqrt{2/(n_\text{in}+n_\text{out})} \), ``"he"`` has
        \( \sqrt{2/n_\text{in}} \). A callable is called as
        ``init(rng, (input_size, output_size))`` and must return that shape.
    rng : None, int or numpy.random.Generator, optional
        Source of the initial weights. The same integer seed gives the same
        weights; ``None`` draws fresh entropy.
    dtype : float dtype, default numpy.float64
        Dtype of the parameters, outputs and gradients. Inputs of any real
        dtype are converted to it.

    Attributes
    ----------
    weights : numpy.ndarray
        \( W \), shape ``(input_size, output_size)``, updated in place.
    biases : numpy.ndarray
        \( b \), shape ``(1, output_size)``, zeros at first, updated in place.
    input : numpy.ndarray or None
        The \( x \) of the last ``forward`` call, kept for
        \( \partial L/\partial W = x^\top\delta \). It is a *reference* to the
        caller's array when that array already has the layer's dtype, so no
        batch is copied; writing into that array before ``backward`` changes
        the gradient.
    output : numpy.ndarray or None
        The last output, shape ``(batch, output_size)``.
    d_weights, d_biases : numpy.ndarray or None
        The gradients of the last ``backward`` call, kept for inspection.

    Raises
    ------
    TypeError
        If a size is not an integer, ``activation`` is a class rather than an
        instance or lacks ``forward`` or ``backward``, ``init`` is neither a
        string nor a callable, ``rng`` is of the wrong type, or ``dtype`` is
        not a floating dtype.
    ValueError
        If a size is not positive, ``init`` names no known initializer, or a
        custom initializer returns the wrong shape or values that are not
        finite in ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> from dense import Dense, ReLU
    >>> layer = Dense(3, 2, activation=ReLU(), rng=0)
    >>> layer
    Dense(3, 2, activation=ReLU())
    >>> x = np.ones((4, 3))
    >>> layer.forward(x).shape
    (4, 2)
    >>> d_input = layer.backward(np.ones((4, 2)), learning_rate=0.1)
    >>> d_input.shape, layer.d_weights.shape, layer.d_biases.shape
    ((4, 3), (3, 2), (1, 2))
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        activation: Activation | None = None,
        *,
        init: str | Initializer = "seed",
        rng: int | np.random.Generator | None = None,
        dtype: DTypeLike = np.float64,
    ) -> None:
        self.input_size = check.positive_int("input_size", input_size)
        self.output_size = check.positive_int("output_size", output_size)
        self.dtype = _float_dtype(dtype)
        self.activation = _own_copy(activation)
        self.init = init
        shape = (self.input_size, self.output_size)
        self.weights = _draw(init, check.generator(rng), shape, self.dtype)
        self.biases = np.zeros((1, self.output_size), dtype=self.dtype)
        self.input: np.ndarray | None = None
        self.output: np.ndarray | None = None
        self.d_weights: np.ndarray | None = None
        self.d_biases: np.ndarray | None = None

    def forward(self, input: np.ndarray) -> np.ndarray:
        r"""Compute \( f(xW + b) \) for a batch and remember \( x \) for ``backward``.

        Parameters
        ----------
        input : array_like, shape (batch, input_size)
            The batch \( x \), one sample per row, of any real dtype.

        Returns
        -------
        numpy.ndarray
            The output, shape ``(batch, output_size)``, in the layer's dtype.

        Raises
        ------
        TypeError
            If ``input`` does not hold real numbers, or a custom activation
            returns something other than an array of ``z``'s dtype.
        ValueError
            If ``input`` is not 2-D, has not ``input_size`` columns or has
            masked entries, or a custom activation returns another shape. The
            message says how to reshape a single sample. Nothing is saved then.

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

    def backward(self, d_output: np.ndarray, learning_rate: float) -> np.ndarray:
        r"""Backpropagate \( \partial L/\partial\,\text{output} \), then take one SGD step.

        With \( \delta = \partial L/\partial z \) (the upstream gradient passed
        back through the activation), the gradients are
        \( \partial L/\partial W = x^\top\delta \) of shape
        ``(input_size, output_size)``, \( \partial L/\partial b = \sum_n
        \delta_n \) of shape ``(1, output_size)``, and
        \( \partial L/\partial x = \delta W^\top \) of shape
        ``(batch, input_size)``. The last is computed with the weights
        *before* the update, since those produced the output being
        differentiated.

        Parameters
        ----------
        d_output : array_like, shape (batch, output_size)
            \( \partial L/\partial\,\text{output} \) for the last ``forward``.
        learning_rate : float
            The step size \( \eta \ge 0 \). With ``0`` the gradients are
            computed and kept, and the parameters are left untouched.

        Returns
        -------
        numpy.ndarray
            \( \partial L/\partial x \), shape ``(batch, input_size)``.

        Raises
        ------
        RuntimeError
            If ``forward`` has not been called.
        TypeError
            If ``d_output`` does not hold real numbers, ``learning_rate``
            is not a real number, or a custom activation's ``backward``
            returns something other than an array of the layer's dtype.
        ValueError
            If ``d_output`` does not have the shape of the last output,
            ``learning_rate`` is negative, NaN or infinite, or a custom
            activation's ``backward`` returns another shape. Nothing changes then.

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
        d_output, learning_rate = self._as_upstream(d_output, learning_rate)
        delta = d_output if self.activation is None else self.activation.backward(d_output)
        check.returned(self.activation, "backward", delta, d_output)
        d_input = delta @ self.weights.T  # uses W before the update below
        self.d_weights = self.input.T @ delta
        self.d_biases = delta.sum(axis=0, keepdims=True)
        if learning_rate:
            self.weights -= learning_rate * self.d_weights
            self.biases -= learning_rate * self.d_biases
        return d_input

    def __repr__(self) -> str:
        extras = "" if self.activation is None else f", activation={self.activation!r}"
        if isinstance(self.init, str) and self.init != "seed":
            extras += f", init={self.init!r}"
        if self.dtype != np.float64:
            extras += f", dtype={self.dtype.name}"
        return f"Dense({self.input_size}, {self.output_size}{extras})"

    def _as_input(self, input: object) -> np.ndarray:
        x = check.matrix("input", input, columns=self.input_size)
        return x if x.dtype == self.dtype else x.astype(self.dtype)

    def _as_upstream(self, d_output: object, learning_rate: object) -> tuple[np.ndarray, float]:
        output = check.cached(self, self.output, "backward")
        d_output = check.same_shape("d_output", d_output, output.shape, "the last output")
        rate = check.finite_real("learning_rate", learning_rate, minimum=0.0)
        return d_output.astype(self.dtype, copy=False), rate


def chain(layers: Iterable[Dense]) -> tuple[Dense, ...]:
    """Return ``layers`` as a tuple after checking they can run one after another.

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
        If ``layers`` is empty, a layer's ``output_size`` differs from the next
        layer's ``input_size``, or one layer object appears twice (it would
        overwrite its own saved input).

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
                f"layers do not chain: layers[{k}] has output_size {a.output_size} but "
                f"layers[{k + 1}] has input_size {b.input_size}"
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
    if isinstance(activation, type):  # the class has the methods too, but they need an instance
        raise TypeError(
            f"activation must be an instance such as {activation.__name__}(), "
            f"got the class {activation.__name__}"
        )
    if not isinstance(activation, Activation):
        raise TypeError(
            "activation must have forward(z) and backward(d_output) methods, "
            f"got {activation!r} of type {type(activation).__name__}"
        )
    return copy.deepcopy(activation)


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
    with np.errstate(over="ignore"):  # checked after the cast: a float16 overflows at 65504
        weights = weights.astype(dtype)
    if not np.all(np.isfinite(weights)):
        raise ValueError(f"init(rng, shape) returned NaN or infinite weights (in {dtype.name})")
    return weights
