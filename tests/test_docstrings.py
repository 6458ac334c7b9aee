"""The package's docstrings: a first line that reads as plain text in help(), and no more
docstring than the code it documents (numpy-style, as short as PyTorch's)."""

import ast
import importlib
import inspect
import io
import tokenize
import types
from pathlib import Path

import pytest

import dense

PACKAGE = Path(dense.__file__).parent
MODULES = [
    importlib.import_module("dense" if path.stem == "__init__" else f"dense.{path.stem}")
    for path in sorted(PACKAGE.glob("*.py"))
]


def documented():
    """Every public module, class, function, method and property, by qualified name."""
    seen = {}
    for module in MODULES:
        seen[module.__name__] = module
        for name in getattr(module, "__all__", []):
            value = getattr(module, name)
            # On Python 3.10 inspect.isclass is also true of an alias such as Callable[...].
            is_class = inspect.isclass(value) and not isinstance(value, types.GenericAlias)
            if is_class or inspect.isfunction(value):
                seen[f"{value.__module__}.{value.__qualname__}"] = value
                for member, attribute in vars(value).items() if is_class else ():
                    attribute = getattr(attribute, "__func__", attribute)  # classmethods
                    if not member.startswith("_") and (
                        inspect.isfunction(attribute) or isinstance(attribute, property)
                    ):
                        seen[f"{value.__module__}.{value.__qualname__}.{member}"] = attribute
    return seen


OBJECTS = documented()


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_the_first_line_reads_as_plain_text(name):
    doc = inspect.getdoc(OBJECTS[name])
    assert doc, f"{name} has no docstring"
    first = doc.splitlines()[0]
    assert first.endswith("."), f"{name}: {first!r} is not a sentence"
    assert "\\" not in first, f"{name}: TeX in the first line, which help() prints raw: {first!r}"
    assert "][" not in first, f"{name}: link markup in the first line: {first!r}"
    assert len(first) <= 92, f"{name}: the first line has {len(first)} characters"


def docstring_and_code_lines(path):
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        kinds = ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
        if isinstance(node, kinds) and ast.get_docstring(node, clean=False) is not None:
            first = node.body[0]
            docstrings.update(range(first.lineno, first.end_lineno + 1))
    code = set()
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skip | {tokenize.ENDMARKER}:
            code.update(n for n in range(token.start[0], token.end[0] + 1) if n not in docstrings)
    doc = sum(1 for n in docstrings if lines[n - 1].strip())
    return doc, sum(1 for n in code if lines[n - 1].strip())


def test_docstrings_are_no_longer_than_four_fifths_of_the_code():
    counts = {path.name: docstring_and_code_lines(path) for path in sorted(PACKAGE.glob("*.py"))}
    doc = sum(d for d, _ in counts.values())
    code = sum(c for _, c in counts.values())
    assert doc <= 0.8 * code, (
        f"{doc} non-blank docstring lines for {code} lines of code; explanations belong on "
        f"the pages. Per module (docstring, code): {counts}"
    )
