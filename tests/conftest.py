"""Shared fixtures for the documentation tests (tests/test_docs_build.py, tests/test_browser.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


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


def build_all(*jobs: tuple[Path, Path | None], timeout: float = 900) -> list[tuple[int, str]]:
    """Run several builds side by side (the machine has 2 cores) and return (code, log) each.

    On a fresh clone the first build runs `npm ci` (hooks/katex.py); two at once would race
    on node_modules, so then the builds run one after the other.
    """
    if (REPO / "node_modules" / "katex" / "package.json").exists():
        procs = [mkdocs_build(site, docs) for site, docs in jobs]
        return [finish(proc, timeout) for proc in procs]
    return [finish(mkdocs_build(site, docs), timeout) for site, docs in jobs]


@pytest.fixture(scope="session")
def real_builds(tmp_path_factory) -> tuple[Path, Path]:
    """Two strict builds of the real site, run side by side (2 cores): one to inspect and
    serve, and a second one to prove the output is byte-for-byte reproducible."""
    pytest.importorskip("mkdocs", reason="docs toolchain not installed: pip install -e '.[docs]'")
    pytest.importorskip("material", reason="docs toolchain not installed: pip install -e '.[docs]'")
    sites = [tmp_path_factory.mktemp("site-a"), tmp_path_factory.mktemp("site-b")]
    results = build_all(*[(site, None) for site in sites])
    for code, out in results:
        assert code == 0, f"mkdocs build --strict failed:\n{out}"
    return sites[0], sites[1]


@pytest.fixture(scope="session")
def built_site(real_builds) -> Path:
    return real_builds[0]
