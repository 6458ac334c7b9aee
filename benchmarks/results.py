"""The results file: where it lives, how it is written and read, and the shape of a row.

``python -m benchmarks`` writes one JSON file per run (``results/latest.json`` for a full
run, ``results/quick.json`` for a quick one); :mod:`benchmarks.report` and the "How fast
is it?" page read it. The file is written atomically, so a run interrupted while writing
leaves the previous file as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

from dense._atomic import write_atomically

__all__ = ["LATEST", "QUICK", "SCHEMA", "load", "shape", "write"]

FOLDER = Path(__file__).resolve().parent / "results"
LATEST = FOLDER / "latest.json"
QUICK = FOLDER / "quick.json"
SCHEMA = 2


def shape(row: dict) -> tuple[int, int, int]:
    """The layer shape ``(batch, input_size, output_size)`` of a layer-step or memory row.

    Examples
    --------
    >>> shape({"batch": 32, "inputs": 784, "outputs": 128, "dtype": "float64"})
    (32, 784, 128)
    """
    return (row["batch"], row["inputs"], row["outputs"])


def load(path: Path = LATEST) -> dict:
    """Read a results file (by default the committed one of the last full run)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write(results: dict, path: Path) -> None:
    """Write ``results`` to ``path`` as indented JSON, atomically."""
    text = json.dumps(results, indent=1) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda file: file.write(text.encode("utf-8")))
