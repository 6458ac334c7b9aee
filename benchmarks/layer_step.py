r"""One training step of one layer against the three matrix products it cannot avoid.

A step of :class:`dense.Dense` is ``forward`` followed by ``backward`` with an SGD
update. Its cost is dominated by three matrix products (GEMMs):

* forward, \( z = xW \): ``(B, in) @ (in, out)``,
* backward, \( \partial L/\partial x = \delta W^\top \): ``(B, out) @ (out, in)``,
* backward, \( \partial L/\partial W = x^\top \delta \): ``(in, B) @ (B, out)``,

each of ``2·B·in·out`` floating-point operations. The *limit* variant runs just
those three products into preallocated outputs; no implementation of the step
can do less work, so ``step / limit`` measures everything the layer adds (bias,
activation, checks, the update, allocations, Python).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmarks.timing import calibrate, interleaved, paired_ratio
from dense import Dense, ReLU

__all__ = [
    "PART_NAMES",
    "SHAPES",
    "SHAPES_QUICK",
    "LayerCase",
    "gemm_flops",
    "measure",
    "torch_or_reason",
]

# (batch, input_size, output_size)
SHAPES_QUICK: tuple[tuple[int, int, int], ...] = ((32, 784, 128), (64, 256, 256), (256, 1024, 1024))
SHAPES: tuple[tuple[int, int, int], ...] = (*SHAPES_QUICK, (1024, 2048, 2048))

# The operations of a step besides the three products, in the order the step runs them.
PART_NAMES = (
    "argument checks",
    "bias add",
    "ReLU forward",
    "ReLU backward",
    "bias gradient",
    "SGD update",
)

# Small enough that the weights drift slowly over thousands of timed steps (the
# values never overflow or turn subnormal), large enough that the update is real work.
LEARNING_RATE = 1e-3


def gemm_flops(batch: int, inputs: int, outputs: int) -> int:
    """Floating-point operations of the three GEMMs of one step: ``3 · 2·B·in·out``.

    Each output element of a product of ``(m, k)`` and ``(k, n)`` matrices takes
    ``k`` multiplications and ``k`` additions (counting the first addition to
    zero, as is conventional), so one product costs ``2·m·k·n``.

    Examples
    --------
    >>> gemm_flops(32, 784, 128)
    19267584
    """
    return 3 * 2 * batch * inputs * outputs


@dataclass(frozen=True)
class LayerCase:
    """One configuration: shape, dtype and whether a ReLU follows the product."""

    batch: int
    inputs: int
    outputs: int
    dtype: str
    relu: bool

    @property
    def flops(self) -> int:
        return gemm_flops(self.batch, self.inputs, self.outputs)

    def data(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Input batch, upstream gradient and initial weights, in the case's dtype."""
        dtype = np.dtype(self.dtype)
        x = rng.standard_normal((self.batch, self.inputs)).astype(dtype)
        d_output = (rng.standard_normal((self.batch, self.outputs)) * 1e-2).astype(dtype)
        weights = (rng.standard_normal((self.inputs, self.outputs)) * 0.1).astype(dtype)
        return x, d_output, weights


def torch_or_reason():
    """Return the ``torch`` module, or a string saying why it cannot be used."""
    try:
        import torch
    except ImportError as error:
        return f"skipped: PyTorch is not installed ({error})"
    return torch


def _dense_step(
    case: LayerCase, x, d_output, weights, learning_rate: float = LEARNING_RATE
) -> tuple[Callable[[], object], Dense]:
    layer = Dense(
        case.inputs,
        case.outputs,
        ReLU() if case.relu else None,
        rng=0,
        dtype=case.dtype,
    )
    layer.weights[...] = weights

    def step() -> None:
        layer.forward(x)
        layer.backward(d_output, learning_rate)

    return step, layer


