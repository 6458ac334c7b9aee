"""The cache of executed code (hooks/exec_cache.py): a reused session prints exactly what a
fresh build prints, anything the session depends on makes it run again, `mkdocs build` never
reads the cache unless asked to, and `mkdocs serve --dirty` rebuilds every page that must.

Each test builds a tiny site in a copy of the repository's site sources (mkdocs.yml, hooks,
dense, tools, benchmarks, includes), so it can edit the package or pagekit freely. The pages'
code appends its session's name to a log file whenever it really runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
from sitebuild import NAV_PAGE, REPO, hook_module, reader_text, same_build_output

pytestmark = pytest.mark.docs
pytest.importorskip("mkdocs", reason="docs toolchain not installed: pip install -e '.[docs]'")

SITE_SOURCES = ["mkdocs.yml", "hooks", "dense", "tools", "benchmarks", "includes"]
SITE_SOURCES += ["package.json", "package-lock.json"]
CACHE_VARIABLES = ("CI", "DENSE_EXEC_CACHE", "DENSE_EXEC_CACHE_DIR", "DENSE_DOCS_DIR")

PAGE = """
# Cache

{prose}

```python exec="on" source="above" result="text" session="chain"
import dense
open(LOG, "a").write(f"chain {{os.getpid()}}\\n")
x = {x}
```

```python exec="on" source="above" result="text" session="chain"
print(f"x is {{x}}, the package says {{getattr(dense, 'PROBE', 'nothing')}}")
```

```python exec="on" source="above" result="text" session="data"
from pathlib import Path
open(LOG, "a").write(f"data {{os.getpid()}}\\n")
print("data:", Path(DATA).read_text().strip())
```

```python exec="on" source="above" result="text" session="kit"
import pagekit
open(LOG, "a").write(f"kit {{os.getpid()}}\\n")
print("pagekit says", getattr(pagekit, "PROBE", "nothing"))
```

<div class="measured" markdown>

```python exec="on" result="text" session="clock"
import time
open(LOG, "a").write(f"clock {{os.getpid()}}\\n")
print(f"measured: {{time.perf_counter_ns()}} ns")
```

