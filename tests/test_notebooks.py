"""Every main page's notebook runs top to bottom in a fresh kernel and prints what the page shows.

hooks/notebooks.py writes `notebooks/<page>.ipynb` into the built site, holding in each code
cell the output the build printed for that block. Here each notebook runs in a new IPython
kernel, in an empty folder (as after a reader downloads it), and every code cell must print
exactly what the page shows: the same stdout, character for character, and nothing the page
does not show (no error, no displayed value). One exception, by rule: a cell tagged `measured`
(wall-clock timings, inside `<div class="measured">` on the page) must print the same text
with only its numbers different (`mask_numbers` in the hook).
"""

from __future__ import annotations

import base64
import difflib
import html
import os
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from sitebuild import REPO, hook_module

pytestmark = pytest.mark.docs
pytest.importorskip("mkdocs", reason="docs toolchain not installed: pip install -e '.[docs]'")
nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[docs]'")
nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[test]'")
markdown = pytest.importorskip("markdown", reason="pip install -e '.[docs]'")
Config = pytest.importorskip("traitlets.config").Config


hook = hook_module("notebooks")
# What the build's first hook sets, so a kernel does the pages' arithmetic (hooks/arithmetic.py).
ARITHMETIC = hook_module("arithmetic").same_arithmetic()
DOCS = REPO / "docs"
PAGES = sorted(
    path.relative_to(DOCS).as_posix()
    for path in DOCS.rglob("*.md")
    if hook.is_main_page(path.relative_to(DOCS).as_posix())
)


def _page_html(site: Path, page: str) -> Path:
    stem = page.removesuffix(".md")
    return site / ("index.html" if stem == "index" else f"{stem}/index.html")


def _stdout(outputs) -> str:
    return "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout")


def _unexpected(outputs) -> list[str]:
    """What a cell showed that a page cannot show: errors, displayed values, figures."""
    found = []
    for output in outputs:
        if output.output_type == "error":
            found.append(f"{output.ename}: {output.evalue}")
        elif output.output_type in ("execute_result", "display_data"):
            data = output.get("data", {})
            found.append(f"{output.output_type}: {data.get('text/plain', sorted(data))}")
    return found


def _describe(page: str, index: int, cell) -> str:
    first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
    return f"{page}: notebook cell {index} (execution count {cell.execution_count}), `{first}`"


def _diff(expected: str, actual: str) -> str:
    lines = difflib.unified_diff(
        expected.splitlines(keepends=True),
        actual.splitlines(keepends=True),
        "printed on the page",
        "printed in the notebook",
    )
    return "".join(lines)


def _stored(site: Path, page: str):
    path = site / hook.notebook_uri(page)
    assert path.is_file(), f"{page}: no notebook at {path.relative_to(site)}"
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("page", PAGES)
def test_page_has_a_download_button_and_a_notebook(built_site: Path, page: str) -> None:
    notebook = _stored(built_site, page)
    nbformat.validate(notebook)
    page_html = _page_html(built_site, page)
    buttons = re.findall(r'<a class="md-button" href="([^"]+)" download="([^"]+)"[^>]*>(.*?)</a>',
                         page_html.read_text(encoding="utf-8"), re.DOTALL)  # fmt: skip
    assert len(buttons) == 1, f"{page}: expected one notebook download button, found {buttons}"
    href, filename, content = buttons[0]
    target = (page_html.parent / href).resolve()
    assert target == (built_site / hook.notebook_uri(page)).resolve(), f"{page}: {href} -> {target}"
    assert filename == target.name
    text = re.sub(r"<[^>]+>", "", content).strip()  # the accessible name; the icon is hidden
    assert text == "Download this page as a Jupyter notebook"
    assert re.search(r'<svg aria-hidden="true"', content), f"{page}: the icon must be hidden"


def test_only_main_pages_have_a_notebook(built_site: Path) -> None:
    notebooks = {p.relative_to(built_site).as_posix() for p in built_site.rglob("*.ipynb")}
    assert notebooks == {hook.notebook_uri(page) for page in PAGES}
    with_button = {
        p.relative_to(built_site).as_posix()
        for p in built_site.rglob("*.html")
        if 'class="dense-notebook"' in p.read_text(encoding="utf-8")
    }
    assert with_button == {
        _page_html(built_site, page).relative_to(built_site).as_posix() for page in PAGES
    }