def _limit(case: LayerCase, x, d_output, weights) -> Callable[[], object]:
    # Everything preallocated: this is the three products and nothing else. delta is
    # the upstream gradient itself (what the step computes with no activation).
    W = weights.copy()
    z = np.empty((case.batch, case.outputs), dtype=case.dtype)
    d_x = np.empty_like(x)
    d_W = np.empty_like(W)
    x_T, W_T = x.T, W.T

    def products() -> None:
        np.matmul(x, W, out=z)
        np.matmul(d_output, W_T, out=d_x)
        np.matmul(x_T, d_output, out=d_W)

    return products


def _torch_step(torch, case: LayerCase, x, d_output, weights):
    dtype = {"float64": torch.float64, "float32": torch.float32}[case.dtype]
    linear = torch.nn.Linear(case.inputs, case.outputs, dtype=dtype)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(weights.T.copy()))  # torch stores W^T
        linear.bias.zero_()
    model = torch.nn.Sequential(linear, torch.nn.ReLU()) if case.relu else linear
    params = list(model.parameters())
    # requires_grad on the input: dense returns dL/dx, so torch must compute it too.
    x_t = torch.from_numpy(x).requires_grad_(True)
    d_t = torch.from_numpy(d_output)

    def step() -> None:
        out = model(x_t)
        out.backward(d_t)
        with torch.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-LEARNING_RATE)
                p.grad = None  # as optimizer.zero_grad(): the next backward allocates anew
        x_t.grad = None

    return step, linear, x_t


def _parts(case: LayerCase, x, d_output, weights) -> dict[str, Callable[[], object]]:
    """The step's operations other than the three products, each on its own.

    Each callable repeats what :class:`dense.Dense` runs, on arrays of the case's
    shapes, so timing them shows where the time between the limit and the step
    goes. (Run separately, each finds its data in cache more often than inside a
    step: their sum is a lower bound of the real overhead.)
    """
    layer = Dense(case.inputs, case.outputs, ReLU() if case.relu else None, rng=0, dtype=case.dtype)
    layer.weights[...] = weights
    layer.forward(x)
    layer.backward(d_output, LEARNING_RATE)  # now d_weights and d_biases exist
    z = x @ weights
    W, b = weights.copy(), layer.biases.copy()
    d_W, d_b = layer.d_weights, layer.d_biases
    relu = ReLU()
    relu.forward(z)

    def update() -> None:
        nonlocal W, b
        W -= LEARNING_RATE * d_W
        b -= LEARNING_RATE * d_b

    parts: dict[str, Callable[[], object]] = {
        "argument checks": lambda: (
            layer._as_input(x),
            layer._as_upstream(d_output, LEARNING_RATE),
        ),
        "bias add": lambda: np.add(z, b, out=z),
    }
    if case.relu:
        parts["ReLU forward"] = lambda: relu.forward(z)
        parts["ReLU backward"] = lambda: relu.backward(d_output)
    parts["bias gradient"] = lambda: d_output.sum(axis=0, keepdims=True)
    parts["SGD update"] = update
    return parts


def _agree(case: LayerCase, torch, rng: np.random.Generator) -> bool:
    """One step of dense and of torch from the same weights give the same numbers.

    Without this a fast but wrong comparison (say, torch skipping dL/dx) would go
    unnoticed.
    """
    x, d_output, weights = case.data(rng)
    _, layer = _dense_step(case, x, d_output, weights)
    _, linear, x_t = _torch_step(torch, case, x, d_output, weights)
    layer.forward(x)
    d_x = layer.backward(d_output, LEARNING_RATE)
    out = linear(x_t)
    out = torch.relu(out) if case.relu else out
    out.backward(torch.from_numpy(d_output))
    with torch.no_grad():
        for p in linear.parameters():
            p.add_(p.grad, alpha=-LEARNING_RATE)
    tol = 1e-4 if case.dtype == "float32" else 1e-10
    return bool(
        np.allclose(x_t.grad.numpy(), d_x, rtol=tol, atol=tol)
        and np.allclose(linear.weight.detach().numpy().T, layer.weights, rtol=tol, atol=tol)
        and np.allclose(linear.bias.detach().numpy(), layer.biases.ravel(), rtol=tol, atol=tol)
    )


