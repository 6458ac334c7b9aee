"""MkDocs hook: two builds of the site are identical, except what is measured.

Figures: pages draw them with `pagekit.figure` (tools/pagekit.py), which writes the same SVG
bytes for the same code and data; here we only make matplotlib headless everywhere.

Measured output (wall-clock timings) cannot be reproducible. Pages put it inside

    <div class="measured" markdown>

    ...

    </div>

tests/test_docs_build.py ignores the inside of such blocks when it compares two builds, and
this hook keeps them out of the search index, whose bytes must not change either. The search
plugin reads the `data-search-exclude` we add, then removes it from the page.
"""

from __future__ import annotations

import os

MEASURED = '<div class="measured">'


def on_config(config):
    # Headless and identical everywhere: never pick up a GUI backend from the environment.
    os.environ["MPLBACKEND"] = "Agg"
    import matplotlib

    matplotlib.use("Agg")
    return config


def on_page_content(content, page, config, files):
    return content.replace(MEASURED, '<div class="measured" data-search-exclude="measured">')
