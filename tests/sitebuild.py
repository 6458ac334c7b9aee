"""Building the site from the tests: the strict build of this repository's mkdocs.yml, and
how to read what it produced (the text a reader meets, two builds compared byte for byte)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

from filelock import FileLock

REPO = Path(__file__).resolve().parent.parent
# npm must not install KaTeX twice at once, whichever pytest run or worker builds first.
NPM_LOCK = (
    Path(tempfile.gettempdir()) / f"dense-npm-{hashlib.sha256(bytes(REPO)).hexdigest()[:16]}.lock"
)

NAV_PAGE = re.compile(r"^\s+- (?:[^:\n]+: )?([\w/.-]+\.md)$", re.MULTILINE)


def mkdocs_build(site_dir: Path, docs_dir: Path | None = None) -> subprocess.Popen[str]:
    """Start `mkdocs build --strict` of this repo's mkdocs.yml; stdout+stderr merged.

    `docs_dir` swaps the content for a throw-away folder (mkdocs.yml reads DENSE_DOCS_DIR)
    while keeping every setting, hook and plugin of the real site.
    """
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1"}
    env.pop("DENSE_DOCS_DIR", None)
    if docs_dir is not None:
        env["DENSE_DOCS_DIR"] = str(docs_dir)
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site_dir)]
    return subprocess.Popen(
        cmd, cwd=REPO, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def finish(proc: subprocess.Popen[str], timeout: float = 900) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def hook_module(name: str):
    """Load hooks/<name>.py as MkDocs would (its helper modules importable from hooks/), under
    a name of its own."""
    hooks = str(REPO / "hooks")
    spec = importlib.util.spec_from_file_location(f"{name}_hook", REPO / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    sys.path.insert(0, hooks)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(hooks)
    return module


def build_all(*jobs: tuple[Path, Path | None], timeout: float = 900) -> list[tuple[int, str]]:
    """Run several builds side by side and return (code, log) each.

    When node_modules lacks what package-lock.json pins (a fresh clone, a changed lock), the
    first build runs `npm ci` (hooks/katex.py); any other build at the same time, in this
    worker or another, would race on node_modules, so the others start once npm has finished
    (or once the first build has ended, whatever happened).
    """
    current = hook_module("katex").npm_packages_current
    procs = []
    with FileLock(NPM_LOCK):
        if not current():
            procs.append(mkdocs_build(*jobs[0]))
            jobs = jobs[1:]
            while procs[0].poll() is None and not current():
                time.sleep(0.1)
    procs += [mkdocs_build(site, docs) for site, docs in jobs]
    return [finish(proc, timeout) for proc in procs]


# Output that is measured at build time (timings) differs on every build by nature. Pages wrap
# it in <div class="measured" markdown> ... </div>; the comparisons below blank those blocks
# (and hooks/reproducible.py keeps them out of the search index).
MEASURED = '<div class="measured">'
DIV_TAG = re.compile(r"<div\b|</div>")


def mask_measured(html: str) -> str:
    out, pos = [], 0
    while (start := html.find(MEASURED, pos)) != -1:
        depth = 0
        for tag in DIV_TAG.finditer(html, start):
            depth += 1 if tag[0] == "<div" else -1
            if depth == 0:
                break
        assert depth == 0, f"unclosed {MEASURED}"
        out += [html[pos:start], MEASURED, "</div>"]
        pos = tag.end()
    out.append(html[pos:])
    return "".join(out)


def same_build_output(a: Path, b: Path) -> bool:
    x, y = a.read_bytes(), b.read_bytes()
    if a.suffix == ".html":
        x, y = (mask_measured(t.decode("utf-8")).encode("utf-8") for t in (x, y))
    return x == y


class _Text(HTMLParser):
    """What a reader can meet on a page: its text (prose and shown code) and the text of
    alt, aria-label and title attributes (figure descriptions, tooltips)."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.descriptions: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")
        described = ("alt", "aria-label", "title")
        self.descriptions += [value for name, value in attrs if name in described and value]

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def reader_text(page_html: str) -> str:
    """The page's text as a browser joins it, then its descriptions, one per line."""
    parser = _Text()
    parser.feed(page_html)
    return "\n".join(["".join(parser.text), *parser.descriptions])
