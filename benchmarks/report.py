"""Plain-text report of a results file: what ``python -m benchmarks`` prints.

Reprint the report of a results file (by default the committed full run)::

    python -m benchmarks.report [PATH]

The first line sums the run up; every line fits in 100 columns. A quick run is too small
to compare with anything, so only a full run's report sets the worst ratios beside the
bounds stated for a full one-thread run.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path

from benchmarks import results as results_file
from benchmarks.layer_step import PARTS
from benchmarks.results import shape

__all__ = ["STEP_OVER_LIMIT_BOUND", "STEP_OVER_TORCH_BOUND", "format_report", "main", "summary"]

WIDTH = 100

# Worst variant per shape, in a full run with one thread.
STEP_OVER_LIMIT_BOUND = {(32, 784, 128): 1.12, (64, 256, 256): 1.10, (256, 1024, 1024): 1.04}
STEP_OVER_TORCH_BOUND = 1.0

_PART_HEADERS = {
    "new arrays": "arrays",
    "bias": "bias",
    "activation": "ReLU",
    "update": "update",
    "checks and calls": "calls",
}


def summary(results: dict) -> str:
    """One line: the kind of run and the range of the step's ratios."""
    rows = results["layer_step"]["rows"]
    line = (
        f"dense benchmarks, {results['mode']} run ({results['threads']} thread(s), "
        f"{results['seconds_total']:.0f} s): step {_range(rows, 'step_over_limit')}x its products"
    )
    versus_torch = _range(rows, "step_over_torch")
    return line + (f", {versus_torch}x PyTorch" if versus_torch else "")


def format_report(results: dict) -> str:
    """Render a results dict as the plain-text report (no line longer than 100 columns)."""
    sections = [_header(results), _layer_step(results), _gap(results)]
    if results["layer_step"]["torch"].startswith("ok"):
        sections.append(_torch(results))
    sections += [_fixed_cost(results), _training(results), _memory(results)]
    if results["mode"] == "full":
        sections.append(_bounds(results))
    return "\n\n".join(sections)


def _header(results: dict) -> str:
    m = results["machine"]
    numpy_blas = "; ".join(_pool(p) for p in m["blas"] if p.get("numpy")) or "unknown"
    torch_blas = (
        f"; PyTorch's: {m['torch_blas']} ({m.get('torch_cpu_capability')})"
        if m.get("torch_blas")
        else ""
    )
    load = results["load_average_before"], results["load_average_after"]
    lines = [
        summary(results),
        *_wrap(
            f"Machine: {m['cpu']}, {m['usable_cores']} usable cores; numpy {m['numpy']}, "
            f"torch {m['torch'] or '(none)'}, scikit-learn {m['scikit_learn'] or '(none)'}."
        ),
        *_wrap(f"NumPy's BLAS: {numpy_blas}{torch_blas}."),
        f"Date {results['date']}; load average (1 min) before/after: "
        f"{_load(load[0])} / {_load(load[1])}.",
    ]
    if results["mode"] == "quick":
        lines.append("A quick run takes few, short samples: its numbers are indicative only.")
    return "\n".join(lines)


def _layer_step(results: dict) -> str:
    def cells(row: dict) -> list[str]:
        s = row["seconds"]
        return [
            *_case(row),
            f"{s['limit'] * 1e3:.3f}",
            f"{row['gflops']['limit']:.1f}",
            f"{s['dense'] * 1e3:.3f}",
            f"{row['step_over_limit']:.3f}",
            _fmt(s.get("torch"), ".3f", 1e3),
            _fmt(row["step_over_torch"], ".3f"),
        ]

    header = ["shape", "dtype", "act", "limit ms", "GFLOP/s", "step ms", "step/limit"]
    header += ["torch ms", "step/torch"]
    title = (
        "Layer step (forward, backward, SGD update), median per call. The limit: the three "
        "matrix products alone, into arrays allocated once; GFLOP/s is the limit's speed. "
        f"PyTorch: {results['layer_step']['torch']}."
    )
    return _section(title, header, map(cells, results["layer_step"]["rows"]))


def _gap(results: dict) -> str:
    def cells(row: dict) -> list[str]:
        parts = row["parts"]
        gap = f"{(row['step_over_limit'] - 1) * 100:.1f}"
        added = [_fmt(parts.get(name), ".1f", 100) for name in PARTS]
        total = f"{sum(parts.values()) * 100:.1f}"
        return [*_case(row), gap, *added, total, _fmt(row.get("fused_update"), ".1f", 100)]

    header = ["shape", "dtype", "act", "step-limit"]
    header += [_PART_HEADERS[name] for name in PARTS] + ["sum", "fused"]
    title = (
        "Where the step's extra time goes, % of the limit. Each part is measured inside a "
        "whole step: the products writing new arrays, then adding the bias, the ReLU and the "
        "update one at a time, then the argument checks and Python calls of the real step. "
        "Parts are means over the rounds whose step/limit lies between its quartiles, so they "
        "add up to those rounds' mean step-limit, close to the median (step-limit). "
        "Fused: the update as one pass (BLAS axpy through SciPy), which NumPy cannot express."
    )
    return _section(title, header, map(cells, results["layer_step"]["rows"]))


