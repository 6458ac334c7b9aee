"""MkDocs hook: the pages' NumPy code runs on one BLAS thread.

The pages multiply small matrices, where a second thread gains nothing. OpenBLAS would start a
thread per core in the build process anyway, and on a busy machine those threads wait for each
other, spinning: on a loaded 2-core machine that multiplied the pages' CPU time 5 to 7 times.
One thread also means the same sums in the same order on every machine.

OpenBLAS reads these variables when NumPy loads it. MkDocs imports every hook before it runs
any of them, and NumPy is first imported when a hook's `on_config` imports matplotlib
(hooks/reproducible.py), so setting them when this module is imported is early enough. If
something imported NumPy even earlier, threadpoolctl limits the library already loaded.
"""

from __future__ import annotations

import os
import sys

THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

_loaded_before_us = "numpy" in sys.modules
os.environ.update(THREADS)


def on_config(config):
    if _loaded_before_us:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
    return config
