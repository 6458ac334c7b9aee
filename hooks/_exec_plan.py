"""The Python blocks a page executes, read from its Markdown before markdown-exec runs them.

Used by hooks/exec_cache.py (not a hook itself): it looks a session up in the cache, or has
it run ahead, before the page is rendered. What markdown-exec then really runs is compared,
block by block, with what is read here; a difference only costs time, never correctness.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
OPTION = re.compile(r"""(?P<key>[\w-]+)=(?P<value>"[^"]*"|'[^']*'|[^\s}]+)""")
MEASURED = 'class="measured"'


@dataclass(frozen=True)
class Block:
    info: str  # the fence's options, e.g. 'python exec="on" session="forward"'
    code: str
    measured: bool = False  # inside <div class="measured" markdown>

    @property
    def options(self) -> dict[str, str]:
        return fence_options(self.info)


def fence_options(info: str) -> dict[str, str]:
    return {m["key"]: m["value"].strip("\"'") for m in OPTION.finditer(info)}


def executed_blocks(markdown: str) -> dict[str, list[Block]]:
    """The executed Python blocks of a page by session name ('' for none), in order."""
    sessions: dict[str, list[Block]] = {}
    lines = markdown.splitlines()
    divs, measured_from = 0, None  # open <div>s; the depth of the measured one we are in
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            line = lines[i].strip()
            if line.startswith("<div"):
                divs += 1
                if MEASURED in line and measured_from is None:
                    measured_from = divs
            elif line == "</div>":
                measured_from = None if measured_from == divs else measured_from
                divs -= 1
            i += 1
            continue
        fence, indent = m["fence"], m["indent"]
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        end = next((j for j in range(i + 1, len(lines)) if closing.match(lines[j])), len(lines))
        info = m["info"].strip().removeprefix("{").removesuffix("}").strip()
        options = fence_options(info)
        language = info.split(maxsplit=1)[0].lstrip(".") if info else ""
        if language in ("python", "py") and _is_on(options.get("exec")):
            body = [line.removeprefix(indent) for line in lines[i + 1 : end]]
            block = Block(info, normal("\n".join(body)), measured_from is not None)
            sessions.setdefault(options.get("session", ""), []).append(block)
        i = end + 1  # what a fence holds is code, even when it looks like a fence
    return sessions


def _is_on(value: str | None) -> bool:  # markdown-exec's reading of exec="..."
    return value is not None and value.lower() not in {"", "no", "off", "false", "0"}


def normal(code: str) -> str:
    return textwrap.dedent(code).strip("\n")
