"""Command line: run the benchmark suite, write the results file, print its report.

Usage, from the repository root::

    python -m benchmarks [--quick] [--threads N] [--repeats N] [--output PATH] [--no-torch]

This module measures and writes; :mod:`benchmarks.report` turns a results file into the
tables the command prints (``python -m benchmarks.report PATH`` prints them again).
Progress goes to stderr, the report to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import os
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks import machine, report, results
from benchmarks.layer_step import SHAPES, SHAPES_QUICK, LayerCase, measure, torch_or_reason
from benchmarks.memory import measure_memory
from benchmarks.training import EPOCHS, measure_training

__all__ = ["main", "run"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time dense's layer step against the three matrix products it needs and "
        "against PyTorch, train the digits MLP against scikit-learn and PyTorch, and measure "
        "the peak memory of a step.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small shapes, few repetitions, 3 epochs: proves the suite works in seconds",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="BLAS and PyTorch threads (default: NumPy's BLAS default, given to PyTorch too); "
        "1 gives the steadiest ratios",
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="interleaved rounds (default 41, quick 3)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="results file (default benchmarks/results/latest.json, quick: quick.json)",
    )
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    return parser


def run(
    *,
    quick: bool,
    threads: int | None,
    repeats: int | None,
    use_torch: bool = True,
    progress: bool = True,
) -> dict:
    """Run every benchmark and return the results as a JSON-ready dict.

    Parameters
    ----------
    quick : bool
        The small version: three shapes, short samples, 3 training epochs.
    threads : int or None
        Thread count for BLAS and PyTorch; ``None`` keeps NumPy's BLAS default
        and gives PyTorch the same number.
    repeats : int or None
        Interleaved rounds; ``None`` picks 41 (quick: 3).
    use_torch : bool, default True
        Compare with PyTorch when it is importable.
    progress : bool, default True
        Show a progress bar on stderr.

    Returns
    -------
    dict
        ``machine``, ``date``, ``load_average_before``/``_after``, ``layer_step``,
        ``training`` and ``memory``.
    """
    repeats = repeats if repeats is not None else (3 if quick else 41)
    if repeats < 1:
        raise ValueError(f"--repeats must be at least 1, got {repeats}")
    torch = torch_or_reason() if use_torch else "skipped: --no-torch"
    torch_status = torch if isinstance(torch, str) else f"ok: torch {torch.__version__}"
    torch = None if isinstance(torch, str) else torch

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threads is None:
        blas = [pool for pool in machine.blas_info() if pool["user_api"] == "blas"]
        threads = blas[0]["num_threads"] if blas else os.cpu_count() or 1
    elif threadpool_limits is None:
        raise RuntimeError("--threads needs threadpoolctl: pip install -e '.[bench]'")

    _import_everything()
    # Move everything imported so far out of the collector's sight: later collections
    # (between benchmarks) then only scan the few objects the benchmarks create.
    gc.collect()
    gc.freeze()
    started = time.perf_counter()
    load_before = machine.load_average()
    sample_seconds = 0.002 if quick else 0.005
    cases = [
        LayerCase(*shape, dtype, relu)
        for shape in (SHAPES_QUICK if quick else SHAPES)
        for dtype in ("float64", "float32")
        for relu in (False, True)
    ]
    # A 1x1x1 layer: the products cost next to nothing, so what remains is the fixed
    # cost of one step's Python and library calls.
    fixed_cases = [LayerCase(1, 1, 1, "float64", relu) for relu in (False, True)]
    limiter = threadpool_limits(limits=threads) if threadpool_limits else contextlib.nullcontext()
    bar = tqdm(
        total=len(cases) + len(fixed_cases) + 2,
        desc="benchmarks",
        unit="part",
        file=sys.stderr,
        disable=not progress,
    )
    with limiter, bar:
        if torch is not None:
            torch.set_num_threads(threads)
        rng = np.random.default_rng(20240605)

        def timed(case: LayerCase, budget: float) -> dict:
            bar.set_postfix_str(f"layer step {case.batch}x{case.inputs}x{case.outputs}")
            row = measure(
                case,
                rng=rng,
                repeats=repeats,
                # Short samples: more rounds in the same time, and a sample is less
                # likely to straddle a time slice given to another process.
                sample_seconds=sample_seconds,
                budget_seconds=budget,
                torch=torch,
            )
            bar.update()
            return row

        steps = [timed(case, 1.0 if quick else 30.0) for case in cases]
        fixed = [timed(case, 0.5 if quick else 5.0) for case in fixed_cases]
        bar.set_postfix_str("digits training")
        training = measure_training(
            repeats=max(1, repeats // 3) if quick else 7,
            epochs=3 if quick else EPOCHS,
            torch=torch,
        )
        bar.update()
        bar.set_postfix_str("memory")
        memory = [
            measure_memory(LayerCase(*shape, "float64", relu), rng)
            for shape in SHAPES_QUICK
            for relu in (False, True)
        ]
        bar.update()
        described = machine.describe()  # inside the limits: records the thread counts used
    gc.unfreeze()
    return {
        "schema": results.SCHEMA,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "threads": threads,
        "repeats": repeats,
        "command": "python -m benchmarks " + " ".join(sys.argv[1:]),
        "seconds_total": round(time.perf_counter() - started, 1),
        "load_average_before": load_before,
        "load_average_after": machine.load_average(),
        "machine": described,
        "layer_step": {"torch": torch_status, "rows": steps, "fixed_cost": fixed},
        "training": training,
        "memory": {"rows": memory},
    }


def _import_everything() -> None:
    """Load every library that brings a thread pool before the limits are set.

    threadpoolctl limits the pools loaded when the limit starts; scikit-learn pulls
    in SciPy's own OpenBLAS and an OpenMP runtime, which would otherwise keep their
    default thread counts.
    """
    with contextlib.suppress(ImportError):
        import sklearn.datasets
        import sklearn.model_selection
        import sklearn.neural_network  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks``; returns the exit status."""
    args = _parser().parse_args(argv)
    output = args.output or (results.QUICK if args.quick else results.LATEST)
    measured = run(
        quick=args.quick, threads=args.threads, repeats=args.repeats, use_torch=not args.no_torch
    )
    results.write(measured, output)
    print(report.format_report(measured))
    print(f"\nwrote {output}")
    return 0
