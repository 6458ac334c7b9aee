"""The benchmark suite runs and reports what it promises (structure only, never timings).

CI runs the quick mode with one repetition: this proves that every part of the suite
(layer step against the GEMM limit and, when installed, PyTorch; digits training;
memory) still runs against the current package and writes a complete results file.
How fast anything is depends on the machine and is not asserted here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import report, results
from benchmarks.layer_step import (
    PARTS,
    SHAPES,
    SHAPES_QUICK,
    LayerCase,
    _parts,
    _typical_rounds,
    gemm_flops,
)
from benchmarks.results import shape
from benchmarks.timing import calibrate, interleaved, paired_ratio

REPO = results.FOLDER.parents[1]

pytest.importorskip(
    "threadpoolctl", reason="benchmarks need the bench extra: pip install -e '.[bench]'"
)

VARIANTS = {(dtype, act) for dtype in ("float64", "float32") for act in ("none", "relu")}


def run_quick(output: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "benchmarks", "--quick", "--repeats", "1", "--threads", "1"]
    env = {**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning"}
    return subprocess.run(
        [*cmd, "--output", str(output), *extra],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[dict, subprocess.CompletedProcess[str], Path]:
    output = tmp_path_factory.mktemp("bench") / "quick.json"
    proc = run_quick(output)
    assert proc.returncode == 0, f"python -m benchmarks --quick failed:\n{proc.stderr}"
    # Written atomically: only the final file, no temporary left next to it.
    assert sorted(p.name for p in output.parent.iterdir()) == ["quick.json"]
    return json.loads(output.read_text()), proc, output


@pytest.fixture(scope="module")
def quick(quick_run) -> tuple[dict, str]:
    return quick_run[0], quick_run[1].stdout


def test_quick_run_describes_machine_and_run(quick) -> None:
    measured, _ = quick
    assert measured["schema"] == results.SCHEMA
    assert measured["mode"] == "quick"
    assert measured["threads"] == 1
    machine = measured["machine"]
    assert machine["cpu"]
    assert machine["usable_cores"] >= 1
    assert machine["numpy"] == np.__version__
    blas = [pool for pool in machine["blas"] if pool["user_api"] == "blas"]
    assert blas, "no BLAS library reported"
    # --threads 1 reached NumPy's BLAS (this is what makes one-thread ratios steady).
    assert all(pool["num_threads"] == 1 for pool in blas), blas


def test_quick_run_times_every_layer_case(quick) -> None:
    measured, stdout = quick
    rows = measured["layer_step"]["rows"]
    cases = {(shape(row), row["dtype"], row["activation"]) for row in rows}
    assert cases == {(s, d, a) for s in SHAPES_QUICK for d, a in VARIANTS}
    assert len(rows) == len(cases)
    torch_ok = measured["layer_step"]["torch"].startswith("ok")
    scipy_ok = importlib.util.find_spec("scipy") is not None
    for row in rows:
        batch, inputs, outputs = shape(row)
        assert row["flops"] == 6 * batch * inputs * outputs
        rungs = {"products", "bias", "update"} | (
            {"activation"} if row["activation"] == "relu" else set()
        )
        expected = {"dense", "limit"} | rungs | ({"torch", "torch_products"} if torch_ok else set())
        if scipy_ok:
            expected.add("fused_update")
            assert isinstance(row["fused_update"], float)
        assert set(row["seconds"]) == expected
        assert all(seconds > 0 for seconds in row["seconds"].values())
        assert row["step_over_limit"] > 0
        # The ladder computes what the layer computes, so its parts are the layer's parts.
        assert row["ladder_agrees"] is True, f"the ladder computed something else for {row}"
        assert list(row["parts"]) == [
            p for p in PARTS if p != "activation" or "activation" in rungs
        ]
        assert all(isinstance(part, float) for part in row["parts"].values())  # any sign
        assert set(row["faults_per_step"]) == {"limit", "dense", "one_temporary"}
        if torch_ok:
            assert row["step_over_torch"] > 0
            assert row["limit_over_torch_products"] > 0
            assert row["torch_over_torch_products"] > 0
            assert row["torch_agrees"] is True, f"torch computed something else for {row}"
        else:
            assert row["step_over_torch"] is None
    fixed = measured["layer_step"]["fixed_cost"]
    assert [(shape(row), row["activation"]) for row in fixed] == [
        ((1, 1, 1), "none"),
        ((1, 1, 1), "relu"),
    ]
    assert all(row["seconds"]["dense"] > 0 for row in fixed)
    assert "step/limit" in stdout
    assert "GFLOP/s" in stdout
    for s in SHAPES_QUICK:
        assert "x".join(map(str, s)) in stdout


def test_quick_run_trains_digits_or_says_why_not(quick) -> None:
    training = quick[0]["training"]
    assert training["sklearn_solver"] == "sgd"
    if training["status"] != "ok":
        assert training["status"].startswith("skipped: ")
        assert training["rows"] == []
        return
    libraries = [row["library"] for row in training["rows"]]
    assert libraries[:2] == ["dense", "scikit-learn"]
    for row in training["rows"]:
        assert row["seconds"] > 0
        assert 0.0 <= row["accuracy"] <= 1.0
    # More than chance (0.1) even after the quick mode's few epochs: it really trained.
    assert training["rows"][0]["accuracy"] > 0.5


def test_quick_run_step_allocates_no_more_than_its_results(quick) -> None:
    # Allocation is deterministic, unlike time: a real regression check. A step may
    # allocate the gradients, d_input, one update temporary (and delta, z) but no copy
    # of the batch or of the weights beyond that.
    rows = quick[0]["memory"]["rows"]
    assert {(shape(row), row["activation"]) for row in rows} == {
        (s, a) for s in SHAPES_QUICK for a in ("none", "relu")
    }
    for row in rows:
        assert row["within_budget"], row
        assert row["step_peak_bytes"] >= row["gradient_bytes"]  # it did measure the step


def test_quick_output_sums_up_first_reads_neutrally_and_fits_100_columns(quick_run) -> None:
    _, proc, _ = quick_run
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("dense benchmarks, quick run (1 thread(s), ")
    assert "x its products" in lines[0]
    too_wide = [line for line in lines if len(line) > 100]
    assert not too_wide, f"{len(too_wide)} lines wider than 100 columns: {too_wide[0]!r}"
    words = set(re.findall(r"[a-z]+", proc.stdout.lower()))
    # A quick run judges nothing, and the output speaks of the code, not of how it is managed.
    assert not words & {"missed", "met", "target", "targets", "issue", "bound", "bounds"}
    # Progress is tqdm's bar, on stderr, so the report on stdout stays clean.
    assert "benchmarks: 100%" in proc.stderr
    assert "%|" not in proc.stdout


def test_report_reprints_a_results_file(quick_run) -> None:
    measured, proc, output = quick_run
    again = subprocess.run(
        [sys.executable, "-m", "benchmarks.report", str(output)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert proc.stdout == again.stdout + f"\nwrote {output}\n"
    assert again.stdout == report.format_report(measured) + "\n"


def test_a_full_report_sets_the_worst_ratios_beside_the_bounds(quick) -> None:
    full = {**quick[0], "mode": "full"}
    text = report.format_report(full)
    assert all(len(line) <= 100 for line in text.splitlines())
    assert "beside the bounds stated for a full one-thread run" in text
    rows = full["layer_step"]["rows"]
    for bounded, bound in report.STEP_OVER_LIMIT_BOUND.items():
        worst = max(row["step_over_limit"] for row in rows if shape(row) == bounded)
        verdict = "within" if worst <= bound else f"above by {worst - bound:.3f}"
        line = next(
            line
            for line in text.splitlines()[::-1]
            if line.split()[:1] == ["x".join(map(str, bounded))]
        )
        assert line.split()[1:4] == [f"{worst:.3f}", f"{bound:.2f}", verdict.split()[0]]
    words = set(re.findall(r"[a-z]+", text.lower()))
    assert not words & {"missed", "met", "target", "targets", "issue"}


def test_committed_results_are_a_full_one_thread_run() -> None:
    # docs/performance.md draws its tables and figure from this file.
    committed = results.load()
    assert committed["schema"] == results.SCHEMA
    assert committed["mode"] == "full"
    assert committed["threads"] == 1
    rows = committed["layer_step"]["rows"]
    assert {(shape(row), row["dtype"], row["activation"]) for row in rows} == {
        (s, d, a) for s in SHAPES for d, a in VARIANTS
    }
    for row in rows:
        assert row["flops"] == gemm_flops(*shape(row))
        assert row["step_over_limit"] > 0


def test_gemm_flops_counts_three_products() -> None:
    batch, inputs, outputs = 3, 5, 7
    # Count the multiply-adds of each product directly: one per (i, j, k) triple.
    x, W, delta = np.ones((batch, inputs)), np.ones((inputs, outputs)), np.ones((batch, outputs))
    per_product = [
        a.shape[0] * a.shape[1] * b.shape[1] for a, b in ((x, W), (delta, W.T), (x.T, delta))
    ]
    assert gemm_flops(batch, inputs, outputs) == 2 * sum(per_product) == 630


def test_interleaved_gives_every_variant_every_round_in_rotating_order() -> None:
    calls: list[str] = []
    variants = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    samples = interleaved(variants, repeats=4, inner=2, warmup=1)
    assert {name: len(times) for name, times in samples.items()} == {"a": 4, "b": 4, "c": 4}
    rounds = [calls[i : i + 6 : 2] for i in range(0, len(calls), 6)]
    assert rounds == [list("abc"), list("bca"), list("cab"), list("abc"), list("bca")]


def test_parts_add_up_to_the_step_minus_the_limit_over_the_typical_rounds() -> None:
    """Medians of the parts would not add up; their means over the same rounds do."""
    rng = np.random.default_rng(11)
    rounds = 41
    limit = 1.0 + 0.05 * rng.random(rounds)
    # Each rung adds a noisy part; some rounds are slowed as a whole by a busy moment.
    costs = {"products": 0.0, "bias": 0.03, "update": 0.15}
    samples, level = {"limit": list(limit)}, limit.copy()
    for rung, cost in costs.items():
        level = level + limit * (cost + 0.02 * rng.standard_normal(rounds))
        samples[rung] = list(level)
    busy = 1.0 + 0.5 * (rng.random(rounds) < 0.15)
    samples["dense"] = list((level + 0.06 * limit) * busy)
    case = LayerCase(32, 784, 128, "float64", relu=False)

    typical = _typical_rounds(samples["dense"], samples["limit"])
    parts = _parts(case, samples, typical)

    ratios = np.array(samples["dense"]) / limit
    low, high = np.quantile(ratios, [0.25, 0.75])
    assert typical == [r for r in range(rounds) if low <= ratios[r] <= high]
    assert 0 < len(typical) < rounds  # the slowed rounds are out
    assert list(parts) == ["new arrays", "bias", "update", "checks and calls"]
    assert sum(parts.values()) == pytest.approx(ratios[typical].mean() - 1, rel=1e-12)
    assert abs(sum(parts.values()) - (paired_ratio(samples["dense"], samples["limit"]) - 1)) < 0.03
    assert parts["update"] == pytest.approx(0.15, abs=0.02)
    assert _typical_rounds([2.0], [1.0]) == [0]  # a run of one round (--repeats 1)


def test_paired_ratio_is_median_of_per_round_ratios() -> None:
    assert paired_ratio([2.0, 9.0, 4.0], [1.0, 3.0, 1.0]) == 3.0
    with pytest.raises(ValueError, match="same positive number"):
        paired_ratio([1.0], [1.0, 2.0])


def test_calibrate_returns_a_positive_call_count() -> None:
    assert calibrate(lambda: None, 1e-4) >= 1


def test_results_are_written_atomically(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text("old")
    results.write({"a": [1, 2]}, path)
    assert json.loads(path.read_text()) == {"a": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]

    class Unserializable:
        pass

    with pytest.raises(TypeError):
        results.write({"a": Unserializable()}, path)
    assert json.loads(path.read_text()) == {"a": [1, 2]}, "a failed write must keep the old file"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]
