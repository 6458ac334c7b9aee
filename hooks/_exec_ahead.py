"""Run the pages' sessions ahead, in forked copies of the build process.

Used by hooks/exec_cache.py (not a hook itself). Most of a build is the pages' code, and the
pages are independent, so before the first page is rendered, copies of the build process
(same modules, same sys.path, same settings: nothing to set up again) run the sessions with
markdown-exec's own runner, each taking the next session in the order MkDocs renders the
pages. The outputs, the errors exactly as markdown-exec words them, and the process-wide
settings a session changed (hooks/exec_cache.py warns about those) come back as JSON.
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import sys
import threading

from _exec_plan import Block

try:  # markdown-exec >= 1.11 keeps its runner here; older versions in the public module
    from markdown_exec._internal.formatters import python as _exec_python
except ImportError:  # pragma: no cover
    from markdown_exec.formatters import python as _exec_python

# Options markdown-exec applies around the runner (workdir, width) would be missed here.
AHEAD_OPTIONS = {"exec", "source", "result", "html", "session", "id", "title", "hl_lines",
                 "linenums", "tabs", "idprefix", "updatetoc"}  # fmt: skip


def can_fork() -> bool:
    # A process with other threads could hand a lock one of them holds to its copy, forever.
    return hasattr(os, "fork") and threading.active_count() == 1


class Ahead:
    """`workers` forked copies running `plans` [(page, session, blocks)] in order."""

    def __init__(self, plans: list[tuple[str, str, list[Block]]], workers: int) -> None:
        self.plans = plans
        self.index = {(page, session): i for i, (page, session, _) in enumerate(plans)}
        self.results: dict[int, list[dict]] = {}
        self.arrived = threading.Condition()
        self.pids: list[int] = []
        tasks, queue = os.pipe()
        readers = []
        for _ in range(workers):
            reader, writer = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(reader)
                os.close(queue)
                self._work(tasks, writer)  # never returns
            os.close(writer)
            self.pids.append(pid)
            readers.append(reader)
        os.close(tasks)
        # One 4-byte write per session: a pipe hands each write of at most PIPE_BUF bytes to
        # one reader whole, so the copies share the queue without a lock.
        with os.fdopen(queue, "wb") as out:
            out.write(b"".join(i.to_bytes(4, "little") for i in range(len(plans))))
        self.running = len(readers)
        for reader in readers:
            threading.Thread(target=self._collect, args=(reader,), daemon=True).start()

    def _work(self, tasks: int, results: int) -> None:
        try:
            run = inspect.unwrap(_exec_python._run_python)
            with os.fdopen(results, "w", encoding="utf-8") as out:
                while len(task := os.read(tasks, 4)) == 4:
                    i = int.from_bytes(task, "little")
                    _, session, blocks = self.plans[i]
                    before = process_state()
                    done = [run_block(run, session, block) for block in blocks]
                    changed = changed_state(before)
                    out.write(json.dumps({"task": i, "blocks": done, "changed": changed}) + "\n")
                    out.flush()
        finally:
            os._exit(0)  # none of the build's own clean-up runs in a copy

    def _collect(self, reader: int) -> None:
        with os.fdopen(reader, encoding="utf-8") as results:
            for line in results:
                message = json.loads(line)
                with self.arrived:
                    self.results[message["task"]] = message
                    self.arrived.notify_all()
        with self.arrived:
            self.running -= 1
            self.arrived.notify_all()

    def outputs(self, page: str, session: str) -> tuple[list[dict], list[str]]:
        """The session's blocks, {"code", "output"} or {"code", "error", "returncode"}, and
        the process-wide state it changed; no blocks if it was not run ahead or a copy died
        (it then runs in the build process)."""
        i = self.index.get((page, session))
        if i is None:
            return [], []
        with self.arrived:
            self.arrived.wait_for(lambda: i in self.results or self.running == 0)
            message = self.results.pop(i, {})
        return message.get("blocks", []), message.get("changed", [])

    def stop(self) -> None:
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def run_block(run, session: str, block: Block) -> dict:
    """Run one block as markdown-exec's Python formatter would."""
    options = block.options
    extra = {"title": options["title"]} if "title" in options else {}
    returncode = int(options.get("returncode", 0))
    try:
        output = run(block.code, returncode=returncode, session=session,
                     id=options.get("id", ""), **extra)  # fmt: skip
    except _exec_python.ExecutionError as error:
        return {"code": block.code, "error": str(error), "returncode": error.returncode}
    return {"code": block.code, "output": output}


def process_state() -> dict:
    """What a page's code could change for every page after it."""
    state: dict = {"working directory": os.getcwd()}
    if "numpy" in sys.modules:
        numpy = sys.modules["numpy"]
        state["NumPy print options (np.set_printoptions)"] = numpy.get_printoptions()
        state["NumPy error handling (np.seterr)"] = numpy.geterr()
    if "matplotlib" in sys.modules:
        state["matplotlib.rcParams"] = dict(sys.modules["matplotlib"].rcParams.copy())
    return state


def changed_state(before: dict) -> list[str]:
    after = process_state()
    return [name for name, value in before.items() if after.get(name) != value]
