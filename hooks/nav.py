"""MkDocs hook: let mkdocs.yml carry the complete nav before every page exists.

The content pages are written by several people at different times. `mkdocs build --strict`
fails on a nav entry whose file is missing, so we drop such entries (and sections left empty)
at config time, logging them at INFO. Mistakes still fail the strict build: a page that exists
but is not reachable from the nav (e.g. because its nav entry has a typo) is reported by
`validation.nav.omitted_files: warn` in mkdocs.yml.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.plugins import get_plugin_logger

log = get_plugin_logger("nav")


def _prune(items, docs_dir: Path, missing: list[str]):
    kept = []
    for item in items:
        title, target = next(iter(item.items())) if isinstance(item, dict) else (None, item)
        if isinstance(target, list):
            target = _prune(target, docs_dir, missing)
            if not target:
                continue
        elif "://" not in target and not (docs_dir / target).is_file():
            missing.append(target)
            continue
        kept.append({title: target} if title is not None else target)
    return kept


def on_config(config):
    if config.nav:
        missing: list[str] = []
        config.nav = _prune(config.nav, Path(config.docs_dir), missing)
        if missing:
            log.info("not in the site yet (no file in docs/): %s", ", ".join(missing))
    return config
