r"""A stack of [`Dense`][dense.Dense] layers, trained by minibatch SGD.

A network of \( K \) layers is the composition
\( \text{output} = f_K(\dots f_2(f_1(x))) \). Its forward pass feeds each
layer the previous layer's output; its backward pass runs the chain rule the
other way, handing each layer the \( \partial L/\partial x \) returned by the
layer after it, so every layer receives exactly the
\( \partial L/\partial\,\text{output} \) its own ``backward`` expects.
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
from dense.losses import MSE, SoftmaxCrossEntropy, _as_probabilities

__all__ = ["Sequential"]


class Sequential:
    r"""A feed-forward network: layers applied one after another.

    Parameters
    ----------
    layers : iterable of Dense
        The layers in order, first to last. Consecutive layers must chain:
        layer \( i \)'s ``output_size`` equals layer \( i+1 \)'s
        ``input_size``. The model keeps the layer objects themselves (not
        copies), so training the model trains them.

    Attributes
    ----------
    layers : tuple of Dense
        The layers, first to last. A tuple, so the chain checked at
        construction cannot be broken later by appending to it.

    Raises
    ------
    TypeError
        If ``layers`` is not iterable or holds something other than
        [`Dense`][dense.Dense].
    ValueError
        If ``layers`` is empty, sizes do not chain, or one layer object
        appears twice (it would overwrite its own saved input).

    Examples
    --------
    >>> import numpy as np
    >>> from dense import Dense, ReLU, Sequential
    >>> model = Sequential([Dense(4, 8, ReLU(), rng=0), Dense(8, 3, rng=1)])
    >>> model.n_parameters
    67
    >>> model.forward(np.ones((5, 4))).shape
    (5, 3)
    >>> model.backward(np.ones((5, 3)), learning_rate=0.0).shape
    (5, 4)
    """

    def __init__(self, layers: Iterable[Dense]) -> None:
        self.layers: tuple[Dense, ...] = chain(layers)

    @property
    def input_size(self) -> int:
        """Width of the inputs, the first layer's ``input_size``."""
        return self.layers[0].input_size

    @property
    def output_size(self) -> int:
        """Width of the outputs, the last layer's ``output_size``."""
        return self.layers[-1].output_size

    @property
    def n_parameters(self) -> int:
        r"""Number of trainable numbers, \( \sum_k (n_\text{in}^{(k)} + 1)\, n_\text{out}^{(k)} \).

        Each layer has a weight per input-output pair and a bias per output.
        """
        return sum(layer.weights.size + layer.biases.size for layer in self.layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        r"""Run the batch through every layer, first to last.

        Parameters
        ----------
        x : array_like, shape (batch, input_size)
            One sample per row.

        Returns
        -------
        numpy.ndarray
            The last layer's output, shape ``(batch, output_size)``.

        Raises
        ------
        TypeError
            If ``x`` does not hold real numbers.
        ValueError
            If ``x`` is not 2-D, has not ``input_size`` columns or has
            masked entries.

        Examples
        --------
        >>> import numpy as np
        >>> from dense import Dense, Sequential
        >>> model = Sequential([Dense(2, 3, rng=0), Dense(3, 1, rng=1)])
        >>> bool(np.allclose(model.forward(np.ones((1, 2))),
        ...     model.layers[1].forward(model.layers[0].forward(np.ones((1, 2))))))
        True
        """
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, d_output: np.ndarray, learning_rate: float) -> np.ndarray:
        r"""Backpropagate through every layer, last to first, updating each one.

        Layer \( k \) receives the \( \partial L/\partial x \) returned by
        layer \( k+1 \), which is its own \( \partial L/\partial\,\text{output} \).
        Each layer computes that gradient with its weights from *before* its
        update, so the order of the updates does not change any gradient.

        Parameters
        ----------
        d_output : array_like, shape (batch, output_size)
            \( \partial L/\partial\,\text{output} \) for the last ``forward``.
        learning_rate : float
            The SGD step size \( \eta \ge 0 \); ``0`` only computes gradients.

        Returns
        -------
        numpy.ndarray
            \( \partial L/\partial x \) for the model's input, shape
            ``(batch, input_size)``.

        Raises
        ------
        RuntimeError
            If ``forward`` has not been called.
        TypeError
            If ``d_output`` or ``learning_rate`` is not real.
        ValueError
            If ``d_output`` does not have the shape of the last output, or
            ``learning_rate`` is negative or not finite. The last layer checks
            these before any layer changes. A custom activation whose
            ``backward`` returns the wrong shape or dtype is caught by its own
            layer, after the layers behind it have taken their step.

        Examples
        --------
        >>> import numpy as np
        >>> from dense import Dense, Sequential
        >>> model = Sequential([Dense(2, 2, rng=0), Dense(2, 1, rng=1)])
        >>> _ = model.forward(np.ones((1, 2)))
        >>> d_x = model.backward(np.ones((1, 1)), learning_rate=0.0)
        >>> W1, W2 = model.layers[0].weights, model.layers[1].weights
        >>> bool(np.allclose(d_x, (W1 @ W2).T))  # linear layers: dL/dx = (W1 W2)^T
        True
        """
        for layer in reversed(self.layers):
            d_output = layer.backward(d_output, learning_rate)
        return d_output

    def predict(self, x: np.ndarray) -> np.ndarray:
        r"""Return the model's output for ``x`` (a ``forward`` pass).

        For a classifier trained with [`SoftmaxCrossEntropy`][dense.SoftmaxCrossEntropy] the
        output holds logits; the predicted class of each row is
        ``model.predict(x).argmax(axis=1)`` (softmax does not change which
        entry is largest).

        Parameters
        ----------
        x : array_like, shape (batch, input_size)
            One sample per row.

        Returns
        -------
        numpy.ndarray
            Shape ``(batch, output_size)``.

        Raises
        ------
        TypeError
            If ``x`` does not hold real numbers.
        ValueError
            If ``x`` has the wrong shape or masked entries.

        Examples
        --------
        >>> import numpy as np
        >>> from dense import Dense, Sequential
        >>> model = Sequential([Dense(2, 3, rng=0)])
        >>> model.layers[0].weights[:] = [[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]]
        >>> model.predict(np.array([[1.0, 0.0], [0.0, 1.0]])).argmax(axis=1)
        array([0, 2])
        """
        return self.forward(x)

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        loss: MSE | SoftmaxCrossEntropy,
        *,
        epochs: int = 10,
        batch_size: int = 32,
        learning_rate: float = 0.01,
        shuffle: bool = True,
        rng: int | np.random.Generator | None = None,
        progress: bool | None = None,
    ) -> list[float]:
        r"""Train by minibatch stochastic gradient descent; return each epoch's mean loss.

        Each epoch visits the samples once, in batches of ``batch_size`` (the
        last batch may be smaller), and for each batch takes one step, as
        the private ``_step`` does it: ``forward``, ``loss.forward``, ``loss.backward``,
        then ``backward(d, learning_rate)``, which updates every layer by
        \( W \leftarrow W - \eta\,\partial L/\partial W \),
        \( b \leftarrow b - \eta\,\partial L/\partial b \).

        Everything is checked before the first step, so a refused call leaves
        the model untouched. If a batch's loss or gradient is not finite, or
        a step would overflow the parameters to infinity, training stops with
        a ``RuntimeError`` and the parameters keep their last finite values.

        Parameters
        ----------
        x : array_like, shape (n_samples, input_size)
            Training inputs.
        y : array_like
            Targets, as ``loss`` expects them: integer labels of shape
            ``(n_samples,)`` or probability rows ``(n_samples, output_size)``
            for [`SoftmaxCrossEntropy`][dense.SoftmaxCrossEntropy]; values of shape
            ``(n_samples, output_size)`` for [`MSE`][dense.MSE].
        loss : MSE or SoftmaxCrossEntropy
            Any object with ``forward(prediction, target) -> float`` and
            ``backward()`` works; the built-in losses get their targets
            checked against the last layer's width up front, other losses
            check each batch themselves.
        epochs : int, default 10
            Number of passes over the data, at least 1.
        batch_size : int, default 32
            Samples per step, at least 1.
        learning_rate : float, default 0.01
            The step size \( \eta \ge 0 \).
        shuffle : bool, default True
            Visit the samples in a fresh random order every epoch.
        rng : None, int or numpy.random.Generator, optional
            Source of the shuffling; the same seed gives the same batches and
            therefore the same history.
        progress : bool or None, default None
            ``True`` shows a tqdm progress bar on stderr, ``False`` never
            does, ``None`` shows it only when stderr is an interactive
            terminal (so logs and notebooks' captured output stay clean).

        Returns
        -------
        list of float
            One number per epoch: the mean training loss over the samples,
            i.e. the batch losses weighted by batch size, measured while the
            epoch trained (each batch before its own step).

        Raises
        ------
        TypeError
            If an argument has the wrong type, or ``loss`` is a class rather
            than an instance or lacks ``forward`` or ``backward``.
        ValueError
            If ``x`` has the wrong width or holds NaN, infinity or masked
            entries, ``x`` and ``y`` have different lengths, ``y`` does not
            fit the last layer and the loss (e.g. a label not below the
            number of outputs, or [`SoftmaxCrossEntropy`][dense.SoftmaxCrossEntropy]
            over a single output), or ``epochs``, ``batch_size`` or
            ``learning_rate`` is out of range.
        RuntimeError
            If the loss, its gradient or the parameters become non-finite;
            the message names the epoch and batch.

        Examples
        --------
        >>> import numpy as np
        >>> from dense import Dense, MSE, Sequential
        >>> x = np.linspace(-1, 1, 20).reshape(-1, 1)
        >>> model = Sequential([Dense(1, 1, rng=0)])
        >>> history = model.fit(x, 3 * x + 1, MSE(), epochs=200, batch_size=5,
        ...                     learning_rate=0.1, rng=0, progress=False)
        >>> len(history), history[-1] < 1e-6 < history[0]
        (200, True)
        >>> np.round([model.layers[0].weights[0, 0], model.layers[0].biases[0, 0]], 4)
        array([3., 1.])
        """
        x, y = self._checked_data(x, y, loss)
        epochs = check.positive_int("epochs", epochs)
        batch_size = check.positive_int("batch_size", batch_size)
        learning_rate = check.finite_real("learning_rate", learning_rate, minimum=0.0)
        shuffle = check.flag("shuffle", shuffle)
        generator = check.generator(rng)
        show = _show_progress(progress)

        n = x.shape[0]
        n_batches = math.ceil(n / batch_size)
        history: list[float] = []
        # Overflow is detected in _step and reported as a RuntimeError naming the batch, so
        # NumPy's own overflow warnings would only repeat it, less precisely.
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

    # --8<-- [start:step]
    def _step(
        self, x: np.ndarray, y: np.ndarray, loss: MSE | SoftmaxCrossEntropy, rate: float, where: str
    ) -> float:
        """One SGD step on one batch; return the batch's loss (before the step)."""
        value = loss.forward(self.forward(x), y)
        d_output = loss.backward()
        # Stop before backward(): a NaN or infinite gradient would poison every weight.
        if not (math.isfinite(value) and np.all(np.isfinite(d_output))):
            raise RuntimeError(
                f"training stopped at {where}: the loss is {value} (its gradient is "
                f"{'finite' if np.all(np.isfinite(d_output)) else 'not finite'}); "
                f"the parameters keep their last finite values. Try a smaller "
                f"learning_rate than {rate}, or scale the inputs."
            )
        before = [(layer.weights.copy(), layer.biases.copy()) for layer in self.layers]
        self.backward(d_output, rate)
        # A finite gradient times a large rate can still overflow to infinity: undo that step.
        for k, layer in enumerate(self.layers):
            if not (np.all(np.isfinite(layer.weights)) and np.all(np.isfinite(layer.biases))):
                for (weights, biases), restored in zip(before, self.layers, strict=True):
                    restored.weights[...] = weights
                    restored.biases[...] = biases
                raise RuntimeError(
                    f"training stopped at {where}: the step overflowed the parameters of "
                    f"layer {k} to infinity; they were restored to their values before "
                    f"this step. Try a smaller learning_rate than {rate}."
                )
        return value

    # --8<-- [end:step]

    def save(self, path: str | PathLike[str]) -> None:
        """Write the architecture and parameters to one ``.npz`` file, atomically.

        See [`save_layers`][dense.serialize.save_layers] for the format and guarantees.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write, exactly as named (no suffix is added).

        Raises
        ------
        TypeError
            If a layer has a custom activation (only the built-in ones can be
            rebuilt without running arbitrary code); nothing is written.
        OSError
            If the file cannot be written; an existing file is left intact.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import numpy as np
        >>> from dense import Dense, LeakyReLU, Sequential
        >>> model = Sequential([Dense(3, 4, LeakyReLU(0.2), rng=0), Dense(4, 2, rng=1)])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = pathlib.Path(folder) / "model.npz"
        ...     model.save(path)
        ...     copy = Sequential.load(path)
        >>> x = np.ones((2, 3))
        >>> bool(np.array_equal(copy.predict(x), model.predict(x)))
        True
        """
        serialize.save_layers(self.layers, path)

    @classmethod
    def load(cls, path: str | PathLike[str]) -> Sequential:
        """Rebuild a model written by ``save``.

        See [`load_layers`][dense.serialize.load_layers] for what is checked.

        Parameters
        ----------
        path : str or os.PathLike
            A file written by ``save``.

        Returns
        -------
        Sequential
            A new model whose predictions equal the saved model's.

        Raises
        ------
        ValueError
            If the file is not a ``dense`` model, is truncated or corrupt,
            holds pickled objects, or its arrays disagree with its
            architecture.
        FileNotFoundError
            If there is no such file.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from dense import Dense, Sequential
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = pathlib.Path(folder) / "model.npz"
        ...     Sequential([Dense(2, 1, rng=0)]).save(path)
        ...     Sequential.load(path).layers
        (Dense(2, 1),)
        """
        return cls(serialize.load_layers(path))

    def __repr__(self) -> str:
        rows = [("#", "Layer", "Output shape", "Parameters")]
        for k, layer in enumerate(self.layers):
            count = layer.weights.size + layer.biases.size
            rows.append((str(k), repr(layer), f"(batch, {layer.output_size})", f"{count:,}"))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = ["Sequential"]
        for row in rows:
            left = "  ".join(row[i].ljust(widths[i]) for i in range(3))
            lines.append(f"  {left}  {row[3].rjust(widths[3])}")
        lines.append(f"Total parameters: {self.n_parameters:,}")
        return "\n".join(lines)

    def _checked_data(self, x: object, y: object, loss: object) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(loss, type):  # its methods exist, but need an instance
            raise TypeError(
                f"loss must be an instance such as {loss.__name__}(), got the class {loss.__name__}"
            )
        for method in ("forward", "backward"):
            if not callable(getattr(loss, method, None)):
                raise TypeError(
                    f"loss must have forward(prediction, target) and backward() methods, "
                    f"got {loss!r} of type {type(loss).__name__}"
                )
        x = check.matrix("x", x, columns=self.input_size)
        y = check.real_array("y", y)
        if x.shape[0] == 0:
            raise ValueError("x must hold at least one sample, got shape (0, ...)")
        if y.ndim == 0 or y.shape[0] != x.shape[0]:
            raise ValueError(
                f"x and y must have the same number of samples, got {x.shape[0]} inputs "
                f"and {y.shape[0] if y.ndim else 0} targets (y has shape {y.shape})"
            )
        if not np.all(np.isfinite(x)):
            raise ValueError("x holds NaN or infinite values")
        if not np.all(np.isfinite(y)):
            raise ValueError("y holds NaN or infinite values")
        if isinstance(loss, SoftmaxCrossEntropy):
            _check_class_targets(y, self.output_size)
        elif isinstance(loss, MSE):
            _check_regression_targets(y, self.output_size)
        return x, y


