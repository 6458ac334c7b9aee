"""MkDocs hook: every term of includes/abbreviations.md is a tooltip wherever it appears.

The file holds one line per term, ``*[SGD]: Stochastic gradient descent: ...``. We read it
once per build and give it to Markdown's ``abbr`` extension as its glossary, so every page,
every docstring on the API pages and every block of printed Markdown gets the tooltips.

Appending the file to each page's source (``pymdownx.snippets``) does the same, but
markdown-exec converts each block's output with a Markdown instance of its own, and each of
those conversions parsed the whole file again: 459 times, about 4 s of a 30 s build, and 8 s
of a 31 s build that reused the pages' outputs (as `mkdocs serve` does).

A line that is not a term, a comment (``[//]: # "..."``) or blank stops the build, naming the
line: a term with a typo would otherwise lose its tooltip without a word.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.exceptions import PluginError

SOURCE = "includes/abbreviations.md"
TERM = re.compile(r"\*\[(?P<term>[^\]]+)\]: (?P<definition>\S.*)")
COMMENT = re.compile(r'\[//\]: # ".*"')


def glossary(text: str, name: str = SOURCE) -> dict[str, str]:
    """Each term of an abbreviations file with its definition, in the file's order."""
    terms: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or COMMENT.fullmatch(line):
            continue
        match = TERM.fullmatch(line)
        if match is None:
            raise PluginError(f"{name}:{number}: expected '*[TERM]: definition', got {line!r}")
        if match["term"] in terms:
            raise PluginError(f"{name}:{number}: {match['term']!r} is defined twice")
        terms[match["term"]] = match["definition"]
    return terms


def on_config(config):
    source = Path(config.config_file_path).parent / SOURCE
    terms = glossary(source.read_text(encoding="utf-8"))
    # In place: markdown-exec keeps this dict for the Markdown instances it makes
    config.mdx_configs.setdefault("abbr", {})["glossary"] = terms
    return config
