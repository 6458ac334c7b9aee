"""Shared fixtures for the documentation tests (tests/test_docs_build.py, tests/test_browser.py).

The suite runs in parallel workers (pytest-xdist). The real site is built once per run, by
whichever worker needs it first, under a file lock; every other worker reads the same folder.
"""

from __future__ import annotations

import os
from importlib.metadata import version
from pathlib import Path

import pytest
from filelock import FileLock
from sitebuild import build_all


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that read the real site go first: the worker that gets them starts the build at
    once while the other workers run everything else, then steals its share of them
    (`--dist worksteal`)."""
    items.sort(key=lambda item: not {"built_site", "real_builds"} & set(item.fixturenames))


def pytest_report_header() -> str:
    return "dense runs on " + ", ".join(f"{name} {version(name)}" for name in ("numpy", "tqdm"))


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
