"""Command line: run the benchmark suite, print the tables, write the results file.

Usage, from the repository root::

    python -m benchmarks [--quick] [--threads N] [--repeats N] [--output PATH] [--no-torch]

The results file (JSON) holds the machine, the date, every measured row and the
targets of issue 5 with whether each was met. It is written to a temporary file
first and moved into place with :func:`os.replace`, so a reader (the docs build)
never sees half a file.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import machine
from benchmarks.layer_step import (
    PART_NAMES,
    SHAPES,
    SHAPES_QUICK,
    LayerCase,
    measure,
    torch_or_reason,
)
from benchmarks.memory import measure_memory
from benchmarks.training import EPOCHS, measure_training

__all__ = ["evaluate_targets", "format_tables", "main", "run", "write_json"]

RESULTS = Path(__file__).resolve().parent / "results"
SCHEMA = 1

# Issue 5's targets (meant for one-thread runs): worst case over dtype and activation.
STEP_OVER_LIMIT_MAX = {(32, 784, 128): 1.20, (64, 256, 256): 1.15, (256, 1024, 1024): 1.08}
STEP_OVER_TORCH_MAX = {
    (32, 784, 128): 0.85,
    (64, 256, 256): 0.85,
    (256, 1024, 1024): 1.0,
    (1024, 2048, 2048): 1.0,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time dense's layer step against the three GEMMs it needs and against "
        "PyTorch, train the digits MLP against scikit-learn and PyTorch, and measure the "
        "peak memory of a step.",
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


def run(*, quick: bool, threads: int | None, repeats: int | None, use_torch: bool = True) -> dict:
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

    Returns
    -------
    dict
        ``machine``, ``date``, ``layer_step``, ``training``, ``memory`` and
        ``targets``.
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
    limiter = threadpool_limits(limits=threads) if threadpool_limits else contextlib.nullcontext()
    with limiter:
        if torch is not None:
            torch.set_num_threads(threads)
        rng = np.random.default_rng(20240605)
        cases = [
            LayerCase(*shape, dtype, relu)
            for shape in (SHAPES_QUICK if quick else SHAPES)
            for dtype in ("float64", "float32")
            for relu in (False, True)
        ]
        steps = []
        for case in cases:
            row = measure(
                case,
                rng=rng,
                repeats=repeats,
                # Short samples: more rounds in the same time, and a sample is less
                # likely to straddle a time slice given to another process.
                sample_seconds=0.002 if quick else 0.005,
                budget_seconds=1.0 if quick else 30.0,
                torch=torch,
            )
            steps.append(row)
            print(_step_line(row), file=sys.stderr, flush=True)
        # A 1x1x1 layer: the products cost next to nothing, so what remains is the fixed
        # cost of one step's Python and library calls.
        fixed = [
            measure(
                LayerCase(1, 1, 1, "float64", relu),
                rng=rng,
                repeats=repeats,
                sample_seconds=0.002 if quick else 0.005,
                budget_seconds=0.5 if quick else 5.0,
                torch=torch,
            )
            for relu in (False, True)
        ]
        training = measure_training(
            repeats=max(1, repeats // 3) if quick else 7,
            epochs=3 if quick else EPOCHS,
            torch=torch,
        )
        memory = [
            measure_memory(LayerCase(*shape, "float64", relu), rng)
            for shape in SHAPES_QUICK
            for relu in (False, True)
        ]
        described = machine.describe()  # inside the limits: records the thread counts used
    gc.unfreeze()
    results = {
        "schema": SCHEMA,
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
    results["targets"] = evaluate_targets(results)
    return results


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


def _step_line(row: dict) -> str:
    shape = f"({row['batch']}, {row['inputs']}, {row['outputs']})"
    torch = row["step_over_torch"]
    versus = "" if torch is None else f"  step/torch {torch:.3f}"
    return (
        f"  {shape:<20} {row['dtype']:<8} {row['activation']:<5} "
        f"step/limit {row['step_over_limit']:.3f}{versus}"
    )


def _shape(row: dict) -> tuple[int, int, int]:
    return (row["batch"], row["inputs"], row["outputs"])


def evaluate_targets(results: dict) -> list[dict]:
    """Compare the results with issue 5's targets (worst case per shape).

    Returns
    -------
    list of dict
        One entry per target: ``name``, measured ``value``, ``limit``, ``met``
        (``None`` where the measurement is missing).
    """
    targets = []

    def add(name: str, value: float | None, limit: float, higher_is_better: bool = False):
        met = None if value is None else (value >= limit if higher_is_better else value <= limit)
        targets.append({"name": name, "value": value, "limit": limit, "met": met})

    rows = results["layer_step"]["rows"]
    for shape, limit in STEP_OVER_LIMIT_MAX.items():
        values = [row["step_over_limit"] for row in rows if _shape(row) == shape]
        add(f"step/limit at {shape}", max(values) if values else None, limit)
    for shape, limit in STEP_OVER_TORCH_MAX.items():
        values = [row["step_over_torch"] for row in rows if _shape(row) == shape]
        values = [value for value in values if value is not None]
        add(f"step/torch at {shape}", max(values) if values else None, limit)
    training = {row["library"]: row for row in results["training"]["rows"]}
    if "dense" in training:
        if "torch" in training:
            add("digits fit time, dense/torch", training["torch"]["dense_over_this"], 0.5)
        if "scikit-learn" in training:
            add("digits fit time, dense/sklearn", training["scikit-learn"]["dense_over_this"], 1.0)
        add("digits test accuracy, dense", training["dense"]["accuracy"], 0.95, True)
    memory = results["memory"]["rows"]
    add(
        "memory: steps over budget",
        float(sum(not row["within_budget"] for row in memory)),
        0.0,
    )
    return targets


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True))
        for line in [header, ["-" * width for width in widths], *rows]
    ]
    return "\n".join(lines)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_tables(results: dict) -> str:
    """Render the results as plain-text tables (what the command prints)."""
    m = results["machine"]

    def pool_text(pool: dict) -> str:
        kernel = f" {pool['architecture']}" if pool.get("architecture") else ""
        return (
            f"{pool['internal_api']} {pool['version'] or ''}{kernel} from "
            f"{pool.get('shipped_by') or '?'}, {pool['num_threads']} thread(s)"
        ).replace("  ", " ")

    numpy_blas = "; ".join(pool_text(p) for p in m["blas"] if p.get("numpy"))
    others = "; ".join(pool_text(p) for p in m["blas"] if not p.get("numpy"))
    blas = (numpy_blas or "unknown (threadpoolctl missing)") + (
        f" (also loaded: {others})" if others else ""
    )
    if m.get("torch_blas"):
        blas += f"; PyTorch uses {m['torch_blas']} ({m.get('torch_cpu_capability')})"
    out = [
        f"dense benchmarks, {results['mode']} run, {results['date']}",
        f"machine: {m['cpu']}, {m['usable_cores']} usable cores; numpy {m['numpy']}, "
        f"torch {m['torch'] or '(none)'}, scikit-learn {m['scikit_learn'] or '(none)'}",
        f"NumPy's BLAS: {blas}",
        f"threads used: {results['threads']}",
        f"load average before/after: {results['load_average_before']} / "
        f"{results['load_average_after']}",
        "",
        f"Layer step (forward + backward + SGD), median per call; "
        f"PyTorch: {results['layer_step']['torch']}",
    ]
    rows = []
    for row in results["layer_step"]["rows"]:
        s = row["seconds"]
        rows.append(
            [
                f"({row['batch']}, {row['inputs']}, {row['outputs']})",
                row["dtype"],
                row["activation"],
                f"{s['limit'] * 1e3:.3f}",
                f"{row['gflops']['limit']:.1f}",
                f"{s['dense'] * 1e3:.3f}",
                f"{row['step_over_limit']:.3f}",
                _fmt(s.get("torch") and s["torch"] * 1e3, ".3f"),
                _fmt(row["step_over_torch"], ".3f"),
            ]
        )
    header = [
        "(batch, in, out)",
        "dtype",
        "act",
        "limit ms",
        "GFLOP/s",
        "step ms",
        "step/limit",
        "torch ms",
        "step/torch",
    ]
    out += [_table(header, rows), ""]

    fixed = results["layer_step"].get("fixed_cost", [])
    if fixed:
        out.append("Fixed cost of a step (1x1x1 layer, float64), microseconds")
        rows = [
            [
                row["activation"],
                f"{row['seconds']['limit'] * 1e6:.1f}",
                f"{row['seconds']['dense'] * 1e6:.1f}",
                _fmt(row["seconds"].get("torch") and row["seconds"]["torch"] * 1e6, ".1f"),
            ]
            for row in fixed
        ]
        out += [_table(["act", "limit", "dense step", "torch step"], rows), ""]
    out.append(
        "Where the step's extra time goes, % of the limit: the update inside the step "
        "(step minus step with learning_rate=0), then each operation timed alone"
    )
    present = {name for row in results["layer_step"]["rows"] for name in row["parts"]}
    names = [name for name in PART_NAMES if name in present]
    rows = []
    for row in results["layer_step"]["rows"]:
        limit = row["seconds"]["limit"]
        rows.append(
            [
                f"({row['batch']}, {row['inputs']}, {row['outputs']})",
                row["dtype"],
                row["activation"],
                f"{(row['step_over_limit'] - 1) * 100:.1f}",
                f"{row['update_in_step_over_limit'] * 100:.1f}",
                *(
                    _fmt(row["parts"].get(name) and row["parts"][name] / limit * 100, ".1f")
                    for name in names
                ),
            ]
        )
    header = ["(batch, in, out)", "dtype", "act", "step-limit", "update in step", *names]
    out += [_table(header, rows), ""]

    training = results["training"]
    out.append(
        f"Digits MLP, {training['epochs']} epochs, batch {training['batch_size']} "
        f"({training['status']}; scikit-learn solver: {training['sklearn_solver']})"
    )
    if training["rows"]:
        rows = [
            [
                row["library"],
                f"{row['seconds']:.3f}",
                f"{row['accuracy']:.4f}",
                f"{row['dense_over_this']:.3f}",
            ]
            for row in training["rows"]
        ]
        out.append(_table(["library", "fit s", "test accuracy", "dense/this"], rows))
    out.append("")

    out.append("Peak extra memory of one step (float64, tracemalloc), KiB")
    rows = [
        [
            f"({row['batch']}, {row['inputs']}, {row['outputs']})",
            row["activation"],
            f"{row['gradient_bytes'] / 1024:.0f}",
            f"{row['forward_peak_bytes'] / 1024:.0f}",
            f"{row['backward_peak_bytes'] / 1024:.0f}",
            f"{row['backward_budget_bytes'] / 1024:.0f}",
            f"{row['step_peak_over_gradients']:.2f}",
            "yes" if row["within_budget"] else "NO",
        ]
        for row in results["memory"]["rows"]
    ]
    header = [
        "(batch, in, out)",
        "act",
        "grads",
        "fwd peak",
        "bwd peak",
        "bwd budget",
        "step/grads",
        "in budget",
    ]
    out += [_table(header, rows), ""]

    this_run = f"{results['mode']} run, {results['threads']} thread(s)"
    if results["mode"] == "quick":
        this_run += ": 3 epochs and few rounds, so indicative only"
    out.append(f"Targets (issue 5; meant for a full --threads 1 run; this is a {this_run})")
    rows = [
        [
            target["name"],
            _fmt(target["value"], ".3f"),
            f"{target['limit']:g}",
            {True: "met", False: "MISSED", None: "not measured"}[target["met"]],
        ]
        for target in results["targets"]
    ]
    out.append(_table(["target", "value", "limit", ""], rows))
    return "\n".join(out)


def write_json(results: dict, path: Path) -> None:
    """Write ``results`` to ``path`` atomically (temporary file, then ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)
            handle.write("\n")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks``; returns the exit status."""
    args = _parser().parse_args(argv)
    output = args.output or RESULTS / ("quick.json" if args.quick else "latest.json")
    results = run(
        quick=args.quick, threads=args.threads, repeats=args.repeats, use_torch=not args.no_torch
    )
    print(format_tables(results))
    write_json(results, output)
    print(f"\nwrote {output}")
    return 0
