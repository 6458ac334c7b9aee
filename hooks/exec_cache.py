"""MkDocs hook: the pages' code, run fast and never stale.

Executing the pages' code is most of a build. This hook makes it cheaper in two ways.

`mkdocs build` (CI, and by default) executes every block, in parallel with the rest of the
build: forked copies of the build process run the sessions ahead (hooks/_exec_ahead.py).

`mkdocs serve` reuses what a session printed last time if its code and inputs have not
changed: every block of it gets the output it printed then. A session is reused whole or not
at all, so no block ever runs on top of a state that earlier blocks did not build. It is
looked up under a key made of

- every executed block of the session on the page, in order: its fence line and its code
  (so an edit to an earlier block reruns the blocks after it);
- the session's blocks on earlier pages of the same build, if it has any;
- every file of `dense/`, `tools/` (pagekit), `benchmarks/` (with its results) and `hooks/`;
- the Python version and the name and version of every installed distribution;

and the entry also lists every other file the session's code opened for reading when it ran
(found with an audit hook: data a page loads, wherever it is), with a hash of each. An entry
is used only if each of those files still has that hash. A session that printed a wall-clock
measurement (it sits in `<div class="measured">` or prints one) is reused under
`mkdocs serve` only. With `mkdocs serve --dirty`, only the pages that changed, and every page
whose code would run again, are rebuilt (the last section).

`mkdocs build` uses the cache only if `DENSE_EXEC_CACHE=1` asks for it; `CI=true` or
`DENSE_EXEC_CACHE=0` turn it off everywhere. Entries are JSON files in `.cache/exec/` at the
repository root (`DENSE_EXEC_CACHE_DIR` moves them); delete the folder to clear it.

Every build also starts markdown-exec's sessions afresh (MkDocs reuses one process for all the
builds of `mkdocs serve`), and warns about a page whose code changes process-wide state that
later pages would inherit (NumPy's print options or error handling, matplotlib's rcParams,
the working directory): a page's output must depend on that page only, as in its notebook,
or reusing or running ahead one page's code would change another's output.

The notebooks hook records each block's output by wrapping markdown-exec's runner too; it
wraps this hook's runner (it comes after this hook in mkdocs.yml), so it records the outputs
that were reused or run ahead as well.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from _exec_ahead import AHEAD_OPTIONS, Ahead, can_fork, changed_state, process_state
from _exec_plan import MEASURED, Block, executed_blocks, normal
from mkdocs.plugins import event_priority, get_plugin_logger

from dense._atomic import write_atomically

try:  # markdown-exec >= 1.11 keeps its runner here; older versions in the public module
    from markdown_exec._internal.formatters import python as _exec_python
except ImportError:  # pragma: no cover
    from markdown_exec.formatters import python as _exec_python

log = get_plugin_logger("exec_cache")

ROOT = Path(__file__).resolve().parent.parent
TRACKED = ("dense", "tools", "benchmarks", "hooks")  # hashed whole: what pages import
SWITCH = "DENSE_EXEC_CACHE"
LOCATION = "DENSE_EXEC_CACHE_DIR"
FORMAT = 1  # bump when the entry layout or the key changes
KEEP = 256  # entries kept, most recently used first
NOT_DATA = ("/proc/", "/sys/", "/dev/")  # what the machine is like, not what a page reads

_command = "build"
_dirty = False


def on_startup(command, dirty):
    global _command, _dirty
    _command, _dirty = command, dirty


def mode() -> str | None:
    """'serve' or 'build' when the cache is used, None when every block is executed."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return None
    switch = os.environ.get(SWITCH, "").strip().lower()
    if switch in ("0", "no", "off", "false"):
        return None
    if _command == "serve":
        return "serve"
    return "build" if switch in ("1", "yes", "on", "true") else None


def cache_dir() -> Path:
    return Path(os.environ.get(LOCATION) or ROOT / ".cache" / "exec")


# -- The key --------------------------------------------------------------------------------


def digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def tree_digest(root: Path, folders=TRACKED) -> str:
    """Every file under `folders` of `root`: its path and its bytes (caches left out)."""
    h = hashlib.sha256()
    for folder in folders:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                h.update(f"{path.relative_to(root).as_posix()}\0".encode())
                h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def installed() -> list[str]:
    """Python's version and every distribution on sys.path, as `name-version.dist-info`."""
    found = {sys.version}
    for entry in sys.path:
        try:
            found.update(n for n in os.listdir(entry) if n.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
    return sorted(found)


def session_key(inputs: str, page: str, session: str, earlier: list[str], blocks: list[Block]):
    return digest(
        FORMAT, inputs, page, session, earlier, [[b.info, b.code, b.measured] for b in blocks]
    )


# -- Files the code reads ------------------------------------------------------------------


@dataclass
class Reads:
    """Paths a session opened while it ran, found with an audit hook (PEP 578)."""

    thread: int = field(default_factory=threading.get_ident)  # `mkdocs serve` has others
    read: set[str] = field(default_factory=set)
    written: set[str] = field(default_factory=set)
    created: set[str] = field(default_factory=set)  # folders it made (temporary ones)

    def files(self) -> dict[str, str]:
        """The data it read: {path: sha256}, without what it wrote itself, installed or
        tracked files (already in the key) and what no longer exists."""
        skip = {os.path.join(os.path.realpath(ROOT / f), "") for f in TRACKED}
        skip |= {os.path.join(os.path.realpath(p), "") for p in _prefixes()}
        skip |= {os.path.join(d, "") for d in self.created} | {str(cache_dir()) + os.sep}
        found = {}
        for path in sorted(self.read - self.written):
            if path.startswith(NOT_DATA) or os.path.realpath(path).startswith(tuple(skip)):
                continue
            if os.path.isfile(path):
                found[path] = file_hash(path)
        return found


_reads: Reads | None = None  # the session now running, when the cache is on
_audit_installed = False
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def _audit(event: str, args: tuple) -> None:
    reads = _reads
    if reads is None or event not in ("open", "os.mkdir") or threading.get_ident() != reads.thread:
        return
    path = args[0]
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        return  # a file descriptor
    path = os.path.abspath(path)
    if event == "os.mkdir":
        reads.created.add(path)
    elif isinstance(args[2], int) and args[2] & WRITE_FLAGS:
        reads.written.add(path)
    else:
        reads.read.add(path)


def _prefixes() -> set[str]:
    return {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}


_hashes: dict[tuple[str, int, int], str] = {}


def file_hash(path: str) -> str | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _hashes:
        _hashes[key] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return _hashes[key]


# -- Entries ------------------------------------------------------------------------------


def load(key: str) -> dict | None:
    path = cache_dir() / f"{key}.json"
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if entry.get("format") != FORMAT or entry.get("key") != key:
        return None
    if any(file_hash(p) != h for p, h in entry["files"].items()):
        return None
    os.utime(path)  # recently used: kept when old entries are pruned
    return entry


def store(entry: dict) -> None:
    """Write an entry atomically: a reader never sees half of one."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(entry, ensure_ascii=False).encode("utf-8")
    write_atomically(folder / f"{entry['key']}.json", lambda file: file.write(text))


def prune(keep: int = KEEP) -> None:
    entries = sorted(cache_dir().glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in entries[keep:]:
        path.unlink(missing_ok=True)


# -- Running the blocks --------------------------------------------------------------------


@dataclass
class Call:
    code: str
    options: dict
    output: str
    reused: bool


@dataclass
class Session:
    """One session's blocks on the page being rendered."""

    name: str
    key: str
    planned: list[Block]
    measured: bool
    reuse: list[dict] = field(default_factory=list)  # an entry's blocks still to hand out
    ran: list[str] = field(default_factory=list)  # code executed on this page
    reused: int = 0
    failed: bool = False
    reads: Reads = field(default_factory=Reads)


_inputs = ""
_page: str | None = None
_sessions: dict[str, Session] = {}  # the page being rendered: session name -> Session
_history: dict[str, list[Call]] = {}  # this build: session name -> every block run so far
_counts = {"reused": 0, "ran": 0}
_state_before: dict = {}
_changed_ahead: list[str] = []  # what the page's sessions changed where they ran ahead


def _runner(original):
    def run(code, returncode=None, session=None, id=None, **extra):
        options = {"returncode": returncode, "session": session, "id": id, **extra}
        current = _sessions.get(session or "") if _page is not None else None
        history = _history.setdefault(session or "", [])
        if current is not None and current.reuse and current.reuse[0]["code"] == code:
            block = current.reuse.pop(0)
            _count_block(code, id, session, extra.get("title"))
            current.reused += 1
            if "error" in block:  # run ahead, and it failed: fail as it would have here
                current.failed = True
                raise _exec_python.ExecutionError(block["error"], block["returncode"])
            history.append(Call(code, options, block["output"], reused=True))
            return block["output"]
        if current is not None:
            current.reuse = []  # the page runs something else: from here on, run it all
        if session and any(call.reused for call in history):
            _rebuild_state(original, session, history)
        output = _live(original, code, options, current)
        history.append(Call(code, options, output, reused=False))
        return output

    run.__wrapped__ = original
    return run


def _live(original, code: str, options: dict, current: Session | None) -> str:
    global _reads
    if current is not None:
        current.ran.append(code)
    _reads = current.reads if current is not None else None
    try:
        return original(code, **options)
    except Exception:
        if current is not None:
            current.failed = True
        raise
    finally:
        _reads = None


def _count_block(code: str, id: str | None, session: str | None, title: str | None) -> None:
    """Number a reused block as markdown-exec numbers the blocks it runs, so the blocks that
    do run get the same names (`__name__`, tracebacks) as in a build without the cache."""
    number = getattr(_exec_python, "_code_block_id", None)
    if number is not None:
        _exec_python._code_blocks[number(id, session, title)] = code.split("\n")


def _rebuild_state(original, session: str, history: list[Call]) -> None:
    """Run the session's reused blocks again, from a fresh state, before it runs a block the
    cache does not have (only when a page's blocks differ from what was read before the
    page ran, or a session spans pages). What they print now must be what was reused."""
    log.info("session %r: rerunning %d reused blocks to rebuild its state", session, len(history))
    _exec_python._sessions_globals.pop(session, None)
    _exec_python._sessions_counter[session] -= len(history)
    for call in history:
        output = original(call.code, **call.options)
        if call.reused and output != call.output and MEASURED not in output:
            first = normal(call.code).partition("\n")[0]
            log.warning(
                "session %r: the block starting %r printed something else when it ran again "
                "than the output reused from the cache; delete %s and report it",
                session, first, cache_dir(),
            )  # fmt: skip
        call.output, call.reused = output, False


# -- Events --------------------------------------------------------------------------------


def on_config(config):
    global _audit_installed
    original = inspect.unwrap(_exec_python._run_python)  # also this hook's, from a last build
    _exec_python._run_python = _runner(original)
    if mode() is None:
        return config
    if not _audit_installed:  # audit hooks cannot be removed: one for the whole process
        sys.addaudithook(_audit)
        _audit_installed = True
    return config


def on_pre_build(config):
    global _inputs
    # A fresh `mkdocs build` starts with no session; so does every build of `mkdocs serve`.
    for store_ in ("_sessions_globals", "_sessions_counter", "_code_blocks"):
        getattr(_exec_python, store_).clear()
    _history.clear()
    _counts.update(reused=0, ran=0)
    if mode() is not None:
        _inputs = digest(tree_digest(ROOT), installed())


def on_page_markdown(markdown, page, config, files):
    global _page
    _state_before.clear()
    _state_before.update(process_state())
    _page = page.file.src_uri
    _sessions.clear()
    for name, blocks in executed_blocks(markdown).items():
        if mode() is None:
            if _ahead is not None:
                current = _sessions[name] = Session(name, "", blocks, False)
                current.reuse, changed = _ahead.outputs(_page, name)
                _changed_ahead.extend(changed)
            continue
        earlier = [call.code for call in _history.get(name, [])]
        key = session_key(_inputs, _page, name, earlier, blocks)
        measured = any(block.measured for block in blocks)
        current = _sessions[name] = Session(name, key, blocks, measured)
        entry = load(key)
        if entry is not None and (mode() == "serve" or not entry["measured"]):
            current.reuse = list(entry["blocks"])
    return markdown


def on_page_content(html, page, config, files):
    global _page
    _warn_about_leaks(page.file.src_uri)
    if mode() is None:
        _page = None
        _sessions.clear()
        return html
    for current in _sessions.values():
        _counts["reused" if current.reused else "ran"] += 1
        planned = [block.code for block in current.planned]
        if current.failed or current.reused or [normal(c) for c in current.ran] != planned:
            continue  # not run, or not exactly as planned: nothing trustworthy to keep
        outputs = [call.output for call in _history[current.name][-len(current.ran) :]]
        store({
            "format": FORMAT,
            "key": current.key,
            "page": _page,
            "session": current.name,
            "measured": current.measured or any(MEASURED in out for out in outputs),
            "blocks": [{"code": c, "output": o} for c, o in zip(current.ran, outputs, strict=True)],
            "files": current.reads.files(),
        })  # fmt: skip
    _page = None
    _sessions.clear()
    return html


def on_post_build(config):
    _stop_ahead()
    if mode() is None:
        return
    if _quick():
        _keep_autorefs(config)
        for file in _files.documentation_pages() if _files else []:
            if file.page is not None and file.page.content is not None:
                _titles[file.src_uri] = file.page.title
    total = _counts["reused"] + _counts["ran"]
    log.info("reused %d of %d sessions from %s", _counts["reused"], total, cache_dir())
    prune()


# -- Pages stay independent ----------------------------------------------------------------


def _warn_about_leaks(page: str) -> None:
    changed = changed_state(_state_before) + _changed_ahead
    for name in dict.fromkeys(changed):
        log.warning(
            "%s: its code changes %s for the pages built after it; change it only "
            "inside a `with` block (np.printoptions, np.errstate, plt.rc_context)",
            page, name,
        )  # fmt: skip
    _changed_ahead.clear()


# -- `mkdocs serve --dirty`: rebuild only the pages that changed, and every page that must -----
#
# MkDocs then rebuilds a page only if its Markdown is newer than its HTML. That alone would keep
# a page whose code reads the package after the package changed, so here a page is rebuilt
# (its HTML deleted, which MkDocs reads as "never built") when anything but the pages' own
# Markdown changed: the package, pagekit, benchmarks, the hooks, installed packages,
# mkdocs.yml, includes/, the other files in docs/, the set of pages or a page title (the
# navigation of every page shows them); and a page with code is rebuilt when one of its
# sessions is not in the cache, e.g. because a data file it reads changed. A page left alone
# is then exactly what a rebuild would make. What MkDocs does not redo for such a page, done
# here: its title for the others' navigation, and its cross-reference targets (autorefs).


def _quick() -> bool:
    return _command == "serve" and _dirty and mode() is not None


_site: str | None = None  # everything but the pages' Markdown, at the last build
_autorefs: dict[str, dict] = {}  # the last build's cross-reference targets
_titles: dict[str, str] = {}  # each page's title, as last rendered
_files = None


def on_files(files, config):
    global _site, _files
    _files = files
    if not _quick():
        return files
    pages = [f for f in files if f.is_documentation_page()]
    sources = {f.src_uri: f.content_string for f in pages}
    others = sorted(
        (f.src_uri, file_hash(f.abs_src_path))
        for f in files
        if not f.is_documentation_page() and f.abs_src_path
    )
    titles = {uri: _title(markdown) for uri, markdown in sources.items()}
    config_file = Path(config.config_file_path)
    site = digest(
        _inputs, file_hash(str(config_file)), tree_digest(config_file.parent, ["includes"]),
        others, titles,
    )  # fmt: skip
    everything = site != _site
    _site = site
    for file in pages:
        if everything or _misses(file.src_uri, sources[file.src_uri]):
            Path(file.abs_dest_path).unlink(missing_ok=True)
    return files


def _title(source: str) -> str | None:
    from mkdocs.structure.pages import get_markdown_title
    from mkdocs.utils import meta

    markdown, front = meta.get_data(source)
    return front.get("title") or get_markdown_title(markdown)


def _misses(page: str, source: str) -> bool:
    """Whether a build would run some of this page's code rather than reuse it."""
    for name, blocks in executed_blocks(source).items():
        entry = load(session_key(_inputs, page, name, [], blocks))
        if entry is None or (entry["measured"] and mode() != "serve"):
            return True
    return False


@event_priority(-40)  # before autorefs (-50) applies the cross-references
def on_env(env, config, files):
    if not _quick():
        return env
    for file in files.documentation_pages():
        page = file.page
        if page is not None and page.markdown is None and file.src_uri in _titles:
            page.read_source(config)  # not rebuilt: the others' navigation shows its title,
            page.meta.setdefault("title", _titles[file.src_uri])  # as it was rendered
    autorefs = config.plugins.get("autorefs")
    for name, previous in _autorefs.items():
        current = getattr(autorefs, name, None)
        if isinstance(current, dict):
            for identifier, value in previous.items():
                current.setdefault(identifier, value)
    return env


def _keep_autorefs(config) -> None:
    autorefs = config.plugins.get("autorefs")
    for name in ("_primary_url_map", "_secondary_url_map", "_title_map", "_abs_url_map"):
        if isinstance(getattr(autorefs, name, None), dict):
            _autorefs[name] = dict(getattr(autorefs, name))


# -- `mkdocs build`: every page's code runs ahead (hooks/_exec_ahead.py) ----------------------
#
# Without the cache, sessions run ahead in forked copies of the build process, in parallel
# with the rendering of the pages, which take their outputs. A session whose blocks turn out
# not to be what was read from the page runs in the build process, from its first block.
# Only sessions on a single page, only where the process can fork and has no other thread
# yet; DENSE_EXEC_WORKERS sets the number of copies (default: 2, or 1 on one core; 0: none).

_ahead: Ahead | None = None


def on_nav(nav, config, files):
    global _ahead
    workers = int(os.environ.get("DENSE_EXEC_WORKERS", min(2, os.cpu_count() or 1)))
    if mode() is not None or workers < 1 or not can_fork():
        return nav
    plans, pages = [], {}
    for file in files.documentation_pages():  # the order in which MkDocs renders them
        for name, blocks in executed_blocks(file.content_string).items():
            pages.setdefault(name, set()).add(file.src_uri)
            if name and all(set(block.options) <= AHEAD_OPTIONS for block in blocks):
                plans.append((file.src_uri, name, blocks))
    plans = [plan for plan in plans if len(pages[plan[1]]) == 1]
    if plans:
        _ahead = Ahead(plans, workers)
    return nav


def _stop_ahead() -> None:
    global _ahead
    if _ahead is not None:
        _ahead.stop()
        _ahead = None


def on_build_error(error):
    _stop_ahead()