def _torch(results: dict) -> str:
    rows = [
        [
            *_case(row),
            _fmt(row["step_over_torch"], ".3f"),
            f"{row['step_over_limit']:.3f}",
            _fmt(row["limit_over_torch_products"], ".3f"),
            _fmt(row["torch_over_torch_products"], ".3f"),
        ]
        for row in results["layer_step"]["rows"]
    ]
    header = ["shape", "dtype", "act", "step/torch", "step/limit", "products", "torch/its"]
    title = (
        "Against PyTorch: step/torch = step/limit x products / torch/its, where products is "
        "NumPy's three products over PyTorch's (two BLAS libraries) and torch/its is "
        "PyTorch's step over its own three products."
    )
    return _section(title, header, rows)


def _fixed_cost(results: dict) -> str:
    rows = [
        [
            row["activation"],
            f"{row['seconds']['limit'] * 1e6:.1f}",
            f"{row['seconds']['dense'] * 1e6:.1f}",
            _fmt(row["seconds"].get("torch"), ".1f", 1e6),
        ]
        for row in results["layer_step"]["fixed_cost"]
    ]
    title = "Fixed cost of a step: a 1x1x1 layer in float64, microseconds per call"
    return _section(title, ["act", "limit", "dense step", "torch step"], rows)


def _training(results: dict) -> str:
    training = results["training"]
    title = (
        f"Digits MLP, {training['epochs']} epochs, batch {training['batch_size']} "
        f"({training['status']}; scikit-learn solver: {training['sklearn_solver']})"
    )
    if not training["rows"]:
        return title
    rows = [
        [
            row["library"],
            f"{row['seconds']:.3f}",
            f"{row['accuracy']:.4f}",
            f"{row['dense_over_this']:.3f}",
        ]
        for row in training["rows"]
    ]
    return _section(title, ["library", "fit s", "test accuracy", "dense/this"], rows)


def _memory(results: dict) -> str:
    rows = [
        [
            _label(shape(row)),
            row["activation"],
            f"{row['gradient_bytes'] / 1024:.0f}",
            f"{row['forward_peak_bytes'] / 1024:.0f}",
            f"{row['backward_peak_bytes'] / 1024:.0f}",
            f"{row['backward_budget_bytes'] / 1024:.0f}",
            f"{row['step_peak_over_gradients']:.2f}",
            "yes" if row["within_budget"] else "no",
        ]
        for row in results["memory"]["rows"]
    ]
    header = ["shape", "act", "grads", "fwd peak", "bwd peak", "bwd budget", "step/grads"]
    header.append("in budget")
    title = "Peak extra memory of one step (float64, tracemalloc), KiB"
    return _section(title, header, rows)


def _bounds(results: dict) -> str:
    rows = []
    layer_rows = results["layer_step"]["rows"]
    for bounded in dict.fromkeys(shape(row) for row in layer_rows):
        limit_bound = STEP_OVER_LIMIT_BOUND.get(bounded)
        worst_limit = _worst(layer_rows, bounded, "step_over_limit")
        worst_torch = _worst(layer_rows, bounded, "step_over_torch")
        rows.append(
            [
                _label(bounded),
                _fmt(worst_limit, ".3f"),
                _fmt(limit_bound, ".2f"),
                _against(worst_limit, limit_bound),
                _fmt(worst_torch, ".3f"),
                f"{STEP_OVER_TORCH_BOUND:.2f}",
                _against(worst_torch, STEP_OVER_TORCH_BOUND),
            ]
        )
    header = ["shape", "step/limit", "bound", "", "step/torch", "bound", ""]
    title = (
        f"Worst variant per shape beside the bounds stated for a full one-thread run "
        f"(this run: {results['threads']} thread(s))"
    )
    return _section(title, header, rows)


def _against(value: float | None, bound: float | None) -> str:
    if value is None or bound is None:
        return ""
    return "within" if value <= bound else f"above by {value - bound:.3f}"


def _worst(rows: list[dict], of: tuple[int, int, int], key: str) -> float | None:
    values = [row[key] for row in rows if shape(row) == of and row[key] is not None]
    return max(values) if values else None


def _range(rows: list[dict], key: str) -> str:
    values = [row[key] for row in rows if row[key] is not None]
    return f"{min(values):.2f}-{max(values):.2f}" if values else ""


def _case(row: dict) -> list[str]:
    return [_label(shape(row)), row["dtype"], row["activation"]]


def _label(of: tuple[int, int, int]) -> str:
    return "x".join(map(str, of))


def _pool(pool: dict) -> str:
    kernel = f" {pool['architecture']}" if pool.get("architecture") else ""
    return f"{pool['internal_api']} {pool['version']}{kernel}, {pool['num_threads']} thread(s)"


def _load(load: list[float] | None) -> str:
    return "unknown" if load is None else f"{load[0]:.2f}"


def _fmt(value: float | None, spec: str, scale: float = 1.0) -> str:
    return "-" if value is None else format(value * scale, spec)


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, WIDTH)


def _section(title: str, header: list[str], rows: Iterable[list[str]]) -> str:
    return "\n".join([*_wrap(title), _table(header, list(rows))])


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, ["-" * width for width in widths], *rows]
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the report of the results file named in ``argv`` (default: the committed one)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else results_file.LATEST
    print(format_report(results_file.load(path)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