def _check_class_targets(y: np.ndarray, classes: int) -> None:
    if classes < 2:
        raise ValueError(
            f"SoftmaxCrossEntropy needs at least 2 classes, but the last layer has {classes} "
            "output: the loss of one class is always 0, so nothing would be learned; "
            "give the last layer one output per class"
        )
    if y.ndim == 1:
        if y.dtype.kind not in "iu":
            raise TypeError(
                f"y must hold integer class labels for SoftmaxCrossEntropy, got dtype {y.dtype}"
            )
        if y.min() < 0 or y.max() >= classes:
            bad = int(y.max()) if y.max() >= classes else int(y.min())
            raise ValueError(
                f"y holds the label {bad}, but the last layer has {classes} outputs, so "
                f"labels must lie in [0, {classes}); give the last layer one output per class"
            )
        return
    if y.ndim == 2 and y.shape[1] == 1 and y.dtype.kind in "iu":
        raise ValueError(
            f"y holds integer labels of shape {y.shape}; labels must have shape (n,), "
            "one per sample: use y.ravel()"
        )
    if y.ndim != 2 or y.shape[1] != classes:
        raise ValueError(
            f"y must be labels (n,) or probability rows (n, {classes}) for a last layer "
            f"with {classes} outputs, got shape {y.shape}"
        )
    _as_probabilities(y, y.shape, np.dtype(np.float64))  # rows non-negative, summing to 1


def _check_regression_targets(y: np.ndarray, width: int) -> None:
    if y.ndim != 2 or y.shape[1] != width:
        hint = "; use y.reshape(-1, 1) for one output" if y.ndim == 1 and width == 1 else ""
        raise ValueError(
            f"y must have shape (n, {width}) to match the last layer's {width} outputs "
            f"for MSE, got shape {y.shape}{hint}"
        )


def _show_progress(progress: object) -> bool:
    if progress is None:
        stream = sys.stderr
        return stream is not None and hasattr(stream, "isatty") and stream.isatty()
    if not isinstance(progress, bool | np.bool_):
        raise TypeError(f"progress must be True, False or None, got {progress!r}")
    return bool(progress)
