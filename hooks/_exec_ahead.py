"""Run the pages' sessions ahead, in forked copies of the build process.

Used by hooks/exec_cache.py (not a hook itself). Most of a build is the pages' code, and the
pages are independent, so before the first page is rendered, copies of the build process
(same modules, same sys.path, same settings: nothing to set up again) run the sessions with
markdown-exec's own runner, each taking the next session in the order MkDocs renders the
pages. The outputs, and the errors exactly as markdown-exec words them, come back as JSON.
"""

from __future__ import annotations

import inspect
import json
import os
import signal
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
                    done = [run_block(run, session, block) for block in blocks]
                    out.write(json.dumps({"task": i, "blocks": done}) + "\n")
                    out.flush()
        finally:
            os._exit(0)  # none of the build's own clean-up runs in a copy

    def _collect(self, reader: int) -> None:
        with os.fdopen(reader, encoding="utf-8") as results:
            for line in results:
                message = json.loads(line)
                with self.arrived:
                    self.results[message["task"]] = message["blocks"]
                    self.arrived.notify_all()
        with self.arrived:
            self.running -= 1
            self.arrived.notify_all()

    def outputs(self, page: str, session: str) -> list[dict]:
        """The session's blocks, {"code", "output"} or {"code", "error", "returncode"};
        none if it was not run ahead or a copy died (it then runs in the build process)."""
        i = self.index.get((page, session))
        if i is None:
            return []
        with self.arrived:
            self.arrived.wait_for(lambda: i in self.results or self.running == 0)
            return self.results.pop(i, [])

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
