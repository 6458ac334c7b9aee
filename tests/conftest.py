"""Shared fixtures for the documentation tests (tests/test_docs_build.py, tests/test_browser.py).

The suite runs in parallel workers (pytest-xdist). The real site is built once per run, by
whichever worker needs it first, under a file lock; every other worker reads the same folder.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import pytest
from filelock import FileLock

REPO = Path(__file__).resolve().parent.parent
KATEX = REPO / "node_modules" / "katex" / "package.json"
NPM_DONE = REPO / "node_modules" / ".package-lock.json"
# npm must not install KaTeX twice at once, whichever pytest run or worker builds first.
NPM_LOCK = (
    Path(tempfile.gettempdir()) / f"dense-npm-{hashlib.sha256(bytes(REPO)).hexdigest()[:16]}.lock"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that read the real site go first: the worker that gets them starts the build at
    once while the other workers run everything else, then steals its share of them
    (`--dist worksteal`)."""
    items.sort(key=lambda item: not {"built_site", "real_builds"} & set(item.fixturenames))


def pytest_report_header() -> str:
    return "dense runs on " + ", ".join(f"{name} {version(name)}" for name in ("numpy", "tqdm"))


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
    """Run several builds side by side and return (code, log) each.

    On a fresh clone the first build runs `npm ci` (hooks/katex.py); any other build at the
    same time, in this worker or another, would race on node_modules, so the others start
    once npm has finished: it writes node_modules/.package-lock.json last (or once the first
    build has ended, whatever happened).
    """
    procs = []
    with FileLock(NPM_LOCK):
        if not KATEX.exists():
            procs.append(mkdocs_build(*jobs[0]))
            jobs = jobs[1:]
            while procs[0].poll() is None and not (KATEX.exists() and NPM_DONE.exists()):
                time.sleep(0.1)
    procs += [mkdocs_build(site, docs) for site, docs in jobs]
    return [finish(proc, timeout) for proc in procs]


@pytest.fixture(scope="session")
def real_builds(tmp_path_factory) -> tuple[Path, Path]:
    """Two strict builds of the real site, run side by side: one to inspect and serve, and a
    second one to prove the output is byte-for-byte reproducible.

    Built once per run: the first worker to get here builds, the others wait for the lock and
    find the sites (or the failed build's log) in the folder that all workers share.
    """
    pytest.importorskip("mkdocs", reason="docs toolchain not installed: pip install -e '.[docs]'")
    pytest.importorskip("material", reason="docs toolchain not installed: pip install -e '.[docs]'")
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # each worker's basetemp sits in the run's own folder
    sites = (shared / "real-site-a", shared / "real-site-b")
    done, failures = shared / "real-site.done", shared / "real-site.failed"
    with FileLock(shared / "real-site.lock"):
        if not (done.exists() or failures.exists()):
            results = build_all(*[(site, None) for site in sites])
            failed = [out for code, out in results if code != 0]
            if failed:  # the first failure's log (the two builds usually fail alike)
                failures.write_text(failed[0], encoding="utf-8")
            else:
                done.touch()
    if failures.exists():
        pytest.fail(f"mkdocs build --strict failed:\n{failures.read_text(encoding='utf-8')}")
    return sites


@pytest.fixture(scope="session")
def built_site(real_builds) -> Path:
    return real_builds[0]