@pytest.mark.parametrize("page", PAGES)
def test_notebook_math_renders_in_jupyter(built_site: Path, page: str) -> None:
    notebook = _stored(built_site, page)
    source = (DOCS / page).read_text(encoding="utf-8")
    prose = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    prose = re.sub(r"```.*?```|`[^`\n]+`", "", prose, flags=re.DOTALL)  # code shows TeX as is
    display = re.compile(r"(?<!\\)\$\$(.+?)\$\$", re.DOTALL)
    inline = re.compile(r"(?<![\\$])\$([^$\s](?:[^$]*?[^$\s\\])?)\$")
    text = inline.sub("", display.sub("", prose))  # what is left must hold no TeX delimiter
    leftover = re.findall(r".{0,30}(?:\\\(|\\\[).{0,30}", text)
    assert not leftover, f"{page}: math delimiters Jupyter does not render: {leftover[:5]}"
    if "\\[" in source:
        assert display.search(prose), f"{page}: display math did not become $$...$$"
    if "\\(" in source:
        assert inline.search(display.sub("", prose)), f"{page}: inline math did not become $...$"


@pytest.mark.parametrize("page", PAGES)
def test_notebook_holds_the_outputs_the_page_shows(built_site: Path, page: str) -> None:
    """The stored outputs are the page's: each appears in the page's text, in order."""
    notebook = _stored(built_site, page)
    page_text = _text(_page_html(built_site, page).read_text(encoding="utf-8"))
    position = 0
    for index, cell in enumerate(notebook.cells):
        shown = _stdout(cell.get("outputs", []))
        if cell.cell_type != "code" or not shown.strip():
            continue
        # Shown as text (result="text"), or rendered as Markdown (a table) on the page.
        forms = [_text(html.escape(shown)), _text(markdown.markdown(shown, extensions=["tables"]))]
        found = max(page_text.find(form, position) for form in forms)
        assert found != -1, (
            f"{_describe(page, index, cell)}: stored output not on the page:\n{shown}"
        )
        position = found


def _text(page_html: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page_html))).strip()


@pytest.mark.parametrize(
    "page",
    PAGES,
)
def test_notebook_runs_in_a_fresh_kernel_and_prints_what_the_page_shows(
    built_site: Path, page: str, tmp_path: Path
) -> None:
    stored = _stored(built_site, page)
    run = nbformat.from_dict(stored)
    for cell in run.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    client = nbclient.NotebookClient(
        run,
        kernel_name="python3",
        # IPC sockets in the test's folder: no TCP port open, nothing for the kernel to warn of
        config=Config({"KernelManager": {"transport": "ipc", "ip": str(tmp_path / "kernel")}}),
        timeout=600,  # per cell: generous, for a busy machine; a hang still ends
        startup_timeout=120,
        allow_errors=True,  # run to the end, then name the first cell that differs
        resources={"metadata": {"path": str(tmp_path)}},  # an empty folder, as a reader has
    )
    start = time.perf_counter()
    client.execute(env={**os.environ, **ARITHMETIC})  # the build's kernels, digit for digit
    seconds = time.perf_counter() - start

    problems = []
    for index, (want, got) in enumerate(zip(stored.cells, run.cells, strict=True)):
        if want.cell_type != "code":
            continue
        where = _describe(page, index, want)
        extra = _unexpected(got.outputs)
        printed = _stdout(got.outputs)
        if hook.MEASURED_TAG in want.metadata.get("tags", []):
            expected, printed = want.metadata["dense"]["masked_stdout"], hook.mask_numbers(printed)
        else:
            expected = _stdout(want.outputs)
        if extra:
            problems.append(f"{where} showed what the page does not: {extra}")
        elif printed != expected:
            problems.append(f"{where} printed something else:\n{_diff(expected, printed)}")
    assert not problems, (
        f"{page}: {len(problems)} code cell(s) differ from the page "
        f"(notebook ran in {seconds:.1f} s); the first:\n{problems[0]}"
    )


# -- The conversion itself, on a page written to the conventions (no site build needed) -----

FIGURE = (
    '<figure class="dense-figure"><svg role="img" aria-label="A line rising to 3" '
    'viewBox="0 0 10 10"><path d="M0 10L10 0"/></svg><figcaption>The line.</figcaption></figure>'
)
CONVENTIONS_PAGE = r"""# Forward

Inline \(x_{i}\), a price of $5 and `\(code\)`.

## Shapes { data-toc-label="Shapes" }

```python exec="on" source="above" result="text" session="forward"
print(1 + 1)
```

??? success "Checked when this page was built"

    ```python exec="on" source="above" session="forward"
    assert 1 + 1 == 2
    ```

```python exec="on" html="1" session="forward"
print(drawing)
```

```python title="dense/layer.py"
def forward(self, x):
    return x
```

<div class="measured" markdown>

```python exec="on" source="above" result="text" session="forward"
print(f"took {t:.2f} ms")
```

</div>

## Exercises

### 1. Predict a shape

See [the backward pass](backward.md#the-input-gradient).

??? example "Solution"

    The answer \[ a = b \]

    ```python exec="on" source="above" result="text" session="forward"
    print("answer")
    ```
"""
RUNS = [
    ("print(1 + 1)", "2\n"),
    ("assert 1 + 1 == 2", ""),
    ("print(drawing)", FIGURE),
    ('print(f"took {t:.2f} ms")', "took 3.14 ms\n"),
    ('print("answer")', "answer\n"),
]


