"""MkDocs hook: the pages' NumPy code does the same arithmetic on every machine.

Every number a page prints, and every claim its checks assert, comes out of floating-point
sums, and the order in which a sum adds its terms decides its last bits. Left alone, that
order depends on the machine: OpenBLAS chooses a matrix-product kernel for the CPU it finds
(AVX-512 on a recent Intel Xeon, AVX2 on an AMD EPYC), NumPy chooses its own vector loops the
same way, and a product split over threads adds in an order set by the thread count. Most
results then differ in their last digit or not at all, but a long training run amplifies the
difference: one page's six-layer tanh network ended 40 epochs at loss 0.181 on a Xeon and at
0.283 on an EPYC, with the same seeds.

So the build fixes all three, on x86-64 processors with AVX2 and FMA (Intel's and AMD's
server processors have had both for a decade): one thread, OpenBLAS's Haswell (AVX2) kernels,
and NumPy's loops up to AVX2 (with NumPy 2.4 or newer; an older NumPy keeps its own). Two such
machines then build the same site, digit for digit.
Elsewhere (ARM, or a system whose processor this cannot read) only the thread count is fixed,
so some printed digits may differ from the published site; the pages' checks state what
holds whatever the rounding. A kernel variable that is already set is left as it is, so the
site can be built with other rounding on purpose.

The libraries read these variables when NumPy loads them. MkDocs imports every hook before it
runs any, and NumPy is first imported when a hook's `on_config` imports matplotlib
(hooks/reproducible.py), so setting them when this module is imported is early enough.
tests/test_notebooks.py gives the same ones to the notebook kernels it starts.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
OPENBLAS_AVX2 = {"OPENBLAS_CORETYPE": "Haswell"}
# NumPy 2.4 named its x86 targets anew (X86_V3 is AVX2 and FMA); it ignores a name the
# processor lacks, but an older NumPy warns about every name it does not know.
NUMPY_AVX2 = {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"}
AVX2_KERNELS = {**OPENBLAS_AVX2, **NUMPY_AVX2}


def _has_avx2_and_fma() -> bool:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:  # not Linux: no portable way to ask without a new dependency
        return False
    flags = next((line for line in cpuinfo.splitlines() if line.startswith("flags")), "")
    return {"avx2", "fma"} <= set(flags.split())


def _numpy_names_targets_by_level() -> bool:
    """Whether the installed NumPy is 2.4 or newer, asked without importing it."""
    try:
        major, minor = (int(part) for part in version("numpy").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return False
    return (major, minor) >= (2, 4)


def same_arithmetic() -> dict[str, str]:
    """The environment variables that fix the order of the sums on this machine.

    A kernel variable already set is kept: that is how to build the site with other rounding
    on purpose, to see whether the pages' claims hold (CONTRIBUTING.md)."""
    kernels = {}
    if _has_avx2_and_fma():
        kernels = AVX2_KERNELS if _numpy_names_targets_by_level() else OPENBLAS_AVX2
    return {**ONE_THREAD, **{name: os.environ.get(name, value) for name, value in kernels.items()}}


_WANTED = same_arithmetic()
# NumPy loaded already is harmless if it loaded under these values (an earlier build of
# `mkdocs serve` in this process, or a test run that set them first).
_loaded_without_them = "numpy" in sys.modules and any(
    os.environ.get(name) != value for name, value in _WANTED.items()
)
os.environ.update(_WANTED)


def on_config(config):
    if _loaded_without_them:
        # The kernels are chosen once, when NumPy loads; the thread count can still be set.
        from mkdocs.plugins import get_plugin_logger
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
        get_plugin_logger("arithmetic").warning(
            "NumPy was imported before this hook, so its kernels are this machine's own and "
            "some printed digits may differ from other builds"
        )
    return config
