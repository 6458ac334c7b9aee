"""Every page of the built site in headless Chromium, served from a loopback server.

For each page, in the light scheme, the dark scheme and with JavaScript off: it loads, asks no
other host for anything, logs no error, shows no raw TeX, its figures and formulas have a size,
its fonts load, every figure has a text alternative that says what it shows, its headings do
not skip a level, its language is set; and, in the light and the dark scheme, axe-core finds
no WCAG 2.0/2.1 A or AA violation. At 200 % zoom and on a 390-px-wide phone no text is cut off
and the page does not scroll sideways (wide code and formulas scroll inside their own box,
which axe checks can take the keyboard's focus at 200 %).

A page is loaded three times: with JavaScript on, then off, then on a phone. With JavaScript
on, the test goes through what a reader can do with one loaded page: read it in the light
scheme, switch to the dark scheme with the header's toggle, and zoom to 200 % (the window
narrows to 640 CSS px, as browser zoom does). A failure names the page and the mode.

Driver: Playwright for Python, pointed at Debian's `chromium` (never `playwright install`: it
downloads a browser build); one browser for the whole module. axe-core comes from npm, pinned
in package-lock.json next to KaTeX. Nothing here depends on timing: every wait is for an event
or a condition, with a generous limit and a message that names the page and what was awaited.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_EXAMPLES = 3  # elements shown per failed rule
WAIT_S = 120  # per wait; a page needs well under a second on a quiet machine
BASE = "/dense/"  # site_url's path: GitHub Pages serves the site there, 404.html links to it

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

# Material picks its palette by the reader's prefers-color-scheme (mkdocs.yml), which only its
# JavaScript can do; the header's toggle switches it.
SCHEME = {"light": "default", "dark": "slate"}  # Material's name for each

# WCAG 1.4.10 (reflow): a 1280 x 720 screen at 200 % zoom leaves 640 x 360 CSS px; and a phone.
DESKTOP = {"width": 1280, "height": 720}
ZOOMED = {"width": 640, "height": 360}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}

# axe-core's rules whose verdict depends on the colours: the only ones that can change when
# the scheme does.
COLOUR_RULES = ["color-contrast", "link-in-text-block"]


def site_pages() -> list[str]:
    """The built page of every Markdown file in docs/ (MkDocs' directory URLs), and the 404
    page: known before anything is built, so that each page is a test of its own."""
    pages = []
    for source in sorted(DOCS.rglob("*.md")):
        path = source.relative_to(DOCS).with_suffix("")
        if path.name == "index":
            path = path.parent
        pages.append((path / "index.html").as_posix())
    return [*pages, "404.html"]


PAGES = site_pages()


def page_id(path: str) -> str:
    return path.removesuffix("index.html").strip("/") or "home"


# Material has applied the palette (it sets data-md-color-media on <body>) and finished
# switching to it (data-md-color-switching turns CSS transitions off until then).
PALETTE_APPLIED_JS = """() => document.body.hasAttribute("data-md-color-media")
  && !document.body.hasAttribute("data-md-color-switching")"""

FONTS_JS = """() => ({
  loading: document.fonts.status !== "loaded",
  failed: [...document.fonts].filter(f => f.status === "error").map(f => f.family),
})"""

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

# Figures in the content: <img> and top-level inline <svg>, not KaTeX's glyphs and not the
# icons inside links and buttons (their name is the link's). For each: its text alternative
# and whether it has a size. Hidden ones (closed <details>, inactive tab) have no box, so for
# them the intrinsic size must be nonzero.
FIGURES_JS = """() => {
  const content = document.querySelector(".md-content") || document.body;
  const out = [];
  for (const el of content.querySelectorAll("img, svg")) {
    if (el.closest(".katex, a, button, .md-icon")) continue;
    if (el.tagName === "svg" && el.parentElement.closest("svg")) continue;
    let name, intrinsic;
    if (el.tagName === "IMG") {
      name = el.getAttribute("alt");
      intrinsic = el.complete && el.naturalWidth > 0 && el.naturalHeight > 0;
    } else {
      const title = el.querySelector(":scope > title");
      const labels = (el.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean)
        .map(id => document.getElementById(id)?.textContent || "").join(" ");
      name = el.getAttribute("role") !== "img" ? null
        : el.getAttribute("aria-label") || labels || (title && title.textContent);
      const vb = el.viewBox && el.viewBox.baseVal;
      intrinsic = (vb && vb.width > 0 && vb.height > 0) ||
                  (el.width.baseVal.value > 0 && el.height.baseVal.value > 0);
    }
    const box = el.getBoundingClientRect();
    const sized = intrinsic && (!el.checkVisibility() || (box.width > 0 && box.height > 0));
    out.push({html: el.outerHTML.slice(0, 120), name, sized});
  }
  return out;
}"""

KATEX_FLAT_JS = """() => [...document.querySelectorAll(".katex-html")]
  .filter(k => k.checkVisibility())
  .filter(k => { const r = k.getBoundingClientRect(); return r.width === 0 || r.height === 0; })
  .length"""

HEADINGS_JS = """() => [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")]
  .map(h => [Number(h.tagName[1]), h.textContent.replace("¶", "").trim().slice(0, 60)])"""

# Text that does not fit: the document scrolls sideways, or a text run reaches outside a box
# that clips it (overflow hidden/clip) or outside the window. Text inside a box that scrolls
# by itself (wide code, formulas, tables) is fine: it is reachable. KaTeX's MathML is kept
# visually hidden on purpose, for screen readers; the header's title repeats the page's <h1>
# (shortened with "..." on a phone by design).
REFLOW_JS = """() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  const cut = [];
  // For each element, what decides whether its text may reach outside the window: the nearest
  // ancestor-or-self that is fixed or scrolls (null: the window), and the clipping boxes
  // below that one, innermost first. Memoized: one computed style per element.
  const deciders = new Map();
  const decider = el => {
    if (!el || el === root) return {end: null, clips: []};
    if (deciders.has(el)) return deciders.get(el);
    const style = getComputedStyle(el);
    const overflow = style.overflowX;
    let found;
    if (style.position === "fixed") found = {end: "fixed", clips: []};
    else if (overflow === "auto" || overflow === "scroll") found = {end: "scrolls", clips: []};
    else {
      const above = decider(el.parentElement);
      found = overflow === "hidden" || overflow === "clip"
        ? {end: above.end, clips: [el, ...above.clips]} : above;
    }
    deciders.set(el, found);
    return found;
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.data.trim() || !el || el.closest(".katex-mathml, .md-header__title, script, style")) continue;
    if (!el.checkVisibility({visibilityProperty: true})) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    const rects = [...range.getClientRects()].filter(r => r.width > 0 && r.height > 0);
    if (!rects.length) continue;
    const left = Math.min(...rects.map(r => r.left));
    const right = Math.max(...rects.map(r => r.right));
    const {end, clips} = decider(el);
    let verdict = "window";
    for (const box of clips) {
      const r = box.getBoundingClientRect();
      if (left < r.left - 1 || right > r.right + 1) { verdict = "cut"; break; }
    }
    if (verdict !== "cut") {
      if (end === "scrolls") verdict = "scrolls";
      else if (end === "fixed" && (right <= 0 || left >= width)) verdict = "off-canvas";  // a closed drawer
    }
    if (verdict === "window" && (left < -1 || right > width + 1)) verdict = "cut";
    if (verdict === "cut") cut.push(`${n.data.trim().slice(0, 60)} (in ${el.closest("[class]")?.className})`);
  }
  return {scrollWidth: root.scrollWidth, width, cut};
}"""

# Runs axe-core (injected into the page first) and returns its violations. The race gives a
# clear message instead of a hang if axe ever stops answering.
AXE_RUN_JS = """async ({runOnly, skip, seconds}) => {
  const limit = new Promise((_, reject) => setTimeout(
    () => reject(new Error(`axe-core gave no result within ${seconds} s`)), seconds * 1000));
  const rules = Object.fromEntries(skip.map(id => [id, {enabled: false}]));
  const run = axe.run(document, {runOnly, rules, resultTypes: ["violations"]});
  const result = await Promise.race([run, limit]);
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html, summary: n.failureSummary})),
  }));
}"""

# axe-core's contrast rule costs time in proportion to the elements on the page, and KaTeX
# draws a formula with dozens of them (two thirds of a long page's). So before axe's colour
# rules run, each formula is taken out and a short text run stands in for it, at the size of
# its smallest glyph, in the colour it inherits there: every glyph of a formula has that
# colour, on the background behind the formula, and that pair is what the stand-in puts to axe.
# FORMULA_COLOURS_JS checks that premise in the current scheme: it returns every formula with
# a glyph in another colour, on a background of its own or see-through (there the stand-in
# would not speak for it). The smallest size makes the check as strict as for the formula's
# smallest glyph (WCAG's threshold is lower only for large text).
FORMULA_COLOURS_JS = """() => {
  const unlike = [];
  for (const formula of document.querySelectorAll(".katex")) {
    const inherited = getComputedStyle(formula.parentElement).color;
    for (const el of [formula, ...formula.querySelectorAll(".katex-html *")]) {
      const own = getComputedStyle(el);
      if (own.color === "rgba(0, 0, 0, 0)") continue;  // \\phantom: invisible on purpose
      if (own.color !== inherited || own.backgroundColor !== "rgba(0, 0, 0, 0)"
          || own.opacity !== "1") {
        const tex = formula.querySelector("annotation")?.textContent || formula.textContent;
        unlike.push(`${tex.slice(0, 60)}: ${own.color} on ${own.backgroundColor}, ` +
                    `opacity ${own.opacity}, where the text is ${inherited}`);
        break;
      }
    }
  }
  return unlike;
}"""

FORMULAS_OUT_JS = """() => {
  window.standIns = [...document.querySelectorAll(".katex")].map(formula => {
    let size = parseFloat(getComputedStyle(formula).fontSize);
    for (const el of formula.querySelectorAll(".katex-html *")) {
      // A glyph: not KaTeX's zero-width spaces, which it sets in 2 px type to align rows.
      if (!el.childElementCount && /[^\\s\\u200b]/.test(el.textContent)) {
        size = Math.min(size, parseFloat(getComputedStyle(el).fontSize));
      }
    }
    const standIn = document.createElement("span");
    standIn.textContent = "formula";  // long enough for axe to judge it as text
    standIn.style.fontSize = `${size}px`;
    formula.replaceWith(standIn);
    return [standIn, formula];
  });
}"""

FORMULAS_BACK_JS = (
    """() => window.standIns.forEach(([standIn, formula]) => standIn.replaceWith(formula))"""
)

# Two frames after a change of window size or scheme, and every transition it started has
# ended: Material's scripts have handled it and the colours are the final ones.
SETTLED_JS = """() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(
  () => done(document.getAnimations().every(a => a.playState !== "running"
                                            || a.effect?.getTiming().iterations === Infinity)))))"""

# Words that name the kind of picture, not what it shows.
GENERIC_WORDS = {"a", "an", "the", "of", "fig", "figure", "image", "img", "picture", "plot",
                 "chart", "graph", "diagram", "svg", "png", "icon", "illustration"}  # fmt: skip


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
def browser():
    """One headless Chromium for every test here; each test gets a fresh context in it."""
    if CHROMIUM is None:
        if os.environ.get("CI"):  # .ci/run installs it: a skip there would hide a broken setup
            pytest.fail("chromium is not installed, but CI must run the browser check")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'"
    )
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=WAIT_S * 1000
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"{AXE.relative_to(REPO)} is missing: run `npm ci` (package-lock.json pins it)")
    return AXE.read_text(encoding="utf-8")


class Visit:
    """One page in a fresh browser context; `problems` collects everything that went wrong."""

    def __init__(self, page, name: str, problems: list[str], pending: set) -> None:
        self.page, self.name, self.problems, self._pending = page, name, problems, pending

    def note(self, kind: str, detail: str) -> None:
        self.problems.append(f"{self.name}: {kind}: {detail}")

    @contextlib.contextmanager
    def waiting_for(self, what: str) -> Iterator[None]:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            yield
        except PlaywrightTimeout as error:
            pytest.fail(f"{self.name}: waited {WAIT_S} s for {what}: {error}")

    def wait_until(self, script: str, what: str) -> None:
        with self.waiting_for(what):
            self.page.wait_for_function(script, timeout=WAIT_S * 1000)

    def settle(self) -> None:
        """Wait until no request of the page is in flight, so the checks saw every request."""
        deadline = time.monotonic() + WAIT_S
        while self._pending:
            if time.monotonic() > deadline:
                urls = ", ".join(sorted(r.url for r in self._pending))
                pytest.fail(f"{self.name}: waited {WAIT_S} s for these requests to end: {urls}")
            self.page.wait_for_timeout(100)  # lets Playwright deliver the request events

    def axe(
        self, source: str, label: str, *, rules: Sequence[str] = (), skip: Sequence[str] = ()
    ) -> None:
        """Run axe-core: every WCAG 2.0/2.1 A and AA rule but those in `skip`, or only `rules`."""
        from playwright.sync_api import Error as PlaywrightError

        if not self.page.evaluate("() => typeof axe !== 'undefined'"):
            self.page.evaluate(source)
        run_only = (
            {"type": "rule", "values": rules} if rules else {"type": "tag", "values": AXE_TAGS}
        )
        options = {"runOnly": run_only, "skip": list(skip), "seconds": WAIT_S}
        try:
            violations = self.page.evaluate(AXE_RUN_JS, options)
        except PlaywrightError as error:
            pytest.fail(f"{self.name} [{label}]: {error}")
        for v in violations:
            nodes = v["nodes"]
            detail = [f"{v['help']}: {len(nodes)} elements, e.g."]
            for node in nodes[:AXE_EXAMPLES]:
                html = " ".join(node["html"].split())[:200]
                detail += [
                    f"  at {node['target']}: {html}",
                    f"    {' '.join(node['summary'].split())}",
                ]
            self.note(f"axe {v['id']} ({v['impact']}, {label})", "\n".join(detail))


@contextlib.contextmanager
def visit(
    browser, server: str, path: str, *, javascript: bool = True, **options
) -> Iterator[Visit]:
    """Open `path` in a new context of `browser` and wait for its load event (and, with
    JavaScript on, for Material to apply its palette)."""
    context = browser.new_context(service_workers="block", **options)
    context.set_default_timeout(WAIT_S * 1000)
    local = urlsplit(server).netloc
    problems: list[str] = []
    pending: set = set()
    page = context.new_page()
    this = Visit(page, path, problems, pending)

    def route(route_, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != local:
            this.note("request to another host", request.url)
            route_.abort()  # record it, but never let it leave the machine
        else:
            route_.continue_()

    def failed(request) -> None:
        pending.discard(request)
        if urlsplit(request.url).netloc == local:
            this.note("failed request", f"{request.url} {request.failure}")

    context.route("**/*", route)
    context.on("request", lambda r: pending.add(r))
    context.on("requestfinished", lambda r: pending.discard(r))
    context.on("requestfailed", failed)
    page.on("console", lambda m: m.type == "error" and this.note("console error", m.text))
    page.on("pageerror", lambda e: this.note("uncaught exception", str(e)))
    page.on("response", lambda r: r.status >= 400 and this.note(f"HTTP {r.status}", r.url))
    # JavaScript off the way Chromium's own setting does it (Playwright's switch is the same
    # call), but on this page only: afterwards the test turns it back on for its own scripts
    # (axe-core needs timers), when the page's scripts have already been skipped for good.
    cdp = None if javascript else context.new_cdp_session(page)
    if cdp is not None:
        cdp.send("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        with this.waiting_for("the load event"):
            response = page.goto(server + BASE + path, wait_until="load")
        # 404.html is served with 200 here (it is a file); GitHub Pages sends 404.
        assert response is not None, f"{path}: no response"
        assert response.ok, f"{path}: HTTP {response.status}"
        if cdp is None:
            this.wait_until(PALETTE_APPLIED_JS, "Material's JavaScript to apply the palette")
        else:
            # Material's first inline script defines __md_scope: proof that no script ran.
            assert page.evaluate("() => typeof __md_scope") == "undefined", (
                f"{path}: page scripts ran although JavaScript was off"
            )
            cdp.send("Emulation.setScriptExecutionDisabled", {"value": False})
        yield this
    finally:
        context.close()


def check_fonts(this: Visit) -> None:
    this.wait_until("() => document.fonts.status === 'loaded'", "the web fonts to load")
    failed = this.page.evaluate(FONTS_JS)["failed"]
    if failed:
        this.note("fonts failed to load", ", ".join(failed))


def check_figures(this: Visit) -> None:
    for figure in this.page.evaluate(FIGURES_JS):
        if not figure["sized"]:
            this.note("figure without size", figure["html"])
        name = " ".join((figure["name"] or "").split())
        words = re.findall(r"[A-Za-z]+", name.lower())
        if len([w for w in words if w not in GENERIC_WORDS]) < 3:
            this.note(
                "figure without a text alternative that says what it shows",
                f'{name!r} on {figure["html"]} (an <img> needs alt="...", an <svg> '
                'role="img" and aria-label="...": what the figure shows, in a sentence)',
            )


def check_text(this: Visit) -> None:
    text = this.page.evaluate(VISIBLE_TEXT_JS)
    for raw in (r"\(", r"\[", r"\frac", "$$"):
        if raw in text:
            at = text.index(raw)
            this.note("raw TeX visible", " ".join(text[max(0, at - 60) : at + 60].split()))
    flat = this.page.evaluate(KATEX_FLAT_JS)
    if flat:
        this.note("KaTeX output without size", f"{flat} formulas")


def check_structure(this: Visit) -> None:
    lang = this.page.evaluate("() => document.documentElement.lang")
    if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)*", lang):
        this.note("page language not set", f"<html lang={lang!r}>")
    previous = 0
    for level, text in this.page.evaluate(HEADINGS_JS):
        if level > previous + 1:
            this.note("heading skips a level", f"h{level} {text!r} after h{previous or '-'}")
        previous = level


def test_every_page_is_tested(built_site: Path) -> None:
    built = sorted(p.relative_to(built_site).as_posix() for p in built_site.rglob("*.html"))
    assert built == sorted(PAGES), "pages built but not tested, or tested but not built"


def check_scheme(this: Visit, scheme: str) -> None:
    shown = this.page.evaluate(
        "() => [document.body.dataset.mdColorScheme, getComputedStyle(document.body).colorScheme]"
    )
    assert shown == [SCHEME[scheme], scheme], (
        f"{this.name}: expected the {scheme} scheme, the page shows {shown}"
    )


def open_details(this: Visit) -> None:
    """What a reader can unfold is checked too (the API pages' source listings)."""
    this.page.evaluate(
        "() => document.querySelectorAll('details').forEach(d => { d.open = true; })"
    )


def check_reflow(this: Visit, size: str) -> None:
    layout = this.page.evaluate(REFLOW_JS)
    if layout["scrollWidth"] > layout["width"]:
        this.note(
            f"page scrolls sideways at {size}",
            f"{layout['scrollWidth']} px of content in a {layout['width']} px window",
        )
    for text in layout["cut"]:
        this.note(f"text cut off at {size}", repr(text))


def resize(this: Visit, viewport: dict) -> None:
    this.page.set_viewport_size(viewport)
    this.wait_until(SETTLED_JS, f"the page to settle at {viewport['width']} px")


def switch_scheme(this: Visit, scheme: str) -> None:
    """Press the header's toggle and wait until Material has switched. The press comes from a
    script, not the mouse, so no tooltip is left fading in over the page."""
    toggle = {"dark": "__palette_1", "light": "__palette_0"}[scheme]
    this.page.evaluate(f"() => document.querySelector('label[for=\"{toggle}\"]').click()")
    this.wait_until(PALETTE_APPLIED_JS, f"Material's JavaScript to switch to the {scheme} palette")
    this.wait_until(SETTLED_JS, f"the page to settle in the {scheme} scheme")
    check_scheme(this, scheme)


def check_formula_colours(this: Visit, scheme: str) -> None:
    unlike = this.page.evaluate(FORMULA_COLOURS_JS)
    if unlike:
        this.note(
            f"{len(unlike)} formulas have a glyph in a colour of their own in the {scheme} "
            "scheme, which the contrast check would not see",
            "\n".join(unlike[:AXE_EXAMPLES]),
        )


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_page(browser, server: str, axe_source: str, path: str) -> None:
    """One loaded page, as a reader goes through it: light scheme, dark scheme, 200 % zoom."""
    with visit(browser, server, path, color_scheme="light", viewport=DESKTOP) as this:
        check_scheme(this, "light")
        check_fonts(this)
        open_details(this)
        check_text(this)
        check_figures(this)
        check_structure(this)
        this.axe(axe_source, "light", skip=COLOUR_RULES)
        check_formula_colours(this, "light")
        switch_scheme(this, "dark")
        check_formula_colours(this, "dark")
        this.page.evaluate(FORMULAS_OUT_JS)  # until they are back, only colours are checked
        this.axe(axe_source, "dark", rules=COLOUR_RULES)
        switch_scheme(this, "light")
        this.axe(axe_source, "light", rules=COLOUR_RULES)
        this.page.evaluate(FORMULAS_BACK_JS)
        resize(this, ZOOMED)
        check_reflow(this, "200%")
        # More boxes scroll at 200 %, and each must take the keyboard's focus.
        this.axe(axe_source, "200%", rules=["scrollable-region-focusable"])
        this.settle()
        assert not this.problems, "\n".join(this.problems)


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_page_without_javascript(browser, server: str, path: str) -> None:
    """The light page, and everything but the palette switch and search, with scripts off."""
    with visit(browser, server, path, javascript=False, color_scheme="light") as this:
        check_scheme(this, "light")
        check_fonts(this)
        open_details(this)
        check_text(this)
        check_figures(this)
        check_structure(this)
        this.settle()
        assert not this.problems, "\n".join(this.problems)


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_page_on_a_phone(browser, server: str, path: str) -> None:
    with visit(browser, server, path, color_scheme="light", **PHONE) as this:
        check_fonts(this)
        open_details(this)
        check_reflow(this, "390px")
        this.settle()
        assert not this.problems, "\n".join(this.problems)


def test_a_reader_who_prefers_dark_gets_the_dark_scheme(browser, server: str) -> None:
    """Material picks the palette by prefers-color-scheme when the page loads (mkdocs.yml)."""
    with visit(browser, server, "forward/index.html", color_scheme="dark") as this:
        check_scheme(this, "dark")
        assert not this.problems, "\n".join(this.problems)


# Material's code-highlighting variables; each is the colour of some kind of token.
TOKENS = "number special function constant keyword string name operator punctuation comment"
CODE_COLOURS = ["code-fg", "typeset-a"] + [
    f"code-hl-{t}" for t in f"{TOKENS} generic variable".split()
]

# The colour of each variable, as the browser resolves it inside a code block, and the
# backgrounds a token can sit on: the code block's, and a highlighted line's (hl_lines).
CODE_COLOURS_JS = """(names) => {
  const code = document.querySelector(".highlight pre > code");
  const probe = document.createElement("span");
  code.append(probe);
  const rgba = value => { probe.style.color = value; return getComputedStyle(probe).color; };
  const colours = Object.fromEntries(names.map(n => [n, rgba(`var(--md-${n}-color)`)]));
  const backgrounds = {
    "code": getComputedStyle(code).backgroundColor,
    "highlighted line": rgba("var(--md-code-hl-color--light)"),
  };
  probe.remove();
  return {colours, backgrounds};
}"""


def _rgba(css: str) -> tuple[float, float, float, float]:
    values = [float(v) for v in re.findall(r"[\d.]+", css)]
    assert css.startswith("rgb"), f"unexpected colour {css!r}"
    assert len(values) in (3, 4), f"unexpected colour {css!r}"
    return (*values[:3], values[3] if len(values) == 4 else 1.0)


def _over(top: tuple, bottom: tuple) -> tuple[float, float, float, float]:
    alpha = top[3]
    return (*(alpha * t + (1 - alpha) * b for t, b in zip(top[:3], bottom[:3], strict=True)), 1.0)


def _contrast(a: tuple, b: tuple) -> float:
    """WCAG 2 contrast ratio of two opaque sRGB colours (0-255 channels)."""

    def luminance(c):
        lin = [v / 255 / 12.92 if v / 255 <= 0.04045 else ((v / 255 + 0.055) / 1.055) ** 2.4
               for v in c[:3]]  # fmt: skip
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("scheme", SCHEME)
def test_code_colours_contrast(browser, server: str, scheme: str) -> None:
    """Every token colour of the code highlighting, used on the site yet or not, is readable
    (WCAG AA, 4.5:1) against the code background and a highlighted line, in both schemes."""
    with visit(browser, server, "forward/index.html", color_scheme=scheme) as this:
        found = this.page.evaluate(CODE_COLOURS_JS, CODE_COLOURS)
    code = _rgba(found["backgrounds"]["code"])
    assert code[3] == 1.0, f"the code background is not opaque: {found['backgrounds']}"
    low = []
    for where, background in found["backgrounds"].items():
        base = _over(_rgba(background), code)
        for name, colour in found["colours"].items():
            ratio = _contrast(_over(_rgba(colour), base), base)
            if ratio < 4.5:
                low.append(f"--md-{name}-color {colour} on the {where} {background}: {ratio:.2f}:1")
    assert not low, f"{scheme} scheme, below 4.5:1:\n" + "\n".join(low)
