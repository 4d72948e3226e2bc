"""The directory listing page of a mount with ``display_index``.

A table of name, size and modification time (UTC), folders first. The column headings are
plain links (``?sort=name|size|mtime&order=asc|desc``), so sorting works without JavaScript;
a parent link leads up except at the mount's root. Every name is escaped for HTML and
percent-encoded in its link, and a name that is not valid UTF-8 is shown with replacement
characters but linked by its exact bytes. The page is readable on a phone: a viewport meta,
names that wrap anywhere, and the time column narrowed to the date on small screens.
"""

from __future__ import annotations

import html
import os
import stat
import time
from typing import Dict, List, NamedTuple, Tuple
from urllib.parse import parse_qs, quote

from rocket.static.paths import is_hidden, maybe_stat_below

__all__ = ["Entry", "read_entries", "listing_page", "SORT_KEYS"]

SORT_KEYS = ("name", "size", "mtime")
"""The ``sort`` values a listing accepts; anything else sorts by name."""

HEADINGS = {"name": "Name", "size": "Size", "mtime": "Modified (UTC)"}

STYLE = (
    "body{font:16px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:1rem auto;"
    "max-width:60rem;padding:0 1rem;color:#1f2328;background:#fff}"
    "h1{font-size:1.3rem;font-weight:600;overflow-wrap:anywhere;margin:.5rem 0 1rem}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{padding:.45rem .6rem;border-bottom:1px solid #d8dee4;text-align:left;"
    "vertical-align:top}"
    "th{font-weight:600;background:#f6f8fa;white-space:nowrap}"
    "th a{color:inherit}"
    "td.name{overflow-wrap:anywhere;word-break:break-word}"
    ".size{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}"
    ".mtime{white-space:nowrap;font-variant-numeric:tabular-nums}"
    "a{color:#0969da;text-decoration:none}a:hover{text-decoration:underline}"
    "tr:hover td{background:#f6f8fa}"
    "@media (max-width:600px){body{padding:0 .5rem}th,td{padding:.4rem .3rem}"
    ".clock{display:none}}"
)


class Entry(NamedTuple):
    """One row of the listing: the name on disk, whether it is a folder, size and mtime."""

    name: str
    is_dir: bool
    size: int
    mtime: float


def read_entries(real_root: str, real_dir: str, show_dotfiles: bool,
                 follow_symlinks: bool) -> List[Entry]:
    """The entries of ``real_dir`` that the mount would serve (hidden and escaping ones left
    out); OSError when the folder cannot be read."""
    entries = []
    for name in os.listdir(real_dir):
        if not show_dotfiles and is_hidden(name):
            continue
        found = maybe_stat_below(real_root, real_dir, (name,), follow_symlinks)
        if found is None:
            continue
        st = found[1]
        entries.append(Entry(name, stat.S_ISDIR(st.st_mode), st.st_size, st.st_mtime))
    return entries


def sort_order(query: str) -> Tuple[str, str]:
    """``(sort, order)`` from a query string, defaulting to ``("name", "asc")``."""
    fields = parse_qs(query)
    sort = (fields.get("sort") or ["name"])[0]
    order = (fields.get("order") or ["asc"])[0]
    return (sort if sort in SORT_KEYS else "name", order if order in ("asc", "desc") else "asc")


def listing_page(title: str, entries: List[Entry], query: str, has_parent: bool) -> bytes:
    """The HTML page listing ``entries`` under the heading ``Index of <title>``."""
    sort, order = sort_order(query)
    rows = _sorted(entries, sort, order == "desc")
    heading = html.escape(title)
    head = "".join(_heading(key, sort, order) for key in SORT_KEYS)
    body = []
    if has_parent:
        body.append('<tr><td class="name"><a href="../">../</a> <small>(parent folder)</small>'
                    '</td><td class="size"></td><td class="mtime"></td></tr>')
    body.extend(_row(entry) for entry in rows)
    if not rows:
        body.append('<tr><td class="name" colspan="3"><em>empty folder</em></td></tr>')
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Index of {heading}</title><style>{STYLE}</style></head>\n"
        f"<body><h1>Index of {heading}</h1>\n<table>\n<thead><tr>{head}</tr></thead>\n"
        "<tbody>\n" + "\n".join(body) + "\n</tbody></table></body></html>\n"
    )
    return page.encode("utf-8")


def _sorted(entries: List[Entry], sort: str, reverse: bool) -> List[Entry]:
    keys: Dict[str, object] = {
        "name": lambda e: (e.name.casefold(), e.name),
        "size": lambda e: (e.size, e.name.casefold()),
        "mtime": lambda e: (e.mtime, e.name.casefold()),
    }
    ordered = sorted(entries, key=keys[sort], reverse=reverse)  # type: ignore[arg-type]
    return [e for e in ordered if e.is_dir] + [e for e in ordered if not e.is_dir]


def _heading(key: str, sort: str, order: str) -> str:
    next_order = "desc" if key == sort and order == "asc" else "asc"
    mark = ""
    aria = ""
    if key == sort:
        mark = " \u25b2" if order == "asc" else " \u25bc"
        aria = f' aria-sort="{"ascending" if order == "asc" else "descending"}"'
    css = f' class="{key}"' if key != "name" else ""
    return (f'<th{css}{aria}><a href="?sort={key}&amp;order={next_order}">'
            f"{HEADINGS[key]}{mark}</a></th>")


def _row(entry: Entry) -> str:
    slash = "/" if entry.is_dir else ""
    raw = os.fsencode(entry.name)
    href = html.escape(quote(raw) + slash)
    label = html.escape(raw.decode("utf-8", "replace") + slash)
    size = "" if entry.is_dir else (f'<span title="{entry.size} bytes">'
                                    f"{_size(entry.size)}</span>")
    stamp = time.gmtime(entry.mtime)
    return (f'<tr><td class="name"><a href="{href}">{label}</a></td>'
            f'<td class="size">{size}</td>'
            f'<td class="mtime"><time datetime="{time.strftime("%Y-%m-%dT%H:%M:%SZ", stamp)}">'
            f'{time.strftime("%Y-%m-%d", stamp)}<span class="clock"> '
            f'{time.strftime("%H:%M", stamp)}</span></time></td></tr>')


def _size(number: int) -> str:
    """``532 B``, ``1.2 KiB``, ``3.4 MiB``: readable, with the exact count in the title."""
    value = float(number)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{number} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{number} B"  # pragma: no cover - the loop returns

