"""Interleaved timing: every variant is measured in every round, side by side.

Timing one variant for a minute and then the next would charge whatever else the
machine did during that minute (another build, a frequency change) to one variant
only. Here each round times every variant once, in an order that rotates from
round to round, and a ratio is taken *within* a round before the median across
rounds, so slow drifts of the machine cancel out of the ratios.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping

__all__ = ["calibrate", "interleaved", "paired_ratio"]


def calibrate(fn: Callable[[], object], target_seconds: float) -> int:
    """Return how many calls of ``fn`` take about ``target_seconds`` (at least 1).

    A single call of a small layer step lasts tens of microseconds, close to the
    timer's own overhead and jitter, so each timed sample repeats the call
    ``inner`` times and reports the mean.

    Parameters
    ----------
    fn : callable
        The work to time, called without arguments.
    target_seconds : float
        The wanted duration of one sample.

    Returns
    -------
    int
        The number of calls per sample.
    """
    fn()  # the first call may allocate, fault pages in or start threads: do not time it
    calls, elapsed = 1, 0.0
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= target_seconds / 4 or calls >= 1 << 20:
            break
        calls *= 4
    return max(1, round(calls * target_seconds / max(elapsed, 1e-9)))


def interleaved(
    variants: Mapping[str, Callable[[], object]],
    *,
    repeats: int,
    inner: int,
    warmup: int = 2,
) -> dict[str, list[float]]:
    """Time each variant ``repeats`` times, interleaved, ``inner`` calls per sample.

    Parameters
    ----------
    variants : mapping of str to callable
        The competing pieces of work, each called without arguments.
    repeats : int
        Number of rounds; every round gives one sample of every variant.
    inner : int
        Calls per sample (see :func:`calibrate`).
    warmup : int, default 2
        Untimed rounds first, so caches, page tables and thread pools are warm.

    Returns
    -------
    dict of str to list of float
        Seconds per call, one entry per round, in round order for every
        variant (so ``samples[a][r]`` and ``samples[b][r]`` are neighbours in
        time).
    """
    names = list(variants)
    samples: dict[str, list[float]] = {name: [] for name in names}
    # The collector could run inside one variant's sample and not another's. (No
    # gc.collect() here: with PyTorch loaded one takes ~0.15 s; run() collects and
    # freezes the imported objects once instead.)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for round_ in range(warmup + repeats):
            # Rotate the order so no variant always runs right after the same other one.
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                fn = variants[name]
                start = time.perf_counter()
                for _ in range(inner):
                    fn()
                seconds = (time.perf_counter() - start) / inner
                if round_ >= warmup:
                    samples[name].append(seconds)
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples


def paired_ratio(numerator: list[float], denominator: list[float]) -> float:
    """Median over rounds of ``numerator[r] / denominator[r]``.

    Examples
    --------
    >>> paired_ratio([2.0, 3.0, 100.0], [1.0, 1.0, 10.0])
    3.0
    """
    if len(numerator) != len(denominator) or not numerator:
        raise ValueError("need the same positive number of samples on both sides")
    return statistics.median(a / b for a, b in zip(numerator, denominator, strict=True))
