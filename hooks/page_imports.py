"""MkDocs hook: what the pages' code imports, on purpose rather than by accident.

Executed blocks and hooks/source.py run inside the build process. They import `dense`, the
pages' helper module `pagekit` (tools/pagekit.py) and, on the performance page, `benchmarks`
(its committed results and constants). The last two are folders of this repository, not
installed packages, so we put them on `sys.path` here instead of relying on how the build
was started.

`mkdocs serve` rebuilds in the same process when one of them changes (mkdocs.yml `watch:`),
so every build first forgets the copies the previous one imported: a page never shows the
output or the source of code that has since been edited.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMPORTABLE = [ROOT / "tools", ROOT]  # pagekit; benchmarks (and dense)
OURS = {"dense", "pagekit", "benchmarks"}


def on_config(config):
    for folder in map(str, reversed(IMPORTABLE)):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    return config


def on_pre_build(config):
    for name in [name for name in sys.modules if name.partition(".")[0] in OURS]:
        del sys.modules[name]
