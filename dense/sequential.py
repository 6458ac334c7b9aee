r"""A stack of Dense layers, trained by minibatch stochastic gradient descent.

A network of \( D \) layers computes \( a^{(l)} = f^{(l)}(a^{(l-1)} W^{(l)} + b^{(l)}) \)
from \( a^{(0)} = x \). Its backward pass runs the chain rule the other way: each layer
receives, as its \( G \), the \( \partial L/\partial x \) returned by the layer after it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from os import PathLike

import numpy as np
from tqdm import tqdm

from dense import _validation as check
from dense import serialize
from dense.layer import Dense, chain
from dense.losses import Loss

__all__ = ["Sequential"]


class Sequential:
    """A feed-forward network: Dense layers applied one after another.

    Parameters
    ----------
    *layers : Dense, or one iterable of Dense
        The layers, first to last: ``Sequential(a, b)`` or ``Sequential([a, b])``. Each
        layer's ``output_size`` must equal the next one's ``input_size``. The model keeps
        the layer objects themselves, so training the model trains them.

    Attributes
    ----------
    layers : tuple of Dense
        The layers, first to last; a tuple, so the chain checked here cannot break later.

    Raises
    ------
    TypeError
        If an item is not a ``Dense``.
    ValueError
        If there are no layers, sizes do not chain, or one layer object appears twice.

    Examples
    --------
    >>> import numpy as np
    >>> from dense import Dense, ReLU, Sequential
    >>> model = Sequential(Dense(4, 8, ReLU(), rng=0), Dense(8, 3, rng=1))
    >>> model.n_parameters
    67
    >>> model.forward(np.ones((5, 4))).shape
    (5, 3)
    >>> model.backward(np.ones((5, 3)), learning_rate=0.1).shape  # dL/dx
    (5, 4)
    """

    def __init__(self, *layers: Dense | Iterable[Dense]) -> None:
        if len(layers) == 1 and not isinstance(layers[0], Dense):
            layers = layers[0]  # Sequential([a, b]) as well as Sequential(a, b)
        self.layers: tuple[Dense, ...] = chain(layers)

    @property
    def input_size(self) -> int:
        """Width of the inputs, the first layer's input_size."""
        return self.layers[0].input_size

    @property
    def output_size(self) -> int:
        """Width of the outputs, the last layer's output_size."""
        return self.layers[-1].output_size

    @property
    def n_parameters(self) -> int:
        """Number of trainable numbers: a weight per input-unit pair and a bias per unit."""
        return sum(layer.weights.size + layer.biases.size for layer in self.layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Run x, shape (batch, input_size), through every layer; return (batch, output_size)."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(
        self, d_output: np.ndarray, learning_rate: float, *, input_gradient: bool = True
    ) -> np.ndarray | None:
        r"""Backpropagate through every layer, last to first, each taking its SGD step.

        Parameters
        ----------
        d_output : array_like, shape (batch, output_size)
            \( G = \partial L/\partial a^{(D)} \) for the last ``forward``.
        learning_rate : float
            The step size \( \eta \ge 0 \); ``0`` only computes gradients.
        input_gradient : bool, default True
            Compute \( \partial L/\partial x \); training on data needs none.

        Returns
        -------
        numpy.ndarray or None
            \( \partial L/\partial x \), shape ``(batch, input_size)``, or ``None``.

        Raises
        ------
        RuntimeError, TypeError, ValueError
            As ``Dense.backward`` of the last layer, before any layer changes.
        """
        for k in reversed(range(len(self.layers))):
            wanted = input_gradient or k > 0  # every later layer needs its dL/dx
            d_output = self.layers[k].backward(d_output, learning_rate, input_gradient=wanted)
        return d_output

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Return the output for x, as forward does; argmax(axis=1) of logits gives classes."""
        return self.forward(x)

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        loss: Loss,
        *,
        epochs: int = 10,
        batch_size: int = 32,
        learning_rate: float = 0.01,
        shuffle: bool = True,
        rng: int | np.random.Generator | None = None,
        progress: bool | None = None,
    ) -> list[float]:
        r"""Train by minibatch stochastic gradient descent; return each epoch's mean loss.

        Each epoch visits the samples once, in batches of ``batch_size`` (the last may be
        smaller), and per batch takes one SGD step in every layer. Everything is checked
        before the first step, so a refused call changes nothing. If a batch's loss or
        gradient is not finite, or its step would overflow a parameter, training stops with
        a ``RuntimeError`` before that step, and every layer keeps its parameters.

        Parameters
        ----------
        x : array_like, shape (n_samples, input_size)
            Training inputs, finite.
        y : array_like
            Targets, checked up front by ``loss.check_target`` if the loss has one: labels
            ``(n_samples,)`` or probability rows for ``SoftmaxCrossEntropy``, values
            ``(n_samples, output_size)`` for ``MSE``.
        loss : Loss
            An instance with ``forward(prediction, target)`` and ``backward()``.
        epochs, batch_size : int, default 10 and 32
            Passes over the data and samples per step, each at least 1.
        learning_rate : float, default 0.01
            The step size \( \eta \ge 0 \).
        shuffle : bool, default True
            Visit the samples in a fresh random order every epoch.
        rng : None, int or numpy.random.Generator, optional
            Source of the shuffling; the same seed gives the same history.
        progress : bool or None, default None
            Show a tqdm bar on stderr; ``None`` shows it only on an interactive terminal.

        Returns
        -------
        list of float
            Per epoch, the mean loss over the samples (batch losses weighted by batch size),
            each batch measured before its own step.

        Raises
        ------
        TypeError, ValueError
            If an argument has the wrong type or value (``x`` with NaN, infinity or masked
            entries, ``x`` and ``y`` of different lengths, ``y`` refused by the loss).
        RuntimeError
            If training diverges; the message names the epoch and batch.

        Examples
        --------
        >>> import numpy as np
        >>> from dense import Dense, MSE, Sequential
        >>> x = np.linspace(-1, 1, 20).reshape(-1, 1)
        >>> model = Sequential(Dense(1, 1, rng=0))
        >>> history = model.fit(x, 3 * x + 1, MSE(), epochs=200, batch_size=5,
        ...                     learning_rate=0.1, rng=0, progress=False)
        >>> len(history), history[-1] < 1e-6 < history[0]
        (200, True)
        """
        x, y = _checked_data(self, x, y, loss)
        epochs = check.positive_int("epochs", epochs)
        batch_size = check.positive_int("batch_size", batch_size)
        learning_rate = check.finite_real("learning_rate", learning_rate, minimum=0.0)
        shuffle = check.flag("shuffle", shuffle)
        generator = check.generator(rng)
        show = _show_progress(progress)

        n = x.shape[0]
        n_batches = math.ceil(n / batch_size)
        history: list[float] = []
        # _step reports overflow as a RuntimeError naming the batch, so NumPy's own overflow
        # warnings would only repeat it, less precisely.
        with (
            tqdm(total=epochs * n_batches, unit="batch", disable=not show, file=sys.stderr) as bar,
            np.errstate(over="ignore", invalid="ignore"),
        ):
            for epoch in range(1, epochs + 1):
                bar.set_description(f"epoch {epoch}/{epochs}")
                order = generator.permutation(n) if shuffle else np.arange(n)
                total = 0.0
                for batch, start in enumerate(range(0, n, batch_size), start=1):
                    rows = order[start : start + batch_size]
                    where = f"epoch {epoch}/{epochs}, batch {batch}/{n_batches}"
                    total += self._step(x[rows], y[rows], loss, learning_rate, where) * len(rows)
                    bar.update()
                history.append(total / n)
                bar.set_postfix(loss=f"{history[-1]:.4g}")
        return history

    def _step(self, x: np.ndarray, y: np.ndarray, loss: Loss, rate: float, where: str) -> float:
        """One SGD step on one batch; return the batch's loss (before the step)."""
        value = loss.forward(self.forward(x), y)
        d_output = loss.backward()
        finite = bool(np.all(np.isfinite(d_output)))
        # Stop before backward(): a NaN or infinite gradient would poison every weight.
        if not (math.isfinite(value) and finite):
            raise RuntimeError(
                f"training stopped at {where}: the loss is {value} (its gradient is "
                f"{'finite' if finite else 'not finite'}); the parameters keep their values "
                f"from before this batch. Try a smaller learning_rate than {rate}, or scale "
                "the inputs."
            )
        # Every gradient first, no layer moves yet; nothing uses the data's gradient.
        self.backward(d_output, learning_rate=0.0, input_gradient=False)
        if not rate:
            return value
        # Every new parameter is computed before any is applied, so that a step that would
        # overflow can be refused with every layer as it was.
        stepped = [_stepped(layer, rate) for layer in self.layers]
        for k, arrays in enumerate(stepped):
            if not all(np.all(np.isfinite(array)) for array in arrays):
                raise RuntimeError(
                    f"training stopped at {where}: the step would overflow the parameters of "
                    f"layer {k} (or their gradient is not finite); no layer was changed. Try "
                    f"a smaller learning_rate than {rate}."
                )
        for layer, (weights, biases) in zip(self.layers, stepped, strict=True):
            layer.weights[...] = weights
            layer.biases[...] = biases
        return value

    def save(self, path: str | PathLike[str]) -> None:
        """Write the architecture and parameters to one .npz file, atomically, without pickle.

        ``load`` reads it back bit for bit; ``dense.serialize.save_layers`` describes the
        format and what is refused before an existing file is touched.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from dense import Dense, LeakyReLU, Sequential
        >>> model = Sequential(Dense(3, 4, LeakyReLU(0.2), rng=0), Dense(4, 2, rng=1))
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = pathlib.Path(folder) / "model.npz"
        ...     model.save(path)
        ...     copy = Sequential.load(path)
        >>> copy.layers
        (Dense(3, 4, activation=LeakyReLU(negative_slope=0.2)), Dense(4, 2))
        """
        serialize.save_layers(self.layers, path)

    @classmethod
    def load(cls, path: str | PathLike[str]) -> Sequential:
        """Rebuild a model written by save; see dense.serialize.load_layers for what is checked."""
        return cls(serialize.load_layers(path))

    def __repr__(self) -> str:
        return _summary(self)