</div>
"""


class Site:
    """A copy of the site sources with one page of code, its cache and its run log."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        for name in SITE_SOURCES:
            source = REPO / name
            if source.is_dir():
                ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
                shutil.copytree(source, root / name, ignore=ignore)
            else:
                shutil.copy2(source, root / name)
        if (REPO / "node_modules" / "katex" / "package.json").exists():
            (root / "node_modules").symlink_to(REPO / "node_modules")  # else: the copy's npm ci
        for page in NAV_PAGE.findall((root / "mkdocs.yml").read_text(encoding="utf-8")):
            (root / "docs" / page).parent.mkdir(parents=True, exist_ok=True)
            (root / "docs" / page).write_text(f"# {Path(page).stem}\n", encoding="utf-8")
        self.log = root / "runs.log"
        self.data = root / "notes" / "data.txt"
        self.data.parent.mkdir()
        self.data.write_text("first\n", encoding="utf-8")
        self.cache = root / ".cache" / "exec"
        self.write_page(prose="Some prose.", x=1)

    def write_page(self, *, prose: str, x: int) -> None:
        names = f"import os\nLOG = {str(self.log)!r}\nDATA = {str(self.data)!r}\n"
        page = PAGE.format(prose=prose, x=x)
        # The paths go into the first block of each session that needs them.
        page = page.replace(
            'session="chain"\nimport dense', f'session="chain"\n{names}import dense'
        )
        page = page.replace('session="data"\n', f'session="data"\n{names}', 1)
        page = page.replace('session="kit"\n', f'session="kit"\n{names}', 1)
        page = page.replace('session="clock"\n', f'session="clock"\n{names}', 1)
        (self.root / "docs" / "index.md").write_text(textwrap.dedent(page), encoding="utf-8")

    def env(self, cache: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in CACHE_VARIABLES}
        env.update(NO_MKDOCS_2_WARNING="1", NO_COLOR="1", DENSE_EXEC_CACHE_DIR=str(self.cache))
        if cache is not None:
            env["DENSE_EXEC_CACHE"] = cache
        return env

    def start_build(self, site: str, cache: str | None = "1", **env) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(self.root / site)]
        return subprocess.Popen(
            cmd, cwd=self.root, env={**self.env(cache), **env}, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def build(self, site: str, cache: str | None = "1", **env) -> str:
        [out] = builds(self.start_build(site, cache, **env))
        return out

    def runs(self) -> list[str]:
        """The sessions that ran, in order (each block that runs logs its session's name)."""
        return [line.split()[0] for line in self.lines()]

    def pids(self) -> set[int]:
        """The processes they ran in."""
        return {int(line.split()[1]) for line in self.lines()}

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def text(self, site: str) -> str:
        return reader_text((self.root / site / "index.html").read_text(encoding="utf-8"))

    def edit(self, relative: str, addition: str) -> None:
        path = self.root / relative
        path.write_text(path.read_text(encoding="utf-8") + addition, encoding="utf-8")


def builds(*procs: subprocess.Popen) -> list[str]:
    """Wait for builds started side by side; each must pass (strict)."""
    outs = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"mkdocs build --strict failed:\n{out}"
        outs.append(out)
    return outs


def ran_since(site: Site, before: list[str]) -> set[str]:
    runs = site.runs()
    assert runs[: len(before)] == before
    return set(runs[len(before) :])


def same_site(a: Path, b: Path) -> list[str]:
    """Files that differ between two built sites (measured blocks and sitemaps aside)."""
    skip = {Path("sitemap.xml"), Path("sitemap.xml.gz")}
    files = [{p.relative_to(s) for p in s.rglob("*") if p.is_file()} - skip for s in (a, b)]
    assert files[0] == files[1]
    return [str(p) for p in sorted(files[0]) if not same_build_output(a / p, b / p)]


def test_a_reused_session_prints_what_a_fresh_build_prints(tmp_path: Path) -> None:
    site = Site(tmp_path / "repo")
    _, filled = builds(site.start_build("fresh", cache=None), site.start_build("filled"))
    assert "reused 0 of 4 sessions" in filled
    assert sorted(site.runs()) == sorted(["chain", "data", "kit", "clock"] * 2)
    assert len(list(site.cache.glob("*.json"))) == 4

    site.write_page(prose="Other prose, same code.", x=1)
    before = site.runs()
    reused = site.build("reused")
    # Only the measured session runs again: `mkdocs build` reuses it under `serve` only.
    assert "reused 3 of 4 sessions" in reused
    assert ran_since(site, before) == {"clock"}
    assert "Other prose, same code." in site.text("reused")
    assert "x is 1, the package says nothing" in site.text("reused")

    site.build("fresh-again", cache=None)
    # Every file, the page's notebook included: the notebooks hook recorded the reused outputs.
    assert same_site(site.root / "fresh-again", site.root / "reused") == []
    notebook = json.loads((site.root / "reused" / "notebooks" / "index.ipynb").read_text())
    outputs = ["".join(o["text"]) for c in notebook["cells"] for o in c.get("outputs", [])]
    assert "x is 1, the package says nothing\n" in outputs
    assert "pagekit says nothing\n" in outputs


def test_what_a_session_depends_on_makes_it_run_again(tmp_path: Path) -> None:
    site = Site(tmp_path / "repo")
    site.build("filled")

    def rebuild() -> tuple[set[str], str]:
        before = site.runs()
        site.build("site")
        return ran_since(site, before) - {"clock"}, site.text("site")

    # An earlier block of a session: the blocks after it run again, other sessions do not.
    site.write_page(prose="Some prose.", x=2)
    ran, text = rebuild()
    assert ran == {"chain"}
    assert "x is 2, the package says nothing" in text

    # A data file that a page's code reads (found while the code ran).
    site.data.write_text("second\n", encoding="utf-8")
    ran, text = rebuild()
    assert ran == {"data"}
    assert "data: second" in text

    # The package: every session runs again (pagekit and the benchmark results are hashed
    # with it: test_the_tracked_folders_are_hashed_whole).
    site.edit("dense/__init__.py", '\nPROBE = "edited dense"\n')
    ran, text = rebuild()
    assert ran == {"chain", "data", "kit"}
    assert "x is 2, the package says edited dense" in text


def test_mkdocs_build_never_reads_the_cache_unless_asked(tmp_path: Path) -> None:
    site = Site(tmp_path / "repo")
    site.build("filled")
    # Poison the stored output of the "kit" session: whoever reads the cache shows it.
    [entry_path] = [
        p for p in site.cache.glob("*.json") if json.loads(p.read_text())["session"] == "kit"
    ]
    entry = json.loads(entry_path.read_text())
    entry["blocks"][0]["output"] = "pagekit says POISON\n"
    entry_path.write_text(json.dumps(entry))
    stored = {p.name: p.read_bytes() for p in site.cache.glob("*.json")}

    builds(
        site.start_build("default", cache=None),
        site.start_build("ci", cache="1", CI="true"),
        site.start_build("off", cache="0"),
    )
    for name in ("default", "ci", "off"):
        assert "pagekit says nothing" in site.text(name), name
    # nor did they write to it
    assert {p.name: p.read_bytes() for p in site.cache.glob("*.json")} == stored
    site.build("opted-in")
    assert "pagekit says POISON" in site.text("opted-in"), "control: the poison is readable"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, what: str, limit: float = 300) -> None:
    end = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < end, f"after {limit} s still waiting for {what}"
        time.sleep(0.1)


