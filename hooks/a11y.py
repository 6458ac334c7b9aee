"""MkDocs hook: every box that scrolls sideways can be reached and scrolled with the keyboard.

Wide formulas, tables and code listings scroll inside their own box (docs/assets/extra.css,
Material's CSS), most of all on phones and at 200 % zoom. A reader without a mouse scrolls
such a box with the arrow keys only once it has keyboard focus, so each one gets
``tabindex="0"`` in the HTML itself, which works with JavaScript off:

- display formulas (KaTeX's ``katex-display``) also get a role and a name, so a screen reader
  announces a formula, not an unnamed stop (the MathML inside is what it then reads);
- tables keep their table role (it already tells what the stop is) and get focus only when
  nothing in them is focusable: a link inside is already a way in;
- code listings: Material's JavaScript removes the stop again from those that fit, so only
  JavaScript-off readers tab through every listing.

This runs on the finished page (``on_post_page``), listed last in mkdocs.yml, so it sees the
formulas whichever hook typeset them and whenever. tests/test_browser.py checks the result
with axe-core in a real browser.
"""

from __future__ import annotations

import re

FORMULA = '<span class="katex-display">'
FOCUSABLE_FORMULA = '<span class="katex-display" tabindex="0" role="group" aria-label="formula">'
# Markdown and mkdocstrings tables come out as a bare <table>; Pygments' line-number tables
# carry a class and hold a code listing, which is handled below.
TABLE = re.compile(r"<table>(?P<body>.*?)</table>", re.DOTALL)
LINK = re.compile(r"<a\b[^>]*\bhref=")
CODE = re.compile(r"(<pre\b[^>]*>(?:<span></span>)?)<code>")


def _table(match: re.Match[str]) -> str:
    if LINK.search(match["body"]):
        return match[0]
    return f'<table tabindex="0">{match["body"]}</table>'


def on_post_page(output: str, page, config) -> str:
    output = output.replace(FORMULA, FOCUSABLE_FORMULA)
    output = TABLE.sub(_table, output)
    return CODE.sub(r'\1<code tabindex="0">', output)
