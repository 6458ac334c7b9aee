"""Every page of the built site, loaded in headless Chromium from a loopback server:
it loads, asks no other host for anything, shows no raw TeX, its figures have a size,
and the console stays free of errors -- with JavaScript on and with it off.

Driver: Playwright for Python, pointed at Debian's `chromium` (never `playwright install`:
it downloads a browser build). Skips when either is missing.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium")
# Quiet, hermetic browser: no background traffic of its own (updates, sync, QUIC probes),
# so any request we see comes from the page.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
BASE = "/dense/"  # site_url's path: GitHub Pages serves the site there, 404.html links to it

# Visible text outside code listings and KaTeX's (screen-reader only) MathML.
VISIBLE_TEXT_JS = """() => {
  const skip = "pre, code, script, style, textarea, .katex-mathml, annotation";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const out = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (el && !el.closest(skip) && el.checkVisibility()) out.push(n.data);
  }
  return out.join(" ");
}"""

# Figures in the content: <img> and top-level inline <svg> (KaTeX draws some glyphs as SVG;
# those are checked as math). Hidden ones (inactive tab, closed <details>) have no box, so
# for them the intrinsic size must be nonzero.
FIGURES_JS = """() => {
  const bad = [];
  let count = 0;
  const content = document.querySelector(".md-content") || document.body;
  for (const el of content.querySelectorAll("img, svg")) {
    if (el.closest(".katex") || (el.tagName === "svg" && el.parentElement.closest("svg"))) continue;
    count += 1;
    const box = el.getBoundingClientRect();
    const shown = el.checkVisibility();
    let intrinsic;
    if (el.tagName === "IMG") {
      intrinsic = el.complete && el.naturalWidth > 0 && el.naturalHeight > 0;
    } else {
      const vb = el.viewBox && el.viewBox.baseVal;
      intrinsic = (vb && vb.width > 0 && vb.height > 0) ||
                  (el.width.baseVal.value > 0 && el.height.baseVal.value > 0);
    }
    if (!intrinsic || (shown && (box.width === 0 || box.height === 0))) {
      bad.push(el.outerHTML.slice(0, 120));
    }
  }
  return {count, bad};
}"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep pytest output readable
        pass


@pytest.fixture(scope="module")
def server(built_site: Path, tmp_path_factory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("www")
    (root / BASE.strip("/")).symlink_to(built_site, target_is_directory=True)
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    if CHROMIUM is None:
        if os.environ.get("CI"):  # .ci/run installs it: a skip there would hide a broken setup
            pytest.fail("chromium is not installed, but CI must run the browser check")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'"
    )
    with sync_api.sync_playwright() as pw:
        yield pw.chromium, tmp_path_factory


def site_pages(built_site: Path) -> list[str]:
    return [p.relative_to(built_site).as_posix() for p in sorted(built_site.rglob("*.html"))]


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_every_page_in_chromium(chromium, server: str, built_site: Path, javascript: bool) -> None:
    browser_type, tmp_factory = chromium
    context = browser_type.launch_persistent_context(
        str(tmp_factory.mktemp("profile")),  # a fresh --user-data-dir
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        java_script_enabled=javascript,
        service_workers="block",
    )
    local = urlsplit(server).netloc
    problems: list[str] = []
    current = {"page": ""}

    def note(kind: str, detail: str) -> None:
        problems.append(f"{current['page']}: {kind}: {detail}")

    def route(route_, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != local:
            note("request to another host", request.url)
            route_.abort()  # record it, but never let it leave the machine
        else:
            route_.continue_()

    context.route("**/*", route)
    try:
        pages = site_pages(built_site)
        assert "index.html" in pages
        figures = 0
        for name in pages:
            current["page"] = name
            page = context.new_page()
            page.on("console", lambda m: m.type == "error" and note("console error", m.text))
            page.on("pageerror", lambda e: note("uncaught exception", str(e)))
            page.on("requestfailed", lambda r: note("failed request", f"{r.url} {r.failure}"))
            page.on("response", lambda r: r.status >= 400 and note(f"HTTP {r.status}", r.url))
            response = page.goto(server + BASE + name, wait_until="load")
            # 404.html is served with 200 here (it is a file); GitHub Pages sends 404.
            assert response is not None, name
            assert response.ok, (name, response.status)
            page.wait_for_load_state("networkidle")
            if javascript:
                failed_fonts = page.evaluate(
                    "async () => { await document.fonts.ready;"
                    " return [...document.fonts].filter(f => f.status === 'error')"
                    ".map(f => f.family); }"
                )
                if failed_fonts:
                    note("fonts failed to load", ", ".join(failed_fonts))
            text = page.evaluate(VISIBLE_TEXT_JS)
            for raw in (r"\(", r"\[", r"\frac", "$$"):
                if raw in text:
                    at = text.index(raw)
                    note("raw TeX visible", " ".join(text[max(0, at - 60) : at + 60].split()))
            result = page.evaluate(FIGURES_JS)
            figures += result["count"]
            for html in result["bad"]:
                note("figure without size", html)
            flat = page.evaluate(
                "() => [...document.querySelectorAll('.katex-html')]"
                ".filter(k => k.checkVisibility())"
                ".filter(k => { const r = k.getBoundingClientRect();"
                " return r.width === 0 || r.height === 0; }).length"
            )
            if flat:
                note("KaTeX output without size", f"{flat} formulas")
            page.close()
    finally:
        context.close()
    assert not problems, "\n".join(problems)