def _checked_data(
    model: Sequential, x: object, y: object, loss: object
) -> tuple[np.ndarray, np.ndarray]:
    check.instance("loss", loss, Loss)
    x = check.matrix("x", x, columns=model.input_size)
    y = check.real_array("y", y)
    if x.shape[0] == 0:
        raise ValueError("x must hold at least one sample, got shape (0, ...)")
    if y.ndim == 0 or y.shape[0] != x.shape[0]:
        raise ValueError(
            f"x and y must have the same number of samples, got {x.shape[0]} inputs "
            f"and {y.shape[0] if y.ndim else 0} targets (y has shape {y.shape})"
        )
    check.finite("x", x)
    if callable(getattr(loss, "check_target", None)):  # the built-in losses have one
        y = loss.check_target(y, (x.shape[0], model.output_size))
    return x, y


def _summary(model: Sequential) -> str:
    rows = [("#", "Layer", "Output shape", "Parameters")]
    for k, layer in enumerate(model.layers):
        count = layer.weights.size + layer.biases.size
        rows.append((str(k), repr(layer), f"(batch, {layer.output_size})", f"{count:,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["Sequential"]
    for row in rows:
        left = "  ".join(row[i].ljust(widths[i]) for i in range(3))
        lines.append(f"  {left}  {row[3].rjust(widths[3])}")
    lines.append(f"Total parameters: {model.n_parameters:,}")
    return "\n".join(lines)


def _stepped(layer: Dense, rate: float) -> tuple[np.ndarray, np.ndarray]:
    # W - rate dW and b - rate db as Dense.backward computes them, each in the temporary
    # array that rate * dW needs anyway.
    weights, biases = rate * layer.d_weights, rate * layer.d_biases
    np.subtract(layer.weights, weights, out=weights)
    np.subtract(layer.biases, biases, out=biases)
    return weights, biases


def _show_progress(progress: object) -> bool:
    if progress is None:
        stream = sys.stderr
        return stream is not None and hasattr(stream, "isatty") and stream.isatty()
    if not isinstance(progress, bool | np.bool_):
        raise TypeError(f"progress must be True, False or None, got {progress!r}")
    return bool(progress)
