"""Write a file so that a failure half-way never destroys the previous version.

The bytes go to a temporary file next to the target, are flushed and ``fsync``-ed, and
only then replace the target with ``os.replace``, which is atomic: a reader sees the old
file or the new one, never a mixture. Used by ``dense.serialize``, the benchmarks and the
docs build's cache of executed code (hooks/exec_cache.py).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def write_atomically(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(file)`` on a temporary file, then move it over ``path``."""
    if path.is_dir():  # os.replace would fail only after the whole file was written
        raise IsADirectoryError(f"{path} is a folder; name a file inside it to write")
    folder = path.parent
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the rename makes them live
        # mkstemp makes the file private (0600); keep the mode of the file being replaced.
        mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; Windows cannot open a folder, and needs not.
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(descriptor)
    finally:
        os.close(descriptor)
