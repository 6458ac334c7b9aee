"""The site's arithmetic is the same on every x86-64 machine (hooks/arithmetic.py): NumPy,
loaded under the variables the hook sets, really runs one BLAS thread, OpenBLAS's Haswell
kernels and no NumPy loop beyond AVX2, whatever this processor could do."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sitebuild import hook_module

pytestmark = pytest.mark.docs
pytest.importorskip(
    "threadpoolctl", reason="docs toolchain not installed: pip install -e '.[docs]'"
)

arithmetic = hook_module("arithmetic")

REPORT = """
import json, threadpoolctl
from numpy._core._multiarray_umath import __cpu_features__ as features
blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
print(json.dumps({"blas": blas, "features": features}))
"""


def _numpy_under(env: dict[str, str]) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in env and not k.startswith("NPY_")}
    out = subprocess.run(
        [sys.executable, "-c", REPORT], env={**clean, **env}, text=True, capture_output=True,
        check=True, timeout=120,
    )  # fmt: skip
    return json.loads(out.stdout)


def test_one_blas_thread_everywhere() -> None:
    blas = _numpy_under(arithmetic.ONE_THREAD)["blas"]
    assert blas, "NumPy loaded no BLAS that threadpoolctl can see"
    assert [lib["num_threads"] for lib in blas] == [1] * len(blas)


@pytest.mark.skipif(not arithmetic._has_avx2_and_fma(), reason="no AVX2 and FMA: kernels not fixed")
def test_avx2_kernels_on_x86_64() -> None:
    env = {**arithmetic.ONE_THREAD, **arithmetic.AVX2_KERNELS}
    report = _numpy_under(env)
    openblas = [lib for lib in report["blas"] if lib["internal_api"] == "openblas"]
    assert [lib["architecture"] for lib in openblas] == ["Haswell"] * len(openblas)
    features = report["features"]
    assert features["X86_V3"], "NumPy's AVX2 loops should stay on"
    assert not any(features.get(name) for name in env["NPY_DISABLE_CPU_FEATURES"].split()), (
        f"a NumPy loop beyond AVX2 is still on: {features}"
    )
    # Every dispatch target NumPy knows beyond AVX2 is in the list (a new NumPy may add one).
    from numpy._core._multiarray_umath import __cpu_dispatch__

    beyond = [name for name in __cpu_dispatch__ if name not in ("X86_V2", "X86_V3")]
    assert set(beyond) <= set(env["NPY_DISABLE_CPU_FEATURES"].split()), beyond


def test_kernels_chosen_on_purpose_are_kept(monkeypatch) -> None:
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Sandybridge")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    env = arithmetic.same_arithmetic()
    assert env["OPENBLAS_NUM_THREADS"] == "1"  # the thread count is always fixed
    if arithmetic._has_avx2_and_fma():
        assert env["OPENBLAS_CORETYPE"] == "Sandybridge"


def test_an_older_numpy_is_not_given_names_it_does_not_know(monkeypatch) -> None:
    monkeypatch.delenv("NPY_DISABLE_CPU_FEATURES", raising=False)
    monkeypatch.setattr(arithmetic, "version", lambda name: "1.26.4")
    assert "NPY_DISABLE_CPU_FEATURES" not in arithmetic.same_arithmetic()
    monkeypatch.setattr(arithmetic, "version", lambda name: "2.4.0")
    assert ("NPY_DISABLE_CPU_FEATURES" in arithmetic.same_arithmetic()) == (
        arithmetic._has_avx2_and_fma()
    )
