"""MkDocs hook: a page makes no request to any host but the site's own.

Material fetches the repository's star/fork counts from the GitHub API, in the browser, for
the repository link in the header (`data-md-component="source"`). That is the only third-party
request a page would make (fonts are off via `theme.font: false`, KaTeX is rendered at build
time), so we keep the link and drop the attribute that makes Material's JS call the API.
tests/test_browser.py checks the result in a real browser.
"""

from __future__ import annotations

SOURCE_FACTS = ' data-md-component="source"'


def on_post_page(output, page, config):
    return output.replace(SOURCE_FACTS, "")


def on_post_template(output_content, template_name, config):
    return output_content.replace(SOURCE_FACTS, "")  # 404.html is a template, not a page
