"""What the numbers were measured on: CPU, cores, BLAS library and kernel, versions."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path

import numpy as np

__all__ = ["blas_info", "describe", "load_average"]

# Environment variables that change which OpenBLAS kernel runs or how it blocks.
_BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def blas_info() -> list[dict]:
    """Return threadpoolctl's view of the loaded BLAS/OpenMP libraries.

    Each entry names the library (``internal_api``), its version, the kernel it
    selected for this CPU (``architecture``, OpenBLAS only) and its thread count.
    Empty when threadpoolctl is not installed.
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keep = ("user_api", "internal_api", "version", "architecture", "num_threads", "prefix")
    pools = []
    for pool in threadpool_info():
        entry = {key: pool.get(key) for key in keep}
        # Which package shipped it: NumPy's OpenBLAS is the one that runs dense's products
        # (SciPy, pulled in by scikit-learn, and PyTorch bring their own libraries).
        folder = Path(pool.get("filepath") or "").parent.parts
        if "site-packages" in folder:
            folder = folder[folder.index("site-packages") + 1 :]
        entry["shipped_by"] = "/".join(folder[-2:] if folder[-1:] == ("lib",) else folder[-1:])
        entry["numpy"] = entry["shipped_by"] == "numpy.libs"
        pools.append(entry)
    return pools


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages, or ``None`` where unsupported."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def describe() -> dict:
    """Return a JSON-ready description of the machine and software."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    torch_version = _version("torch")
    info = {
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "torch": torch_version,
        "scikit_learn": _version("scikit-learn"),
        "threadpoolctl": _version("threadpoolctl"),
        "blas": blas_info(),
        "blas_environment": {name: os.environ[name] for name in _BLAS_ENV if name in os.environ},
    }
    if torch_version is not None:
        import torch

        info["torch_blas"] = "mkl" if torch.backends.mkl.is_available() else "other"
        info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return info
