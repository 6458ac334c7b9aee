r"""Loss functions: the scalar L whose gradient starts backpropagation.

A loss has ``forward(prediction, target) -> float`` and ``backward()``, which returns
\( \partial L/\partial\,\text{prediction} \), the ``d_output`` of the last layer's
``backward``. The built-in losses also have ``check_target(target, shape)``, which their
``forward`` uses and ``Sequential.fit`` calls on all targets before the first step.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from dense import _validation as check

__all__ = ["MSE", "Loss", "SoftmaxCrossEntropy"]


@runtime_checkable
class Loss(Protocol):
    """What Sequential.fit needs from a loss: forward(prediction, target) and backward().

    A loss may also have ``check_target(target, shape)``, as the built-in ones do: ``fit``
    then calls it once on all targets, with ``shape = (n_samples, output_size)``.

    Examples
    --------
    >>> from dense import MSE, Loss
    >>> isinstance(MSE(), Loss)
    True
    """

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        """Return the loss of a batch of predictions against their targets."""
        ...

    def backward(self) -> np.ndarray:
        """Return dL/dprediction for the last forward, shaped like the prediction."""
        ...


def _as_prediction(prediction: object) -> np.ndarray:
    p = check.float_array("prediction", prediction)
    if p.size == 0:
        raise ValueError(f"prediction must not be empty, got shape {p.shape}")
    return p


class MSE:
    r"""Mean squared error over all elements, as torch.nn.MSELoss computes it.

    For a prediction \( a \) and target \( y \) of shape \( (B, n_\text{out}) \),
    \( L = \frac{1}{B\,n_\text{out}}\sum_{s,j}(a_{sj} - y_{sj})^2 \) and
    \( \partial L/\partial a = \frac{2}{B\,n_\text{out}}(a - y) \).

    Examples
    --------
    >>> import numpy as np
    >>> mse = MSE()
    >>> mse.forward(np.array([[1.0, 2.0]]), np.array([[1.0, 4.0]]))
    2.0
    >>> mse.backward()
    array([[ 0., -2.]])
    """

    def __init__(self) -> None:
        self._residual: np.ndarray | None = None

    def check_target(self, target: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """Return target as an array if it fits a prediction of this shape, else raise.

        Parameters
        ----------
        target : array_like, shape (batch, output_size)
            Real values, finite, exactly of the prediction's shape (a ``(batch,)`` target
            would broadcast against a ``(batch, 1)`` prediction into a wrong loss).
        shape : tuple of int
            The prediction's shape.

        Returns
        -------
        numpy.ndarray
            The target, not copied.

        Raises
        ------
        TypeError, ValueError
            If ``target`` is not real, has another shape, or holds NaN, infinity or masked
            entries.
        """
        y = check.real_array("target", target)
        if y.shape != tuple(shape):
            hint = "; use target.reshape(-1, 1)" if y.ndim == 1 and shape[1:] == (1,) else ""
            raise ValueError(
                f"target must have the shape of the prediction, {tuple(shape)}, "
                f"got shape {y.shape}{hint}"
            )
        return check.finite("target", y)

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        r"""Return the mean of (prediction - target)**2 over all elements.

        Parameters
        ----------
        prediction : array_like, shape (batch, output_size)
            The network's output \( a \), not empty.
        target : array_like, shape (batch, output_size)
            The wanted values \( y \), as ``check_target`` accepts them.

        Returns
        -------
        float
            The loss \( L \).
        """
        a = _as_prediction(prediction)
        y = self.check_target(target, a.shape)
        self._residual = a - y.astype(a.dtype, copy=False)
        return float(np.mean(self._residual**2))

    def backward(self) -> np.ndarray:
        """Return dL/da = 2 (a - y) / (batch * output_size); RuntimeError before forward."""
        residual = check.cached(self, self._residual, "backward")
        return residual * (2 / residual.size)

    def __repr__(self) -> str:
        return "MSE()"


class SoftmaxCrossEntropy:
    r"""Softmax followed by cross-entropy, from logits, averaged over the batch.

    For logits \( z \) of shape \( (B, C) \), \( p = \operatorname{softmax}(z) \) row by row
    and one-hot (or probability) rows \( y \),
    \( L = -\frac{1}{B}\sum_s\sum_k y_{sk}\log p_{sk} \), and the gradient collapses to
    \( \partial L/\partial z = (p - y)/B \). The log-softmax is computed as
    \( z_{sk} - \log\sum_j e^{z_{sj}} \) with the row maximum subtracted first, so logits of
    size ``1e4`` stay finite.

    Examples
    --------
    >>> import numpy as np
    >>> loss = SoftmaxCrossEntropy()
    >>> round(loss.forward(np.array([[0.0, 0.0]]), np.array([1])), 6)
    0.693147
    >>> loss.backward()
    array([[ 0.5, -0.5]])
    """

    def __init__(self) -> None:
        self._gradient: np.ndarray | None = None

    def check_target(self, target: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """Return target as an array if it fits logits of this shape, else raise.

        Parameters
        ----------
        target : array_like, shape (batch,) or (batch, classes)
            Integer class labels in ``[0, classes)``, or one probability row per sample
            (one-hot or soft): non-negative, summing to 1.
        shape : tuple of int
            The logits' shape ``(batch, classes)``, at least 2 classes.

        Returns
        -------
        numpy.ndarray
            The target, not copied.

        Raises
        ------
        TypeError, ValueError
            If 1-D labels are not integers or out of range, rows are negative or do not
            sum to 1, the shape does not fit, or there are fewer than 2 classes.
        """
        batch, classes = shape
        if classes < 2:
            # The softmax of a single logit is 1, so the loss and its gradient would be 0
            # whatever the model does: training would run and learn nothing.
            raise ValueError(
                f"SoftmaxCrossEntropy needs at least 2 classes (prediction columns), got "
                f"{classes}; give the last layer one output per class"
            )
        y = check.real_array("target", target)
        if y.ndim == 1:
            return _labels(y, batch, classes)
        if y.shape == (batch, 1) and y.dtype.kind in "iu":
            raise ValueError(
                f"target labels must have shape ({batch},), one label per sample, got shape "
                f"{y.shape}; use target.ravel()"
            )
        y = check.same_shape("target", y, (batch, classes), "the prediction (batch, classes)")
        if (y < 0).any():
            raise ValueError("target probabilities must be non-negative")
        sums = y.sum(axis=1)
        wrong = ~np.isclose(sums, 1.0, atol=1e-6 if y.dtype == np.float64 else 1e-4)
        if wrong.any():
            row = int(np.argmax(wrong))
            raise ValueError(f"target rows must sum to 1, row {row} sums to {sums[row]}")
        return y

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        r"""Return the mean cross-entropy of the softmax of prediction against target.

        Parameters
        ----------
        prediction : array_like, shape (batch, classes)
            Logits \( z \), any real numbers.
        target : array_like, shape (batch,) or (batch, classes)
            Labels or probability rows, as ``check_target`` accepts them.

        Returns
        -------
        float
            The loss \( L \).
        """
        z = check.matrix("prediction", _as_prediction(prediction))
        y = self.check_target(target, z.shape)
        if y.ndim == 1:  # labels c_s become one-hot rows, y_sk = [k = c_s]
            one_hot = np.zeros(z.shape, dtype=z.dtype)
            one_hot[np.arange(len(y)), y] = 1
            y = one_hot
        y = y.astype(z.dtype, copy=False)
        shifted = z - z.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        batch = z.shape[0]
        self._gradient = (np.exp(log_p) - y) / batch
        return float(-np.sum(y * log_p) / batch)

    def backward(self) -> np.ndarray:
        """Return dL/dz = (p - y) / batch, shape (batch, classes); RuntimeError before forward."""
        return check.cached(self, self._gradient, "backward").copy()

    def __repr__(self) -> str:
        return "SoftmaxCrossEntropy()"


def _labels(y: np.ndarray, batch: int, classes: int) -> np.ndarray:
    if y.dtype.kind not in "iu":
        raise TypeError(f"1-D target must hold integer class labels, got dtype {y.dtype}")
    if y.shape != (batch,):
        raise ValueError(f"target labels must have shape ({batch},), got shape {y.shape}")
    bad = (y < 0) | (y >= classes)
    if bad.any():
        raise ValueError(
            f"target labels must lie in [0, {classes}) for {classes} classes, "
            f"got {y[bad][0]} at position {int(np.argmax(bad))}"
        )
    return y
