r"""Loss functions: the scalar \( L \) whose gradient starts backpropagation.

A loss has ``forward(prediction, target) -> float`` and ``backward()``, which
returns \( \partial L/\partial\,\text{prediction} \), the ``d_output`` that
the last layer's ``backward`` receives.
"""

from __future__ import annotations

import numpy as np

from dense import _validation as check

__all__ = ["MSE", "SoftmaxCrossEntropy"]


def _as_prediction(prediction: object) -> np.ndarray:
    p = check.float_array("prediction", prediction)
    if p.size == 0:
        raise ValueError(f"prediction must not be empty, got shape {p.shape}")
    return p


class MSE:
    r"""Mean squared error over all elements, as ``torch.nn.MSELoss`` computes it.

    \[ L = \frac{1}{N} \sum_{i} (p_i - t_i)^2, \qquad
       \frac{\partial L}{\partial p} = \frac{2}{N}(p - t), \]

    where \( N \) is the number of elements of the prediction \( p \).

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

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        r"""Return \( \frac{1}{N}\sum_i (p_i - t_i)^2 \).

        Parameters
        ----------
        prediction : array_like, shape (batch, outputs)
            The network's output \( p \).
        target : array_like, same shape as prediction
            The wanted values \( t \). Shapes must match exactly: a
            ``(batch,)`` target against a ``(batch, 1)`` prediction would
            broadcast to ``(batch, batch)`` and give a silently wrong loss.

        Returns
        -------
        float
            The loss.

        Raises
        ------
        TypeError
            If an argument does not hold real numbers.
        ValueError
            If the prediction is empty, the shapes differ, or an argument
            has masked entries.
        """
        p = _as_prediction(prediction)
        t = check.same_shape("target", target, p.shape, "the prediction")
        self._residual = p - t.astype(p.dtype, copy=False)
        return float(np.mean(self._residual**2))

    def backward(self) -> np.ndarray:
        r"""Return \( \partial L/\partial p = 2(p - t)/N \), shaped like the prediction.

        Raises
        ------
        RuntimeError
            If ``forward`` has not been called.
        """
        residual = check.cached(self, self._residual, "backward")
        return residual * (2 / residual.size)

    def __repr__(self) -> str:
        return "MSE()"


class SoftmaxCrossEntropy:
    r"""Softmax followed by cross-entropy, averaged over the batch, from logits.

    For logits \( z \) of shape ``(batch, classes)`` and target
    probabilities \( t \) (one-hot rows for integer labels),

    \[ L = -\frac{1}{B}\sum_{n}\sum_{k} t_{nk} \log s_{nk},
       \qquad s_{nk} = \frac{e^{z_{nk}}}{\sum_j e^{z_{nj}}}, \]

    and the gradient collapses to
    \( \partial L/\partial z = (s - t)/B \). Fusing the two steps is both
    simpler and stabler than a ``Softmax`` layer followed by a log: the log
    of the softmax is computed as \( z_{nk} - \log\sum_j e^{z_{nj}} \) with
    the row maximum subtracted first, so logits of size ``1e4`` stay finite.

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

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        r"""Return the mean cross-entropy of the softmax of ``prediction`` against ``target``.

        Parameters
        ----------
        prediction : array_like, shape (batch, classes)
            Logits \( z \), any real numbers.
        target : array_like, shape (batch,) or (batch, classes)
            Either integer class labels in ``[0, classes)``, or one
            probability row per sample (one-hot or soft), each non-negative
            and summing to 1.

        Returns
        -------
        float
            The loss.

        Raises
        ------
        TypeError
            If an argument does not hold real numbers, or 1-D labels are not
            integers.
        ValueError
            If there are fewer than 2 classes, the shapes do not fit, a label
            is out of range, a probability row is negative or does not sum
            to 1, or an argument has masked entries.
        """
        z = check.matrix("prediction", _as_prediction(prediction))
        if z.shape[1] < 2:
            # The softmax of a single logit is 1, so the loss and its gradient would be 0
            # whatever the model does: training would run and learn nothing.
            raise ValueError(
                f"SoftmaxCrossEntropy needs at least 2 classes (prediction columns), got "
                f"{z.shape[1]}; for two classes give the last layer 2 outputs"
            )
        t = _as_probabilities(target, z.shape, z.dtype)
        shifted = z - z.max(axis=1, keepdims=True)
        log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        log_s = shifted - log_sum
        batch = z.shape[0]
        self._gradient = (np.exp(log_s) - t) / batch
        return float(-np.sum(t * log_s) / batch)

    def backward(self) -> np.ndarray:
        r"""Return \( \partial L/\partial z = (s - t)/B \), shape ``(batch, classes)``.

        Raises
        ------
        RuntimeError
            If ``forward`` has not been called.
        """
        return check.cached(self, self._gradient, "backward").copy()

    def __repr__(self) -> str:
        return "SoftmaxCrossEntropy()"


def _as_probabilities(target: object, shape: tuple[int, int], dtype: np.dtype) -> np.ndarray:
    batch, classes = shape
    t = check.real_array("target", target)
    if t.ndim == 1:
        if t.dtype.kind not in "iu":
            raise TypeError(f"1-D target must hold integer class labels, got dtype {t.dtype}")
        if t.shape[0] != batch:
            raise ValueError(f"target labels must have shape ({batch},), got shape {t.shape}")
        bad = (t < 0) | (t >= classes)
        if bad.any():
            raise ValueError(
                f"target labels must lie in [0, {classes}) for {classes} classes, "
                f"got {t[bad][0]} at position {int(np.argmax(bad))}"
            )
        one_hot = np.zeros(shape, dtype=dtype)
        one_hot[np.arange(batch), t] = 1
        return one_hot
    if t.ndim == 2 and t.shape == (batch, 1) and t.dtype.kind in "iu":
        raise ValueError(
            f"target labels must have shape ({batch},), one label per sample, got shape "
            f"{t.shape}; use target.ravel()"
        )
    t = check.same_shape("target", t, shape, "the prediction (batch, classes)")
    t = t.astype(dtype, copy=False)
    if (t < 0).any():
        raise ValueError("target probabilities must be non-negative")
    sums = t.sum(axis=1)
    wrong = ~np.isclose(sums, 1.0, atol=1e-4 if dtype == np.float32 else 1e-6)
    if wrong.any():
        row = int(np.argmax(wrong))
        raise ValueError(f"target rows must sum to 1, row {row} sums to {sums[row]}")
    return t
