"""The one helper module for the pages: a matplotlib figure as inline SVG.

Pages draw figures in a block that is not shown (CONTRIBUTING.md, "Figures"):

    ```python exec="on" html="1" session="forward"
    from pagekit import figure
    fig, ax = plt.subplots(figsize=(6, 3))
    ...
    print(figure(fig, alt="What the figure shows, with its numbers", caption="..."))
    ```

A build hook (hooks/page_imports.py) puts this folder on `sys.path`.
"""

from __future__ import annotations

import html
import io

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

# Same code and data, same SVG bytes, on any machine and in a notebook as in the build:
# element ids (clip paths, glyphs) are hashed from this fixed salt instead of a random one,
# and glyphs are drawn as paths, so neither the build machine's nor the reader's fonts matter.
REPRODUCIBLE_SVG = {"svg.hashsalt": "dense-docs", "svg.fonttype": "path"}


def figure(fig: Figure, alt: str, caption: str) -> str:
    """Return `fig` as an accessible, reproducible HTML figure and close it.

    `alt` is plain text read by screen readers in place of the image; `caption` is HTML
    shown under it. docs/assets/extra.css draws the figure on a white card, so its dark
    labels stay readable in the dark scheme too.
    """
    buf = io.StringIO()
    with matplotlib.rc_context(REPRODUCIBLE_SVG):
        fig.savefig(buf, format="svg", metadata={"Date": None})  # no timestamp
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML prolog and DOCTYPE: this goes inside HTML
    label = html.escape(alt, quote=True)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)
    return f'<figure class="dense-figure">{svg}<figcaption>{caption}</figcaption></figure>'