class _Files:
    @staticmethod
    def get_file_from_path(path):
        return SimpleNamespace(url=path.removesuffix(".md") + "/")


def _convert(monkeypatch, markdown=CONVENTIONS_PAGE, runs=RUNS):
    monkeypatch.setattr(hook, "_files", _Files())
    page = SimpleNamespace(
        file=SimpleNamespace(src_uri="forward.md"), url="forward/", title="Forward"
    )
    config = SimpleNamespace(site_url="https://example.org/dense/", site_name="dense", plugins={})
    text = hook.Converter(page, config, [hook.Run(c, o) for c, o in runs]).notebook(markdown)
    return text, nbformat.reads(text, as_version=4)


def test_main_pages_are_all_but_the_api_reference_and_the_glossary() -> None:
    assert hook.is_main_page("forward.md")
    assert hook.is_main_page("index.md")
    assert not hook.is_main_page("api/layer.md")
    assert not hook.is_main_page("glossary.md")
    assert not hook.is_main_page("includes/abbreviations.md")
    assert hook.notebook_uri("forward.md") == "notebooks/forward.ipynb"


def test_shown_code_becomes_code_cells_with_the_build_output(monkeypatch) -> None:
    _, notebook = _convert(monkeypatch)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert [c.source for c in code] == [c for c, _ in RUNS if c != "print(drawing)"]
    assert [c.execution_count for c in code] == [1, 2, 3, 4]
    assert _stdout(code[0].outputs) == "2\n"
    assert code[1].outputs == []
    assert code[2].outputs == []
    assert _stdout(code[3].outputs) == "answer\n"
    # collapsed on the page (proof, solution): collapsed in Jupyter, title in a cell before
    for cell in (code[1], code[3]):
        assert cell.metadata["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
    index = notebook.cells.index(code[1])
    assert notebook.cells[index - 1].source == "**Checked when this page was built**"
    assert "**Solution**" in notebook.cells[notebook.cells.index(code[3]) - 1].source
    assert "jupyter" not in code[0].metadata


def test_measured_output_is_masked_not_stored(monkeypatch) -> None:
    _, notebook = _convert(monkeypatch)
    measured = [c for c in notebook.cells if "measured" in c.metadata.get("tags", [])]
    assert len(measured) == 1
    assert measured[0].outputs == []
    assert measured[0].metadata["dense"]["masked_stdout"] == "took <number> ms\n"
    assert hook.mask_numbers("took 12.5 ms\n") == hook.mask_numbers("took  3.14 ms\n")
    assert hook.mask_numbers("took 3 ms") != hook.mask_numbers("took 3 s")
    assert hook.mask_numbers("1.5e-07 s") == "<number> s"


def test_prose_math_links_figures_and_listings_read_cleanly_in_jupyter(monkeypatch) -> None:
    _, notebook = _convert(monkeypatch)
    prose = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert prose.startswith("# Forward\n\n*This notebook is the page [Forward]"
                            "(https://example.org/dense/forward/)")  # fmt: skip
    assert r"Inline $x_{i}$, a price of \$5 and `\(code\)`." in prose
    assert "$$ a = b $$" in prose
    assert "## Shapes\n" in prose
    assert "data-toc-label" not in prose
    assert "`dense/layer.py`\n\n```python\ndef forward(self, x):\n    return x\n```" in prose
    assert "[the backward pass](https://example.org/dense/backward/#the-input-gradient)" in prose
    for marker in ("???", "exec=", "<div", "session=", "print(drawing)"):
        assert marker not in prose
    image = re.search(r"!\[([^\]]*)\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", prose)
    assert image is not None
    assert image[1] == "A line rising to 3"
    svg = base64.b64decode(image[2]).decode()
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert svg.endswith("</svg>")
    assert "*The line.*" in prose


def test_the_same_page_gives_the_same_bytes(monkeypatch) -> None:
    first, _ = _convert(monkeypatch)
    second, _ = _convert(monkeypatch)
    assert first == second
    assert '"id": "cell-000"' in first


def test_a_block_without_recorded_output_is_reported(monkeypatch, caplog) -> None:
    _convert(monkeypatch, runs=RUNS[:1])
    assert (
        "no build output recorded for the executed block starting 'assert 1 + 1 == 2'"
        in caplog.text
    )
