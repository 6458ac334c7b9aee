"""The documentation site builds strictly, renders all math at build time, is reproducible,
and a broken formula, snippet, include or link fails the build.

The failure cases build a tiny site (same mkdocs.yml, hooks and plugins; content swapped via
DENSE_DOCS_DIR) so they cost about a second each instead of a full build.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO, build_all

pytestmark = pytest.mark.docs
pytest.importorskip("mkdocs", reason="docs toolchain not installed: pip install -e '.[docs]'")

# Code listings legitimately show TeX source (docstrings with show_source: true), and KaTeX's
# MathML keeps the TeX in <annotation>: leave those out before looking for unrendered math.
VERBATIM = re.compile(r"<(pre|code|annotation|script|style|textarea)\b.*?</\1>", re.DOTALL)
RAW_TEX = re.compile(r"\\[(\[]|\\frac|\$\$")
# Anything the browser would fetch from another host: scripts, styles, images, frames, fonts.
EXTERNAL_FETCH = re.compile(
    r"<(?:script|img|iframe|source|audio|video|embed)\b[^>]*\bsrc=\"(?:https?:)?//"
    r"|<link\b[^>]*\brel=\"(?:stylesheet|preload|modulepreload|icon|prefetch|preconnect)\"[^>]*"
    r"\bhref=\"(?:https?:)?//"
    r"|url\(\s*['\"]?(?:https?:)?//"
    r"|@import\s"
)


# Output that is measured at build time (timings) differs on every build by nature. Pages wrap
# it in <div class="measured" data-search-exclude markdown> ... </div>; the reproducibility
# checks blank those blocks (data-search-exclude keeps the numbers out of the search index).
MEASURED = '<div class="measured">'
DIV_TAG = re.compile(r"<div\b|</div>")


def mask_measured(html: str) -> str:
    out, pos = [], 0
    while (start := html.find(MEASURED, pos)) != -1:
        depth = 0
        for tag in DIV_TAG.finditer(html, start):
            depth += 1 if tag[0] == "<div" else -1
            if depth == 0:
                break
        assert depth == 0, f"unclosed {MEASURED}"
        out += [html[pos:start], MEASURED, "</div>"]
        pos = tag.end()
    out.append(html[pos:])
    return "".join(out)


def same_build_output(a: Path, b: Path) -> bool:
    x, y = a.read_bytes(), b.read_bytes()
    if a.suffix == ".html":
        x, y = (mask_measured(t.decode("utf-8")).encode("utf-8") for t in (x, y))
    return x == y


def pages(site: Path) -> list[Path]:
    found = sorted(site.rglob("*.html"))
    assert found, f"no HTML in {site}"
    return found


def test_real_site_renders_all_math_at_build_time(built_site: Path) -> None:
    katex_pages = []
    for page in pages(built_site):
        html = page.read_text(encoding="utf-8")
        name = page.relative_to(built_site)
        prose = VERBATIM.sub("", html)
        leftover = RAW_TEX.findall(prose)
        assert not leftover, f"{name}: unrendered TeX {leftover[:5]}"
        # every arithmatex wrapper got KaTeX output inside it
        for m in re.finditer(r'class="arithmatex[^"]*">(.{0,40})', html, re.DOTALL):
            assert m[1].startswith(('<span class="katex', "<span class='katex")), (name, m[1])
        if 'class="katex"' in html:
            katex_pages.append(name)
        assert "assets/katex/katex.min.css" in html, f"{name} does not link the KaTeX CSS"
        assert "katex.min.js" not in html, name  # no math JavaScript in the browser
        assert "mathjax" not in html.lower(), name
    assert Path("index.html") in katex_pages, "the home page has no rendered math"
    api_pages = [p for p in katex_pages if p.parts[0] == "api"]
    assert api_pages, "docstring math is not rendered on any API page"


def test_katex_css_matches_renderer_and_ships_its_fonts(built_site: Path) -> None:
    css_path = built_site / "assets" / "katex" / "katex.min.css"
    css = css_path.read_text(encoding="utf-8")
    pinned = json.loads((REPO / "package.json").read_text())["dependencies"]["katex"]
    locked = json.loads((REPO / "package-lock.json").read_text())["packages"]
    assert locked["node_modules/katex"]["version"] == pinned, "package-lock.json disagrees"
    installed = json.loads((REPO / "node_modules/katex/package.json").read_text())["version"]
    assert installed == pinned, f"node_modules has KaTeX {installed}, package.json pins {pinned}"
    # katex.min.css carries its own version; the renderer's is checked by hooks/katex.py.
    assert f'katex-version:after{{content:"{pinned}"}}' in css
    fonts = re.findall(r"url\(([^)]+)\)", css)
    assert fonts, "no @font-face sources in the KaTeX CSS"
    for font in fonts:
        assert (css_path.parent / font).is_file(), f"katex.min.css references missing {font}"


def test_no_third_party_requests_in_built_site(built_site: Path) -> None:
    for path in [*pages(built_site), *built_site.rglob("*.css")]:
        text = path.read_text(encoding="utf-8")
        hits = [m[0] for m in EXTERNAL_FETCH.finditer(text)]
        assert not hits, f"{path.relative_to(built_site)} fetches from elsewhere: {hits[:3]}"
        # Material's repository widget calls the GitHub API unless hooks/offline.py unhooks it
        assert 'data-md-component="source"' not in text, path


def test_two_builds_are_byte_identical(real_builds: tuple[Path, Path]) -> None:
    a, b = real_builds
    # sitemap.xml carries the build date (<lastmod>) and the .gz the build time in its header:
    # that is by design, everything else must not change from one build to the next.
    skip = {Path("sitemap.xml"), Path("sitemap.xml.gz")}

    def files(site: Path) -> set[Path]:
        return {p.relative_to(site) for p in site.rglob("*") if p.is_file()} - skip

    assert files(a) == files(b)
    assert any(p.suffix == ".html" for p in files(a))
    different = [p for p in sorted(files(a)) if not same_build_output(a / p, b / p)]
    if different:
        first = different[0]
        x, y = (a / first).read_bytes(), (b / first).read_bytes()
        at = next(
            (i for i, (u, v) in enumerate(zip(x, y, strict=False)) if u != v), min(len(x), len(y))
        )
        pytest.fail(
            f"{len(different)} files differ between two builds: {[str(p) for p in different]}\n"
            f"first difference in {first} at byte {at}:\n{x[at - 80 : at + 80]!r}\n{y[at - 80 : at + 80]!r}"
        )


# ---------------------------------------------------------------------------- small sites

GOOD_INDEX = r"""
# Small site