def measure(
    case: LayerCase,
    *,
    rng: np.random.Generator,
    repeats: int,
    sample_seconds: float,
    budget_seconds: float,
    torch=None,
) -> dict:
    """Time the dense step, the limit and (when given) PyTorch for one case.

    Parameters
    ----------
    case : LayerCase
        The configuration.
    rng : numpy.random.Generator
        Source of the data.
    repeats : int
        Wanted number of interleaved rounds (fewer, but at least 5, when one round
        would blow ``budget_seconds``).
    sample_seconds : float
        Target duration of one timed sample.
    budget_seconds : float
        Rough time allowed for the whole case.
    torch : module, optional
        PyTorch, or ``None`` to leave it out.

    Returns
    -------
    dict
        The case, per-call median seconds of each variant, achieved GFLOP/s and
        the ratios ``step_over_limit`` and ``step_over_torch`` (medians of
        within-round ratios), plus the same ratios of the fastest samples
        (``*_min``); ``update_in_step_over_limit``, the cost of the SGD update
        inside the step (step minus the same step with ``learning_rate=0``) over
        the limit; and ``parts``: median seconds of each operation of the step
        other than the products, timed on its own.
    """
    x, d_output, weights = case.data(rng)
    step, _ = _dense_step(case, x, d_output, weights)
    variants: dict[str, Callable[[], object]] = {
        "dense": step,
        "limit": _limit(case, x, d_output, weights),
        # learning_rate=0 skips the update (documented): the difference to "dense" is
        # what the update costs inside a real step, caches and all.
        "dense_no_update": _dense_step(case, x, d_output, weights, 0.0)[0],
    }
    agrees = None
    if torch is not None:
        variants["torch"] = _torch_step(torch, case, x, d_output, weights)[0]
        agrees = _agree(case, torch, rng)
    inner = calibrate(variants["limit"], sample_seconds)
    one_round = sum(inner * _once(fn) for fn in variants.values())
    rounds = max(min(repeats, 5), min(repeats, int(budget_seconds / max(one_round, 1e-9))))
    samples = interleaved(variants, repeats=rounds, inner=inner)
    median = {name: float(np.median(times)) for name, times in samples.items()}
    # The fastest sample is the one least disturbed by other processes: a second
    # opinion when the machine was busy (the medians are the reported numbers).
    fastest = {name: float(np.min(times)) for name, times in samples.items()}
    row = {
        "batch": case.batch,
        "inputs": case.inputs,
        "outputs": case.outputs,
        "dtype": case.dtype,
        "activation": "relu" if case.relu else "none",
        "flops": case.flops,
        "rounds": rounds,
        "calls_per_sample": inner,
        "seconds": median,
        "seconds_min": fastest,
        "gflops": {name: case.flops / seconds / 1e9 for name, seconds in median.items()},
        "step_over_limit": paired_ratio(samples["dense"], samples["limit"]),
        "step_over_torch": None,
        "step_over_limit_min": fastest["dense"] / fastest["limit"],
        "step_over_torch_min": None,
        "torch_agrees": agrees,
    }
    if "torch" in samples:
        row["step_over_torch"] = paired_ratio(samples["dense"], samples["torch"])
        row["step_over_torch_min"] = fastest["dense"] / fastest["torch"]
    row["update_in_step_over_limit"] = statistics.median(
        (with_update - without) / limit
        for with_update, without, limit in zip(
            samples["dense"], samples["dense_no_update"], samples["limit"], strict=True
        )
    )
    row["parts"] = {}
    parts = _parts(case, x, d_output, weights)
    assert set(parts) <= set(PART_NAMES)
    for name, fn in parts.items():
        calls = calibrate(fn, sample_seconds / 4)
        timed = interleaved({name: fn}, repeats=min(rounds, 15), inner=calls)
        row["parts"][name] = float(np.median(timed[name]))
    return row


def _once(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
