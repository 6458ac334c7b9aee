"""MkDocs hook: make build-time figures byte-for-byte reproducible.

Pages draw matplotlib figures inside markdown-exec blocks and inline them as SVG. Pattern:

    ```python exec="on" html="1"
    import io
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(...)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})  # Date=None: no timestamp
    plt.close(fig)
    svg = buf.getvalue()
    print(svg[svg.index("<svg"):])  # drop the XML prolog/DOCTYPE: we are inside HTML
    ```

With the settings below, the same code and data give the same SVG bytes on every build.

Output that is measured (timings) cannot be reproducible: wrap it in
`<div class="measured" data-search-exclude markdown>` ... `</div>` (blank lines inside);
tests/test_docs_build.py ignores the inside of such blocks when comparing two builds, and
`data-search-exclude` keeps the numbers out of the search index.
"""

from __future__ import annotations

import os


def on_config(config):
    # Headless and identical everywhere: never pick up a GUI backend from the environment.
    os.environ["MPLBACKEND"] = "Agg"
    import matplotlib

    matplotlib.use("Agg")
    # SVG element ids (clip paths, glyph defs) are hashed from this salt; the default is a
    # fresh random salt per run, which would change every page containing a figure.
    matplotlib.rcParams["svg.hashsalt"] = "dense-docs"
    # Glyphs as paths: the figure looks the same without the build machine's fonts and the
    # browser downloads no font for it (matplotlib ships DejaVu, so the paths are stable too).
    matplotlib.rcParams["svg.fonttype"] = "path"
    return config
