"""MkDocs hook: show the package's own code on a page, never a pasted copy.

An empty fenced block that names an object,

    ```python object="dense.layer.Dense.forward"
    ```

becomes that object's real source without its docstrings, titled with its file:

    ```python title="dense/layer.py"
    def forward(self, input):
        ...
    ```

Functions, methods, classes (their methods' docstrings go too), properties and modules work.
An object that cannot be found, or a block that is not empty, is logged as a WARNING naming
the page and the object, so `mkdocs build --strict` fails. This runs on the page's Markdown,
before anything else reads it: later steps see an ordinary code block.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import textwrap
from pathlib import Path

from mkdocs.plugins import get_plugin_logger

log = get_plugin_logger("source")

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
OBJECT = re.compile(r'\bobject="(?P<path>[^"]*)"')
DEFINITIONS = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def strip_docstrings(source: str) -> str:
    """`source` without the docstrings of its module, classes and functions.

    A body that was only a docstring (a protocol's method) keeps `...`, so the listing stays
    valid Python; the blank line after a docstring goes with it.
    """
    lines = source.splitlines()
    drop: set[int] = set()
    keep_as: dict[int, str] = {}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, DEFINITIONS) or not node.body:
            continue
        first = node.body[0]
        if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)):
            continue
        if not isinstance(first.value.value, str):
            continue
        start, end = first.lineno - 1, first.end_lineno - 1
        indent = lines[start][: first.col_offset]
        after = lines[end].encode()[first.end_col_offset :]  # offsets count UTF-8 bytes
        if indent.strip() or after.strip():
            raise ValueError(f"line {start + 1}: a docstring shares its line with other code")
        drop.update(range(start, end + 1))
        if len(node.body) == 1:
            keep_as[start] = indent + "..."
        elif end + 1 < len(lines) and not lines[end + 1].strip():
            drop.add(end + 1)
    return "\n".join(keep_as.get(n, line) for n, line in enumerate(lines)
                     if n not in drop or n in keep_as)  # fmt: skip


def _find(path: str):
    """The object named by a dotted path: the longest importable module, then attributes."""
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        module = ".".join(parts[:n])
        try:
            obj = importlib.import_module(module)
        except ModuleNotFoundError as error:
            if not module.startswith(error.name or "?"):
                raise  # the module exists but imports something missing: say so
            continue
        for name in parts[n:]:
            obj = getattr(obj, name)
        return obj
    raise ModuleNotFoundError(f"no module named {parts[0]!r}")


def listing(path: str) -> tuple[str, str]:
    """(file relative to its package's parent, e.g. "dense/layer.py"; source without docstrings)."""
    obj = _find(path)
    if isinstance(obj, property):
        obj = obj.fget
    file = Path(inspect.getsourcefile(obj)).resolve()
    top = importlib.import_module(path.split(".")[0])
    where = file.relative_to(Path(top.__file__).resolve().parent.parent).as_posix()
    return where, strip_docstrings(textwrap.dedent(inspect.getsource(obj)))


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(fence) and stripped == fence[0] * len(stripped)


def on_page_markdown(markdown, page, config, files):
    lines, out, i = markdown.split("\n"), [], 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            out.append(lines[i])
            i += 1
            continue
        indent, fence, info = opening["indent"], opening["fence"], opening["info"]
        end = next((j for j in range(i + 1, len(lines)) if _closes(lines[j], fence)), len(lines))
        named = OBJECT.search(info)
        if named is None:  # any other block, including one that shows this syntax
            out += lines[i : end + 1]
            i = end + 1
            continue
        path, where = named["path"], page.file.src_uri
        if any(line.strip() for line in lines[i + 1 : end]):
            log.warning('%s: the block for object="%s" must be empty: the build fills it in',
                        where, path)  # fmt: skip
        try:
            file, source = listing(path)
        except Exception as error:  # anything from importing it to reading its source
            log.warning('%s: cannot show object="%s": %s: %s',
                        where, path, type(error).__name__, error)  # fmt: skip
            file, source = "", f"# {path} not found"
        title = "" if "title=" in info else f'title="{file}"'
        out.append(f"{indent}{fence}{OBJECT.sub(title, info, count=1).rstrip()}")
        out += [f"{indent}{line}" if line else "" for line in source.split("\n")]
        out.append(f"{indent}{fence}")
        i = end + 1
    return "\n".join(out)