Inline \(a^2 + b^2 = c^2\) and display:

\[
\frac{\partial L}{\partial W} = X^\top \frac{\partial L}{\partial Y}
\]

See [the backward pass](backward.md).

```python exec="on" session="t"
import numpy as np
x = np.arange(3)
assert x.sum() == 3
print(x.sum())
```

A figure, drawn at build time with the pattern documented in hooks/reproducible.py:

```python exec="on" html="1" session="t"
import io

import matplotlib.pyplot as plt

rng = np.random.default_rng(0)
fig, ax = plt.subplots(figsize=(4, 2))
ax.plot(rng.standard_normal(50).cumsum(), label="loss")
ax.set_title("training loss")
ax.legend()
buf = io.StringIO()
fig.savefig(buf, format="svg", metadata={"Date": None})
plt.close(fig)
svg = buf.getvalue()
print(svg[svg.index("<svg"):])
```
"""

GOOD_BACKWARD = r"""
# Backward

Fine: \(x\). Back to [home](index.md#small-site).

<div class="measured" data-search-exclude markdown>

```python exec="on"
import time

print(f"measured: {time.perf_counter_ns()} ns")
```

</div>

After the measurement.
"""

FAULTS = {
    # name: (backward.md content, strings the build log must contain)
    "malformed-formulas": (
        "# Backward\n\nBroken inline \\(\\frac{a}{\\) and display\n\n\\[\n\\notamacro{x}\n\\]\n",
        ["backward.md", r"\frac{a}{", r"\notamacro{x}"],
    ),
    "failing-snippet": (
        '# Backward\n\n```python exec="on"\nimport numpy as np\nassert 1 == 2\n```\n',
        ["Execution of python code block", "AssertionError", "assert 1 == 2"],
    ),
    "broken-link-and-anchor": (
        "# Backward\n\n[gone](missing-page.md) and [nowhere](index.md#no-such-anchor)\n",
        ["missing-page.md", "no-such-anchor"],
    ),
    "unresolved-api-reference": (
        "# Backward\n\nSee [gone][dense.NoSuchThing].\n",
        ["backward.md", "dense.NoSuchThing"],
    ),
    "math-in-heading": (
        "# Backward\n\n## Gradient \\(\\partial L/\\partial W\\)\n\ntext\n",
        ["backward.md", r"Gradient \(\partial L/\partial W\)", "data-toc-label"],
    ),
    "missing-include-section": (
        '# Backward\n\n```python\n--8<-- "pyproject.toml:no-such-section"\n```\n',
        ["no-such-section"],
    ),
}


def small_docs(tmp_path: Path, backward: str) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(textwrap.dedent(GOOD_INDEX), encoding="utf-8")
    (docs / "backward.md").write_text(backward, encoding="utf-8")
    return docs


def test_small_site_builds_and_is_reproducible(tmp_path: Path) -> None:
    """Control for the failures below (they come from the fault, not from the small-site
    setup), and reproducibility of build-time figures: two builds, same bytes."""
    docs = small_docs(tmp_path, GOOD_BACKWARD)
    for code, out in build_all((tmp_path / "a", docs), (tmp_path / "b", docs), timeout=300):
        assert code == 0, out
    html = (tmp_path / "a" / "index.html").read_text(encoding="utf-8")
    assert html.count('class="katex"') == 2
    assert 'class="katex-display"' in html
    assert "<p>3</p>" in html, "markdown-exec output missing"
    assert "<svg" in html, "the matplotlib figure is missing"
    assert "<?xml" not in html
    for page in ("index.html", "backward/index.html", "search/search_index.json"):
        a, b = (tmp_path / site / page for site in ("a", "b"))
        assert same_build_output(a, b), f"{page} differs between two builds"
    # the measured block really differs, and masking it leaves the rest of the page intact
    a, b = (tmp_path / site / "backward/index.html" for site in ("a", "b"))
    assert a.read_bytes() != b.read_bytes()
    masked = mask_measured(a.read_text(encoding="utf-8"))
    assert "measured: " not in masked
    assert "After the measurement." in masked


@pytest.mark.parametrize("fault", FAULTS)
def test_strict_build_fails_on(fault: str, tmp_path: Path) -> None:
    backward, expected = FAULTS[fault]
    [(code, out)] = build_all((tmp_path / "site", small_docs(tmp_path, backward)), timeout=300)
    assert code != 0, f"strict build passed despite {fault}:\n{out}"
    for needle in expected:
        assert needle in out, f"build log does not mention {needle!r}:\n{out}"
    if fault == "malformed-formulas":
        # one warning per bad formula, each naming the page, not just the first one
        assert len(re.findall(r"WARNING.*backward\.md: KaTeX cannot render", out)) == 2, out
