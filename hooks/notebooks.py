"""MkDocs hook: a Jupyter notebook for every main page, and a button on the page to download it.

Main pages are all pages except the API reference (`api/...`), the glossary (`glossary.md`)
and snippet files (`includes/...`): see `is_main_page`. Page `forward.md` gets
`notebooks/forward.ipynb` at the root of the built site, linked relatively from the page, so
the link works under `mkdocs serve` and wherever the site is served from (e.g. `/dense/`).

The notebook is the page, in order:

- prose -> Markdown cells (a new cell at every heading), math as `$...$` / `$$...$$`, links
  made absolute (to the published site), attribute lists, admonition markers and
  `<div markdown>` wrappers removed;
- every executed block with `source=` (teaching code, and the code inside collapsed proof and
  solution blocks) -> a code cell holding the output the build printed for it. A collapsed
  block's title becomes a short Markdown cell before its code, and the code cell starts
  collapsed, as on the page;
- a block that is executed but not shown (figure drawing) is left out; what it printed is
  what the reader sees on the page, so it goes in as Markdown (a figure's SVG as an image with
  its alt text and caption);
- fenced code that is not executed (e.g. the package's source) -> Markdown code.

The outputs are recorded while markdown-exec runs each block (`_record` wraps its Python
runner), so they are exactly what the page shows. Wall-clock measurements (a block inside
`<div class="measured" markdown>`, or a block that prints such a div) differ on every build:
their code cells get the tag `measured` and no stored output, so two builds write identical
notebooks, and `metadata.dense.masked_stdout` keeps the output with every number replaced
(`mask_numbers`) for tests/test_notebooks.py.

Everything here runs after the other hooks: `on_page_markdown` sees the Markdown with
`object=` fences already expanded, and the notebooks are written in `on_post_build`, when
every cross-reference target (autorefs) is known.
"""

from __future__ import annotations

import base64
import functools
import html
import itertools
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority, get_plugin_logger
from mkdocs.utils import get_relative_url

try:  # markdown-exec >= 1.11 keeps its runner here; older versions in the public module
    from markdown_exec._internal.formatters import python as _exec_python
except ImportError:  # pragma: no cover
    from markdown_exec.formatters import python as _exec_python

log = get_plugin_logger("notebooks")

NOTEBOOK_DIR = "notebooks"
MEASURED_TAG = "measured"
ICON = "material/download.svg"  # shipped with Material: inlined, so it works offline


def is_main_page(src_uri: str) -> bool:
    """The pages that get a notebook: all but the API reference, the glossary and snippets."""
    return not (src_uri.startswith(("api/", "includes/")) or src_uri == "glossary.md")


def notebook_uri(src_uri: str) -> str:
    """Site-relative path of a page's notebook: `forward.md` -> `notebooks/forward.ipynb`."""
    return f"{NOTEBOOK_DIR}/{src_uri.removesuffix('.md')}.ipynb"


NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def mask_numbers(text: str) -> str:
    """A measured output with every number replaced and runs of spaces collapsed: what must
    stay the same from one run to the next when only the clock readings change."""
    return re.sub(r"[ \t]+", " ", NUMBER.sub("<number>", text))


# -- Recording what markdown-exec printed for each block ------------------------------------


@dataclass
class Run:
    code: str
    output: str | None  # None: the block raised (the strict build fails on it anyway)


_runs: dict[str, list[Run]] = {}  # page src_uri -> its executed Python blocks, in order
_markdown: dict[str, str] = {}  # page src_uri -> its final Markdown
_pages: dict[str, object] = {}  # page src_uri -> mkdocs Page
_current: str | None = None  # the main page being converted right now
_files = None


def _record(run):
    def recording(code, *args, **kwargs):
        try:
            output = run(code, *args, **kwargs)
        except Exception:
            if _current is not None:
                _runs[_current].append(Run(code, None))
            raise
        if _current is not None:
            _runs[_current].append(Run(code, output))
        return output

    recording.__wrapped__ = run
    recording.records_notebooks = True
    return recording


