"""Training throughput: a small MLP on scikit-learn's digits, three ways.

The model is 64 → 64 (ReLU) → 10 with softmax cross-entropy, trained by plain
minibatch SGD (batch 32, constant learning rate, no momentum, no weight decay)
for a fixed number of epochs. The same algorithm runs in

* ``dense``: :meth:`dense.Sequential.fit`,
* scikit-learn: ``MLPClassifier(solver="sgd", momentum=0, alpha=0)``. We use
  ``sgd`` rather than the default ``adam`` because it is the algorithm the other
  two run: the same number of updates of the same kind, so the clock compares
  implementations, not optimizers. Early stopping is off, so every run does all
  the epochs;
* PyTorch: the loop a PyTorch user would write (``nn.Sequential``,
  ``nn.CrossEntropyLoss``, ``optim.SGD``), same dtype, same initial weights as
  ``dense``, same shuffling.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np

import dense
from benchmarks.timing import paired_ratio

__all__ = ["EPOCHS", "measure_training"]

EPOCHS = 30
BATCH_SIZE = 32
HIDDEN = 64
LEARNING_RATE = 0.1


def _digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = x / 16.0  # pixels are 0..16
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)
    return x_train, x_test, y_train, y_test


def _dense_model(seed: int):
    rng = np.random.default_rng(seed)
    return dense.Sequential(
        [
            dense.Dense(64, HIDDEN, dense.ReLU(), init="he", rng=rng),
            dense.Dense(HIDDEN, 10, init="xavier", rng=rng),
        ]
    )


def _run_dense(data, epochs: int, seed: int) -> tuple[float, float]:
    x_train, x_test, y_train, y_test = data
    model = _dense_model(seed)
    start = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        dense.SoftmaxCrossEntropy(),
        epochs=epochs,
        batch_size=BATCH_SIZE,
        learning_rate=LEARNING_RATE,
        shuffle=True,
        rng=seed,
        progress=False,
    )
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(model.predict(x_test).argmax(axis=1) == y_test))
    return seconds, accuracy


def _run_sklearn(data, epochs: int, seed: int) -> tuple[float, float]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    x_train, x_test, y_train, y_test = data
    model = MLPClassifier(
        hidden_layer_sizes=(HIDDEN,),
        activation="relu",
        solver="sgd",
        learning_rate="constant",
        learning_rate_init=LEARNING_RATE,
        momentum=0.0,
        nesterovs_momentum=False,
        alpha=0.0,
        batch_size=BATCH_SIZE,
        max_iter=epochs,
        shuffle=True,
        early_stopping=False,
        tol=0.0,
        n_iter_no_change=epochs + 1,  # never stop before max_iter epochs
        random_state=seed,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Reaching max_iter is the point here, not a problem worth a warning.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    seconds = time.perf_counter() - start
    return seconds, float(model.score(x_test, y_test))


def _run_torch(torch, data, epochs: int, seed: int) -> tuple[float, float]:
    x_train, x_test, y_train, y_test = data
    reference = _dense_model(seed)  # start from dense's initial weights
    layers = []
    for layer in reference.layers:
        linear = torch.nn.Linear(layer.input_size, layer.output_size, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.weights.T.copy()))
            linear.bias.copy_(torch.from_numpy(layer.biases.ravel()))
        layers.append(linear)
    model = torch.nn.Sequential(layers[0], torch.nn.ReLU(), layers[1])
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_fn = torch.nn.CrossEntropyLoss()
    x_t, y_t = torch.from_numpy(x_train), torch.from_numpy(y_train.astype(np.int64))
    generator = np.random.default_rng(seed)
    n = len(x_train)

    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.from_numpy(generator.permutation(n))
        total = 0.0
        for first in range(0, n, BATCH_SIZE):
            rows = order[first : first + BATCH_SIZE]
            optimizer.zero_grad()
            loss = loss_fn(model(x_t[rows]), y_t[rows])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)  # the epoch's mean loss, as fit() returns
    seconds = time.perf_counter() - start
    with torch.no_grad():
        predicted = model(torch.from_numpy(x_test)).argmax(dim=1).numpy()
    return seconds, float(np.mean(predicted == y_test))


def measure_training(*, repeats: int, epochs: int = EPOCHS, torch=None) -> dict:
    """Train the digits MLP ``repeats`` times per library, interleaved.

    Parameters
    ----------
    repeats : int
        Rounds; each trains every library once, in a rotating order.
    epochs : int, default 30
        Passes over the training set.
    torch : module, optional
        PyTorch, or ``None`` to leave it out.

    Returns
    -------
    dict
        ``status`` (``"ok"`` or ``"skipped: ..."``), the setup, and one row per
        library: median seconds, median test accuracy (over the rounds' seeds)
        and the paired ratio of dense's time to that library's.
    """
    setup = {
        "dataset": "sklearn.datasets.load_digits, pixels/16, "
        "train_test_split(test_size=0.25, random_state=0)",
        "model": f"64 -> {HIDDEN} (ReLU) -> 10, softmax cross-entropy",
        "optimizer": f"SGD, learning rate {LEARNING_RATE}, no momentum, no weight decay",
        "batch_size": BATCH_SIZE,
        "epochs": epochs,
        "sklearn_solver": "sgd",
    }
    if not hasattr(dense, "Sequential"):
        return {"status": "skipped: dense.Sequential is not available yet", **setup, "rows": []}
    try:
        data = _digits()
    except ImportError as error:
        return {"status": f"skipped: scikit-learn is not installed ({error})", **setup, "rows": []}
    setup["train_samples"], setup["test_samples"] = len(data[0]), len(data[1])
    runners: dict[str, Callable[[int], tuple[float, float]]] = {
        "dense": lambda seed: _run_dense(data, epochs, seed),
        "scikit-learn": lambda seed: _run_sklearn(data, epochs, seed),
    }
    if torch is not None:
        runners["torch"] = lambda seed: _run_torch(torch, data, epochs, seed)
    names = list(runners)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    accuracy: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm-up: imports, first-call costs, thread pools
        runners[name](0)
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            # A new seed per round (initial weights, batch order): the median accuracy
            # then speaks for the method rather than for one lucky or unlucky draw.
            s, a = runners[name](round_)
            seconds[name].append(s)
            accuracy[name].append(a)
    rows = [
        {
            "library": name,
            "seconds": float(np.median(seconds[name])),
            "accuracy": float(np.median(accuracy[name])),
            "dense_over_this": paired_ratio(seconds["dense"], seconds[name]),
        }
        for name in names
    ]
    return {"status": "ok", **setup, "rounds": repeats, "rows": rows}