def test_serve_dirty_shows_edits_and_never_stale_output(tmp_path: Path) -> None:
    site = Site(tmp_path / "repo")
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    cmd = [sys.executable, "-m", "mkdocs", "serve", "--dirty", "-a", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(cmd, cwd=site.root, env=site.env(None), stdout=log, stderr=log)

    def page() -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/dense/", timeout=10) as r:
                return reader_text(r.read().decode("utf-8"))
        except OSError:
            return ""

    try:
        wait_for(lambda: "x is 1, the package says nothing" in page(), "the first build")
        before = site.runs()
        site.write_page(prose="A new sentence.", x=1)
        wait_for(lambda: "A new sentence." in page(), "the edited prose to be served")
        # `serve` reuses every session, the measured one too
        assert site.runs() == before

        site.edit("dense/__init__.py", '\nPROBE = "edited dense"\n')
        wait_for(lambda: "the package says edited dense" in page(), "the package edit to show")
        assert ran_since(site, before) >= {"chain", "data", "kit"}
        served = (tmp_path / "serve.log").read_text()
        assert "ERROR" not in served, served
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


# ---------------------------------------------------------------- the key, without a build


@pytest.fixture(scope="module")
def hook():
    module = hook_module("exec_cache")
    yield module
    del sys.modules[module.__name__]


def test_the_blocks_of_each_session_are_read_from_the_page(hook) -> None:
    page = textwrap.dedent("""
        ```python exec="on" session="a"
        x = 1
        ```

        ````markdown
        ```python exec="on" session="a"
        shown, not executed
        ```
        ````

        ??? success "Checked"

            ```python exec="on" source="above" session="a"
            assert x == 1
            ```

        ```python exec="off" session="a"
        not executed
        ```

        <div class="measured" markdown>

        ```py exec="1"
        print(1)
        ```

        </div>
    """)
    found = hook.executed_blocks(page)
    assert [b.code for b in found["a"]] == ["x = 1", "assert x == 1"]
    assert [b.measured for b in found["a"]] == [False, False]
    assert [(b.code, b.measured) for b in found[""]] == [("print(1)", True)]


def test_the_key_changes_with_every_input(hook) -> None:
    blocks = [hook.Block('python exec="on"', "x = 1"), hook.Block('python exec="on"', "print(x)")]
    key = hook.session_key("inputs", "page.md", "s", [], blocks)
    assert key == hook.session_key("inputs", "page.md", "s", [], list(blocks))
    changed = [
        hook.session_key("other inputs", "page.md", "s", [], blocks),
        hook.session_key("inputs", "other.md", "s", [], blocks),
        hook.session_key("inputs", "page.md", "t", [], blocks),
        hook.session_key("inputs", "page.md", "s", ["y = 2"], blocks),
        hook.session_key(
            "inputs", "page.md", "s", [], [hook.Block('python exec="on"', "x = 2"), blocks[1]]
        ),
        hook.session_key(
            "inputs",
            "page.md",
            "s",
            [],
            [blocks[0], hook.Block('python exec="on" id="b"', "print(x)")],
        ),
        hook.session_key(
            "inputs",
            "page.md",
            "s",
            [],
            [blocks[0], hook.Block(blocks[1].info, blocks[1].code, True)],
        ),
    ]
    assert len({key, *changed}) == len(changed) + 1


def test_the_tracked_folders_are_hashed_whole(hook, tmp_path: Path) -> None:
    for name in ("dense/layer.py", "tools/pagekit.py", "benchmarks/results/latest.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("v1")
    (tmp_path / "hooks").mkdir()
    first = hook.tree_digest(tmp_path)
    (tmp_path / "dense" / "__pycache__").mkdir()
    (tmp_path / "dense" / "__pycache__" / "layer.cpython-311.pyc").write_text("cache")
    assert hook.tree_digest(tmp_path) == first
    for name in ("dense/layer.py", "tools/pagekit.py", "benchmarks/results/latest.json"):
        (tmp_path / name).write_text("v2")
        assert hook.tree_digest(tmp_path) != first, name
        (tmp_path / name).write_text("v1")
    (tmp_path / "tools" / "new.py").write_text("")
    assert hook.tree_digest(tmp_path) != first


def test_files_read_are_recorded_but_not_what_the_code_wrote(hook, tmp_path: Path) -> None:
    data, written = tmp_path / "data.txt", tmp_path / "out.txt"
    data.write_text("read me")
    if not hook._audit_installed:
        sys.addaudithook(hook._audit)
        hook._audit_installed = True
    reads = hook._reads = hook.Reads()
    try:
        data.read_text()
        written.write_text("mine")
        written.read_text()
        made = Path(tempfile.mkdtemp(dir=tmp_path))
        (made / "scratch").write_text("x")
        (made / "scratch").read_text()
        Path("/proc/self/status").read_text()
    finally:
        hook._reads = None
    files = reads.files()
    assert list(files) == [str(data)]
    assert files[str(data)] == hook.file_hash(str(data))


FAILING = """
# Failing

```python exec="on" source="above" result="text" session="one"
import os
open(LOG, "a").write(f"one {os.getpid()}\\n")
print("before the failure")
```

```python exec="on" source="above" result="text" session="one"
numbers = [1, 2, 3]
assert sum(numbers) == 7, "the sum"
```
"""


def test_sessions_run_ahead_like_in_the_build_process(tmp_path: Path) -> None:
    """Without the cache, the sessions run ahead in other processes; a failure there fails the
    build with the very report markdown-exec gives when it runs the block itself."""
    site = Site(tmp_path / "repo")
    ahead = site.start_build("ahead", cache=None)
    builds(ahead)
    assert site.pids(), "no session ran"
    assert ahead.pid not in site.pids(), "the sessions did not run ahead"
    site.log.unlink()
    here = site.start_build("here", cache=None, DENSE_EXEC_WORKERS="0")
    builds(here)
    assert site.pids() == {here.pid}, "DENSE_EXEC_WORKERS=0 still ran them elsewhere"
    assert same_site(site.root / "ahead", site.root / "here") == []

    page = FAILING.replace("LOG", repr(str(site.log)))
    (site.root / "docs" / "index.md").write_text(textwrap.dedent(page), encoding="utf-8")
    reports = []
    for workers in ("2", "0"):
        proc = site.start_build(f"failing-{workers}", cache=None, DENSE_EXEC_WORKERS=workers)
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode != 0, f"the failing block did not fail the build:\n{out}"
        reports.append(execution_report(out))
    assert "AssertionError: the sum" in reports[0]
    assert reports[0] == reports[1]


def execution_report(log: str) -> str:
    """markdown-exec's warning about a failed block: from its first line to the next entry."""
    lines = log[log.index("Execution of python code block") :].splitlines()
    end = next(
        i for i, line in enumerate(lines[1:], 1) if re.match(r"(INFO|WARNING|ERROR|Abort)", line)
    )
    return "\n".join(lines[:end])


@pytest.mark.parametrize("workers", ["2", "0"], ids=["run-ahead", "in-the-build"])
def test_a_page_that_changes_process_wide_state_fails_the_build(tmp_path, workers) -> None:
    site = Site(tmp_path / "repo")
    leaky = '# Leaky\n\n```python exec="on" session="leaky"\nimport numpy as np\nnp.set_printoptions(precision=2)\n```\n'
    (site.root / "docs" / "backward.md").write_text(leaky, encoding="utf-8")
    proc = site.start_build("site", cache=None, DENSE_EXEC_WORKERS=workers)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode != 0, out
    assert "backward.md: its code changes NumPy print options" in out, out