def on_config(config):
    runner = getattr(_exec_python, "_run_python", None)
    if runner is None:
        raise PluginError("notebooks: markdown-exec's Python runner (_run_python) not found")
    # `mkdocs serve` runs this again for every build: wrap what is under our last recorder.
    # That is markdown-exec's runner, or hooks/exec_cache.py's around it (it comes first in
    # mkdocs.yml), so a block whose output the cache reuses is recorded too.
    while getattr(runner, "records_notebooks", False):
        runner = runner.__wrapped__
    _exec_python._run_python = _record(runner)
    for store in (_runs, _markdown, _pages):
        store.clear()
    return config


def on_files(files, config):
    global _files
    _files = files
    return files


@event_priority(-100)  # after every other hook and plugin has edited the Markdown
def on_page_markdown(markdown, page, config, files):
    global _current
    src = page.file.src_uri
    if is_main_page(src):
        _current = src
        _runs[src], _markdown[src], _pages[src] = [], markdown, page
    return markdown


def on_page_content(html_text, page, config, files):
    global _current
    _current = None
    if not is_main_page(page.file.src_uri):
        return html_text
    button = _button(page, config)
    end = html_text.find("</h1>")
    if end == -1:
        return button + html_text
    end += len("</h1>")
    return html_text[:end] + button + html_text[end:]


def _button(page, config) -> str:
    target = notebook_uri(page.file.src_uri)
    href = get_relative_url(target, page.url)
    return (
        '\n<p class="dense-notebook" data-search-exclude="notebook">'
        f'<a class="md-button" href="{html.escape(href)}" '
        f'download="{html.escape(Path(target).name)}" type="application/x-ipynb+json">'
        f"{_icon()}Download this page as a Jupyter notebook</a></p>\n"
    )


@functools.cache
def _icon() -> str:
    import material

    path = Path(material.__file__).parent / "templates" / ".icons" / ICON
    if not path.is_file():
        return ""
    svg = path.read_text(encoding="utf-8").strip()
    svg = svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)
    return f'<span class="twemoji">{svg}</span> '


def on_post_build(config):
    site = Path(config.site_dir)
    for src, markdown in _markdown.items():
        page = _pages[src]
        notebook = Converter(page, config, _runs[src]).notebook(markdown)
        path = site / notebook_uri(src)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(notebook, encoding="utf-8")


# -- Markdown -> cells -----------------------------------------------------------------------

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
ADMONITION = re.compile(  # !!! note "Title", ??? success "Title" (collapsed), ???+ (open)
    r"^(?P<marker>!!!|\?\?\?\+?)[ \t]+(?P<kind>[\w-]+)[\w \t-]*?"
    r'(?:[ \t]+"(?P<title>[^"]*)")?[ \t]*$'
)
TAB = re.compile(r'^===\+?[ \t]+"(?P<title>[^"]*)"[ \t]*$')
MARKDOWN_DIV = re.compile(r"^<div\b(?P<attrs>[^>]*\bmarkdown\b[^>]*)>[ \t]*$")
MEASURED_DIV = '<div class="measured"'
MEASURED_CLASS = re.compile(r'\bclass="[^"]*\bmeasured\b')
OPTION = re.compile(r"""(?P<key>[\w-]+)=(?P<value>"[^"]*"|'[^']*'|[^\s}]+)""")
ABBREVIATION = re.compile(r"^\*\[[^\]]+\]:")
HEADING = re.compile(r"^#{1,6}[ \t]")

# Attribute lists (attr_list): `{ #id .class key="value" }`, also with a leading colon.
_ATTR = r"""(?:[.#][\w-]+|[\w-]+=(?:"[^"]*"|'[^']*'|[^\s}]+))"""
ATTR_LIST = rf"""\{{:?[ \t]*{_ATTR}(?:[ \t]+{_ATTR})*[ \t]*\}}"""
ATTR_AT_END = re.compile(rf"[ \t]*{ATTR_LIST}[ \t]*$", re.MULTILINE)
ATTR_AFTER_LINK = re.compile(rf"(?<=[)\]]){ATTR_LIST}")

# Inline Markdown that must not be touched (code spans) or that is converted (math).
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
DISPLAY_MATH = re.compile(r"\\\[(.+?)\\\]", re.DOTALL)
INLINE_MATH = re.compile(r"\\\((.+?)\\\)", re.DOTALL)
DOLLAR = re.compile(r"(?<!\\)\$")
INLINE_LINK = re.compile(
    r"(?P<bang>!?)\[(?P<text>[^\]]*)\]\((?P<url>[^)\s]+)(?P<title>\s+\"[^\"]*\")?\)"
)
REF_LINK = re.compile(r"(?<![\]!\\])\[(?P<text>[^\]]+)\]\[(?P<ref>[^\]]*)\]")
REF_DEFINITION = re.compile(r"^[ ]{0,3}\[(?P<ref>[^\]]+)\]:", re.MULTILINE)

SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)
FIGCAPTION = re.compile(r"<figcaption\b[^>]*>(.*?)</figcaption>", re.DOTALL)
ARIA_LABEL = re.compile(r'\baria-label="([^"]*)"')
SVG_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title>", re.DOTALL)


def _options(info: str) -> tuple[str, dict[str, str]]:
    """A fence's language and options: 'python exec="on" source="above"' -> ('python', {...})."""
    info = info.strip().removeprefix("{").removesuffix("}").strip()
    language = info.split(maxsplit=1)[0].lstrip(".") if info else ""
    options = {m["key"]: m["value"].strip("\"'") for m in OPTION.finditer(info)}
    return language, options


def _is_on(value: str | None) -> bool:  # markdown-exec's reading of exec="..."
    return value is not None and value.lower() not in {"", "no", "off", "false", "0"}


def _indented(lines: list[str], start: int) -> tuple[list[str], int]:
    """The block indented by 4 under lines[start - 1] (dedented), and the index after it."""
    end = start
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith(("    ", "\t"))):
        end += 1
    while end > start and not lines[end - 1].strip():
        end -= 1  # trailing blank lines belong to what follows
    inner = [
        line[4:] if line.startswith("    ") else line.lstrip("\t") for line in lines[start:end]
    ]
    return inner, end


def _until_closing_div(lines: list[str], start: int) -> tuple[list[str], int]:
    depth = 1
    for end in range(start, len(lines)):
        stripped = lines[end].strip()
        depth += stripped.startswith("<div") - (stripped == "</div>")
        if depth == 0:
            return lines[start:end], end + 1
    return lines[start:], len(lines)


