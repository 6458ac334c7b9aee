"""MkDocs hook: the search plugin reads code listings without their highlighting markup.

Material's search plugin indexes a page by parsing its HTML, and keeps the text of a code
listing, not the markup. Pygments wraps every token and every line of a listing in a
``<span>``, with an empty ``<a>`` anchor per line: about three quarters of the tags on these
pages. For the search plugin's turn only, each listing loses them. The page then gets its
full content back, minus the ``data-search-*`` attributes the plugin removes once it has
read them; if the plugin ever edits a page otherwise, the build stops.

The plugin takes 1.1 s per build instead of 3.4 s, and the index is byte for byte the same:
tests/test_docs_build.py checks that the plugin's parser reads the listings of every built
page the same with or without that markup.
"""

from __future__ import annotations

import re

from mkdocs.exceptions import PluginError
from mkdocs.plugins import CombinedEvent, event_priority

LISTING = re.compile(r"<pre\b[^>]*>.*?</pre>", re.DOTALL)
MARKUP = re.compile(r"</?span\b[^>]*>|<a\b[^>]*></a>")
READ_BY_SEARCH = re.compile(r'\s?data-search-\w+="[^"]+"')  # the plugin removes these

_pages: dict[str, tuple[str, str]] = {}  # page -> (full, lean) while the plugin reads lean


def lean(html: str) -> str:
    """The HTML with every listing's spans and empty anchors taken out, text unchanged."""
    return LISTING.sub(lambda listing: MARKUP.sub("", listing.group(0)), html)


@event_priority(100)  # before the search plugin (0)
def _before_search(context, page, config, nav):
    if page.content is not None:
        trimmed = lean(page.content)
        _pages[page.file.src_uri] = page.content, trimmed
        page.content = trimmed
    return context


@event_priority(-100)  # after it: the theme renders the page from the full content
def _after_search(context, page, config, nav):
    if page.file.src_uri not in _pages:
        return context
    full, given = _pages.pop(page.file.src_uri)
    if page.content == given:  # the plugin is off (`enabled: false`)
        page.content = full
    elif page.content == READ_BY_SEARCH.sub("", given):
        page.content = READ_BY_SEARCH.sub("", full)
    else:
        raise PluginError(
            f"{page.file.src_uri}: the search plugin edited the page in a way that "
            "hooks/search_index.py cannot carry over to its full content"
        )
    return context


on_page_context = CombinedEvent(_before_search, _after_search)
