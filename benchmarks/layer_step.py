r"""One training step of one layer, against the three matrix products it cannot avoid.

A step of :class:`dense.Dense` is ``forward`` followed by ``backward`` with an SGD
update. Three of its operations are matrix products (GEMMs):

* forward, \( z = xW \): ``(B, in) @ (in, out)``,
* backward, \( \partial L/\partial x = \delta W^\top \): ``(B, out) @ (out, in)``,
* backward, \( \partial L/\partial W = x^\top \delta \): ``(in, B) @ (B, out)``,

each of ``2·B·in·out`` floating-point operations. The *limit* runs just those three
products into arrays allocated once, so ``step / limit`` measures everything else the
step does. The *ladder* accounts for that gap: it adds the step's other operations to the
products one at a time (the products writing new arrays, the bias, the activation, the
update), every rung timed side by side with the others, and the difference between
neighbouring rungs is what one part costs inside a whole step. The last difference, from
the top rung to the real step, is the argument checks and the Python calls.

A median of each part would not add up to the median step: medians of differences do not
add. So the parts are means over the *typical* rounds, those whose step / limit lies between
its quartiles (an interquartile mean): within each round the differences add up to that
round's ``step - limit`` exactly, so over the same rounds their means do too, and the rounds
a busy moment slowed are left out of every part alike.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmarks.timing import calibrate, interleaved, paired_ratio
from dense import Dense, ReLU
from dense.layer import _descend

try:
    import resource
except ImportError:  # Windows: no page-fault counts
    resource = None

__all__ = [
    "LEARNING_RATE",
    "PARTS",
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

# The rungs of the ladder, bottom to top; each adds one part of the step to the one below.
RUNGS = ("products", "bias", "activation", "update")
# What each step up the ladder adds, then what the real step adds to the top rung.
PARTS = ("new arrays", "bias", "activation", "update", "checks and calls")

# Rounds even a case whose round outlasts its time budget gets: the typical rounds (see
# above) are then the middle 5.
MIN_ROUNDS = 9

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

    @property
    def rungs(self) -> tuple[str, ...]:
        return RUNGS if self.relu else tuple(rung for rung in RUNGS if rung != "activation")

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


def _dense_step(case: LayerCase, x, d_output, weights) -> tuple[Callable[[], object], Dense]:
    layer = Dense(case.inputs, case.outputs, ReLU() if case.relu else None, rng=0, dtype=case.dtype)
    layer.weights[...] = weights

    def step() -> None:
        layer.forward(x)
        layer.backward(d_output, LEARNING_RATE)

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


def _rung(case: LayerCase, x, d_output, weights, top: str, descend=_descend):
    """The step's arithmetic, as ``Dense`` does it, up to and including rung ``top``.

    ``descend(parameter, gradient, rate)`` is the update. Returns the step and the
    parameters it updates.
    """
    level = RUNGS.index(top)
    bias, relu, update = level >= 1, level >= 2 and case.relu, level >= 3
    W, b = weights.copy(), np.zeros((1, case.outputs), dtype=case.dtype)

    def step() -> tuple[np.ndarray, np.ndarray]:
        z = x @ W
        if bias:
            z += b
        a = np.maximum(z, 0) if relu else z
        delta = d_output * (a > 0) if relu else d_output
        d_x = delta @ W.T
        d_W = x.T @ delta
        if bias:
            d_b = delta.sum(axis=0, keepdims=True)
        if update:
            descend(W, d_W, LEARNING_RATE)
            descend(b, d_b, LEARNING_RATE)
        return a, d_x

    return step, (W, b)


def _naive(parameter: np.ndarray, gradient: np.ndarray, rate: float) -> None:
    parameter -= rate * gradient


def _fused_descend():
    """An SGD update in one pass, BLAS's axpy through SciPy, or None without SciPy.

    NumPy has no fused multiply-subtract: ``W -= rate * dW`` reads and writes memory twice.
    The suite times this one-pass form only to show what that costs; dense does not use it.
    """
    try:
        from scipy.linalg import blas
    except ImportError:
        return None
    axpy = {np.dtype("float64"): blas.daxpy, np.dtype("float32"): blas.saxpy}

    def descend(parameter: np.ndarray, gradient: np.ndarray, rate: float) -> None:
        # axpy writes y = a * x + y into y itself when y is contiguous, as parameters are.
        axpy[parameter.dtype](gradient.ravel(), parameter.ravel(), a=-rate)

    return descend


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


def _torch_products(torch, case: LayerCase, x, d_output, weights) -> Callable[[], object]:
    # PyTorch's limit: the three products of its step, as nn.Linear lays them out (it
    # stores W^T), into tensors allocated once.
    x_t, d_t = torch.from_numpy(x), torch.from_numpy(d_output)
    W_T = torch.from_numpy(weights.T.copy())
    z = torch.empty((case.batch, case.outputs), dtype=x_t.dtype)
    d_x = torch.empty_like(x_t)
    d_W_T = torch.empty_like(W_T)

    def products() -> None:
        torch.matmul(x_t, W_T.T, out=z)
        torch.matmul(d_t, W_T, out=d_x)
        torch.matmul(d_t.T, x_t, out=d_W_T)

    return products


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
    tol = _tolerance(case)
    return bool(
        np.allclose(x_t.grad.numpy(), d_x, rtol=tol, atol=tol)
        and np.allclose(linear.weight.detach().numpy().T, layer.weights, rtol=tol, atol=tol)
        and np.allclose(linear.bias.detach().numpy(), layer.biases.ravel(), rtol=tol, atol=tol)
    )


def _ladder_agrees(case: LayerCase, rng: np.random.Generator) -> bool:
    """The top rung of the ladder computes what a ``Dense`` step computes."""
    x, d_output, weights = case.data(rng)
    _, layer = _dense_step(case, x, d_output, weights)
    rung, parameters = _rung(case, x, d_output, weights, RUNGS[-1])
    output, d_x = layer.forward(x), layer.backward(d_output, LEARNING_RATE)
    rung_output, rung_d_x = rung()
    tol = _tolerance(case)
    pairs = [(output, rung_output), (d_x, rung_d_x)]
    pairs += list(zip((layer.weights, layer.biases), parameters, strict=True))
    return all(np.allclose(a, b, rtol=tol, atol=tol) for a, b in pairs)


def _tolerance(case: LayerCase) -> float:
    return 1e-4 if case.dtype == "float32" else 1e-10


def measure(
    case: LayerCase,
    *,
    rng: np.random.Generator,
    repeats: int,
    sample_seconds: float,
    budget_seconds: float,
    torch=None,
) -> dict:
    """Time the dense step, the limit, the ladder and (when given) PyTorch for one case.

    Parameters
    ----------
    case : LayerCase
        The configuration.
    rng : numpy.random.Generator
        Source of the data.
    repeats : int
        Wanted number of interleaved rounds (fewer, but at least 9, when one round
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
        The case; per-call median seconds of each variant (``limit``, the rungs,
        ``dense``, ``torch`` and ``torch_products``); achieved GFLOP/s; the ratios
        ``step_over_limit`` and ``step_over_torch`` (medians of within-round ratios)
        and the same of the fastest samples (``*_min``); ``parts``, each part of
        :data:`PARTS` as a fraction of the limit (means over the typical rounds of
        within-round differences between neighbouring rungs); ``fused_update``, what
        the update part would be as one fused pass (``None`` without SciPy);
        ``limit_over_torch_products``, NumPy's three products over PyTorch's;
        ``faults_per_step``, page faults of one call of the limit, the step and the
        step with a parameter-sized update temporary.
    """
    x, d_output, weights = case.data(rng)
    variants: dict[str, Callable[[], object]] = {
        "limit": _limit(case, x, d_output, weights),
        **{rung: _rung(case, x, d_output, weights, rung)[0] for rung in case.rungs},
        "dense": _dense_step(case, x, d_output, weights)[0],
    }
    fused = _fused_descend()
    if fused is not None:
        variants["fused_update"] = _rung(case, x, d_output, weights, "update", fused)[0]
    agrees = None
    if torch is not None:
        variants["torch"] = _torch_step(torch, case, x, d_output, weights)[0]
        variants["torch_products"] = _torch_products(torch, case, x, d_output, weights)
        agrees = _agree(case, torch, rng)
    inner = calibrate(variants["limit"], sample_seconds)
    one_round = sum(inner * _once(fn) for fn in variants.values())
    rounds = max(min(repeats, MIN_ROUNDS), min(repeats, int(budget_seconds / max(one_round, 1e-9))))
    samples = interleaved(variants, repeats=rounds, inner=inner)
    median = {name: float(np.median(times)) for name, times in samples.items()}
    # The fastest sample is the one least disturbed by other processes: a second
    # opinion when the machine was busy (the medians are the reported numbers).
    fastest = {name: float(np.min(times)) for name, times in samples.items()}
    typical = _typical_rounds(samples["dense"], samples["limit"])
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
        "step_over_limit_min": fastest["dense"] / fastest["limit"],
        "step_over_torch": None,
        "step_over_torch_min": None,
        "limit_over_torch_products": None,
        "torch_over_torch_products": None,
        "torch_agrees": agrees,
        "ladder_agrees": _ladder_agrees(case, rng),
        "parts": _parts(case, samples, typical),
        "fused_update": None,
        "faults_per_step": {
            "limit": _faults(variants["limit"]),
            "dense": _faults(variants["dense"]),
            # The top rung with the update as NumPy reads it, W -= rate * dW: a temporary
            # as large as W on every step.
            "one_temporary": _faults(_rung(case, x, d_output, weights, "update", _naive)[0]),
        },
    }
    if fused is not None:
        row["fused_update"] = _added(samples, "fused_update", case.rungs[-2], typical)
    if torch is not None:
        row["step_over_torch"] = paired_ratio(samples["dense"], samples["torch"])
        row["step_over_torch_min"] = fastest["dense"] / fastest["torch"]
        row["limit_over_torch_products"] = paired_ratio(samples["limit"], samples["torch_products"])
        row["torch_over_torch_products"] = paired_ratio(samples["torch"], samples["torch_products"])
    return row


def _typical_rounds(step: list[float], limit: list[float]) -> list[int]:
    """The rounds whose step / limit lies between its lower and upper quartile."""
    ratios = [a / b for a, b in zip(step, limit, strict=True)]
    if len(ratios) < 2:  # one round (``--repeats 1``) has no quartiles: it is the typical one
        return list(range(len(ratios)))
    low, _, high = statistics.quantiles(ratios, n=4, method="inclusive")
    return [r for r, ratio in enumerate(ratios) if low <= ratio <= high]


def _parts(case: LayerCase, samples: dict[str, list[float]], rounds: list[int]) -> dict[str, float]:
    """Each part, what one step up the ladder adds, as a fraction of the limit."""
    ladder = ["limit", *case.rungs, "dense"]
    added = [name for name in PARTS if name != "activation" or case.relu]
    return {
        part: _added(samples, above, below, rounds)
        for part, below, above in zip(added, ladder[:-1], ladder[1:], strict=True)
    }


def _added(samples: dict[str, list[float]], upper: str, lower: str, rounds: list[int]) -> float:
    """Mean over ``rounds`` of (upper - lower) / limit, each round's samples side by side."""
    return statistics.fmean(
        (samples[upper][r] - samples[lower][r]) / samples["limit"][r] for r in rounds
    )


def _faults(fn: Callable[[], object], calls: int = 5) -> float | None:
    """Page faults per call of ``fn``: each one is a first touch of memory new to the process."""
    if resource is None:
        return None
    fn()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def _once(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