@dataclass
class Converter:
    page: object
    config: object
    runs: list[Run]
    cells: list = field(default_factory=list)
    prose: list[tuple[bool, str]] = field(default_factory=list)  # (needs conversion, text)
    next_run: int = 0
    defined: set[str] = field(default_factory=set)  # [reference]: definitions on the page

    # Page walk --------------------------------------------------------------------------

    def notebook(self, markdown: str) -> str:
        self.defined = set(REF_DEFINITION.findall(markdown))
        self.walk(markdown.splitlines(), collapsed=False, measured=False)
        self.flush()
        self.add_title()
        notebook = nbformat.v4.new_notebook(cells=self.cells)
        notebook.metadata = {
            "kernelspec": {
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
                "name": "python3",
            },
            "language_info": {"name": "python"},
        }
        count = 0
        for index, cell in enumerate(notebook.cells):
            cell.id = f"cell-{index:03d}"  # stable: the same page gives the same bytes
            if cell.cell_type == "code":
                count += 1
                cell.execution_count = count
        nbformat.validate(notebook)
        return nbformat.writes(notebook) + "\n"

    def walk(self, lines: list[str], *, collapsed: bool, measured: bool) -> None:
        i = 0
        while i < len(lines):
            line = lines[i]
            if m := FENCE.match(line):
                i = self.fence(lines, i, m, collapsed=collapsed, measured=measured)
            elif m := ADMONITION.match(line):
                inner, i = _indented(lines, i + 1)
                title = m["kind"].capitalize() if m["title"] is None else m["title"]
                folded = collapsed or m["marker"] == "???"
                self.container(title, inner, collapsed=folded, measured=measured)
            elif m := TAB.match(line):
                inner, i = _indented(lines, i + 1)
                self.container(m["title"], inner, collapsed=collapsed, measured=measured)
            elif m := MARKDOWN_DIV.match(line.strip()):
                inner, i = _until_closing_div(lines, i + 1)
                is_measured = measured or bool(MEASURED_CLASS.search(m["attrs"]))
                self.walk(inner, collapsed=collapsed, measured=is_measured)
            else:
                if HEADING.match(line):
                    self.flush()
                if not ABBREVIATION.match(line):
                    self.prose.append((True, line))
                i += 1

    def container(self, title: str, inner: list[str], *, collapsed: bool, measured: bool) -> None:
        """An admonition or a tab: its title in bold, then its content."""
        if not any(
            (m := FENCE.match(line)) and _is_on(_options(m["info"])[1].get("exec"))
            for line in inner
        ):
            # Prose only: a quote block keeps it visibly apart, as on the page.
            sub = Converter(
                self.page, self.config, self.runs, next_run=self.next_run, defined=self.defined
            )
            sub.walk(inner, collapsed=collapsed, measured=measured)
            body = sub.markdown()
            self.next_run = sub.next_run
            quoted = [f"**{title}**", "", *body.splitlines()] if title else body.splitlines()
            self.prose.append((False, "\n".join(f"> {q}".rstrip() for q in quoted)))
            return
        self.flush()
        if title:
            self.prose.append((True, f"**{title}**"))
            self.prose.append((True, ""))
        self.walk(inner, collapsed=collapsed, measured=measured)

    def fence(self, lines: list[str], start: int, m: re.Match, *, collapsed, measured) -> int:
        indent, fence = m["indent"], m["fence"]
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        end = next((j for j in range(start + 1, len(lines)) if closing.match(lines[j])), len(lines))
        body = [
            line[len(indent) :] if line.startswith(indent) else line.lstrip()
            for line in lines[start + 1 : end]
        ]
        language, options = _options(m["info"])
        executed = _is_on(options.get("exec"))
        shown = bool(options.get("source"))
        if executed and language in ("python", "py"):
            run = self.find_run("\n".join(body))
            if shown:
                self.code_cell(run, collapsed=collapsed, measured=measured)
            elif run.output and not measured:
                self.hidden_output(run.output, as_html=_is_on(options.get("html")))
        elif shown or not executed:
            code = "\n".join(body)
            label = f"`{options['title']}`\n\n" if options.get("title") else ""
            self.prose.append((False, f"{label}{fence}{language}\n{code}\n{fence}"))
        return end + 1

    def find_run(self, code: str) -> Run:
        wanted = textwrap.dedent(code).strip("\n")
        for index in range(self.next_run, len(self.runs)):
            if textwrap.dedent(self.runs[index].code).strip("\n") == wanted:
                self.next_run = index + 1
                return self.runs[index]
        first = wanted.splitlines()[0] if wanted else ""
        log.warning(
            "%s: no build output recorded for the executed block starting %r; "
            "its notebook cell has no output",
            self.page.file.src_uri,
            first,
        )
        return Run(wanted, None)

    # Cells --------------------------------------------------------------------------------

    def code_cell(self, run: Run, *, collapsed: bool, measured: bool) -> None:
        self.flush()
        cell = nbformat.v4.new_code_cell(run.code.strip("\n"))
        output = run.output or ""
        measured = measured or MEASURED_DIV in output
        if measured:
            cell.metadata["tags"] = [MEASURED_TAG]
            cell.metadata["dense"] = {"masked_stdout": mask_numbers(output)}
        elif output:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
        if collapsed:
            cell.metadata["jupyter"] = {"source_hidden": True, "outputs_hidden": True}
        self.cells.append(cell)

    def hidden_output(self, output: str, *, as_html: bool) -> None:
        """What a block that is not shown printed: Markdown, or HTML (figures as images)."""
        if not as_html:
            self.walk(output.splitlines(), collapsed=False, measured=False)
            return
        svgs = list(SVG.finditer(output))
        if not svgs:
            self.prose.append((False, output.strip()))
            return
        captions = FIGCAPTION.findall(output)
        for index, svg in enumerate(svgs):
            self.prose.append((False, _image(svg[0], _alt_text(svg[0], output))))
            if index < len(captions) and captions[index].strip():
                self.prose.append((False, f"\n*{captions[index].strip()}*\n"))

    def flush(self) -> None:
        text = self.markdown()
        self.prose = []
        if text:
            self.cells.append(nbformat.v4.new_markdown_cell(text))

    def markdown(self) -> str:
        parts: list[str] = []
        # Prose is converted a paragraph run at a time: math and links span lines.
        for convert, group in itertools.groupby(self.prose, key=lambda item: item[0]):
            text = "\n".join(text for _, text in group)
            parts.append(self.convert(text) if convert else text)
        text = "\n".join(parts)
        return re.sub(r"\n{3,}", "\n\n", text).strip("\n")

    def add_title(self) -> None:
        url = self.absolute(self.page.url)
        note = (
            f"*This notebook is the page [{self.page.title}]({url}) of the "
            f"{self.config.site_name} documentation: its text and the code it shows, in order, "
            "with the outputs shown on the page. Run the cells from the top.*"
        )
        first = self.cells[0] if self.cells else None
        if first is not None and first.cell_type == "markdown" and first.source.startswith("# "):
            heading, _, rest = first.source.partition("\n")
            first.source = f"{heading}\n\n{note}\n\n{rest.strip()}".rstrip()
        else:
            self.cells.insert(0, nbformat.v4.new_markdown_cell(f"# {self.page.title}\n\n{note}"))

    # Prose ---------------------------------------------------------------------------------

    def convert(self, text: str) -> str:
        """Page Markdown -> Jupyter Markdown: `$` math, absolute links, no attribute lists."""
        kept: list[str] = []

        def keep(replacement: str) -> str:
            kept.append(replacement)
            return f"\x00{len(kept) - 1}\x00"

        text = CODE_SPAN.sub(lambda m: keep(m[0]), text)
        text = DISPLAY_MATH.sub(lambda m: keep(f"$${m[1]}$$"), text)
        text = INLINE_MATH.sub(lambda m: keep(f"${m[1].strip()}$"), text)
        text = DOLLAR.sub(r"\\$", text)  # a literal dollar would open math in Jupyter
        text = ATTR_AT_END.sub("", text)
        text = ATTR_AFTER_LINK.sub("", text)
        text = INLINE_LINK.sub(self.inline_link, text)
        text = REF_LINK.sub(lambda m: self.ref_link(m, lambda t: restore(t, kept)), text)
        return restore(text, kept)

    def inline_link(self, m: re.Match) -> str:
        return f"{m['bang']}[{m['text']}]({self.resolve(m['url'])}{m['title'] or ''})"

    def ref_link(self, m: re.Match, unhide) -> str:
        """`[text][identifier]`: a link defined on the page stays, a cross-reference to the
        API (autorefs) becomes an absolute link, anything else plain text."""
        ref = m["ref"] or m["text"]
        if ref in self.defined:
            return m[0]
        autorefs = self.config.plugins.get("autorefs")
        try:
            found = autorefs.get_item_url(unhide(ref).strip("`"))
        except (AttributeError, KeyError):
            return m["text"]
        url = found[0] if isinstance(found, tuple) else found  # (url, title) since 1.4
        return f"[{m['text']}]({self.absolute(url)})"

    def resolve(self, url: str) -> str:
        """A link as written on the page -> a URL that works from anywhere."""
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or url.startswith("/"):
            return url
        if not parts.path:  # an anchor on this page
            return self.absolute(self.page.url) + url
        base = self.page.file.src_uri.rpartition("/")[0]
        target = "/".join(p for p in (base, parts.path) if p)
        file = _files.get_file_from_path(_normalize(target)) if _files else None
        path = file.url if file is not None else _normalize(target)
        return self.absolute(path) + (f"#{parts.fragment}" if parts.fragment else "")

    def absolute(self, site_path: str) -> str:
        return (self.config.site_url or "").rstrip("/") + "/" + site_path.lstrip("/")


def restore(text: str, kept: list[str]) -> str:
    """Put back what `Converter.convert` set aside (code spans, math), nested ones too."""
    while "\x00" in text:
        text = re.sub("\x00(\\d+)\x00", lambda m: kept[int(m[1])], text)
    return text


def _normalize(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def _alt_text(svg: str, output: str) -> str:
    for source in (svg[: svg.find(">")], output):
        if m := ARIA_LABEL.search(source):
            return html.unescape(m[1])
    if m := SVG_TITLE.search(svg):
        return html.unescape(re.sub(r"<[^>]+>", "", m[1])).strip()
    return "Figure"


def _image(svg: str, alt: str) -> str:
    """An SVG as a Markdown image. A data URL, not a cell attachment: JupyterLab (and so
    Notebook 7) renders attachments of raster types only, and refuses image/svg+xml."""
    if "xmlns=" not in svg[: svg.find(">")]:
        svg = svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    alt = re.sub(r"\s+", " ", alt).replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return f"\n![{alt}](data:image/svg+xml;base64,{data})\n"
