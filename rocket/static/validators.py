"""Validators, conditional requests and content negotiation for static files.

Sans-I/O helpers used by :mod:`rocket.static.files`: ETag and Last-Modified from a ``stat`` result,
RFC 9110 §13.2.2 precondition evaluation (412 before 304), ``If-Range``, ``Accept-Encoding``
q-values and the ``Content-Type`` of a file name.
"""

from __future__ import annotations

import calendar
import datetime
import email.utils
import functools
import mimetypes
import os
import re
from typing import List, Mapping, Optional

from rocket.http.writer import http_date as writer_http_date

# The defaults only, not /etc/mime.types: the same file must get the same type on every host.
_TYPES = mimetypes.MimeTypes()
for _type, _ext in (
    ("text/javascript", ".js"),  # RFC 9239; Python < 3.12 still says application/javascript
    ("text/javascript", ".mjs"),
    ("application/json", ".map"),
    ("application/manifest+json", ".webmanifest"),
    ("application/wasm", ".wasm"),
    ("font/woff", ".woff"),
    ("font/woff2", ".woff2"),
    ("font/ttf", ".ttf"),
    ("font/otf", ".otf"),
    ("image/webp", ".webp"),
    ("image/avif", ".avif"),
    ("image/svg+xml", ".svg"),
    ("text/markdown", ".md"),
):
    _TYPES.add_type(_type, _ext)

# A file whose own name ends in a coding suffix is served as that archive, not decoded.
_ARCHIVE_TYPES = {
    "gzip": "application/gzip",
    "br": "application/x-brotli",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
}

# Text-like types that get "; charset=utf-8" besides text/*.
_CHARSET_TYPES = frozenset(
    ("application/json", "application/manifest+json", "application/xml", "image/svg+xml")
)

DEFAULT_TYPE = "application/octet-stream"


@functools.lru_cache(maxsize=1024)  # guess_type costs ~10 µs; names repeat
def content_type(name: str, charset: str = "utf-8") -> str:
    """The ``Content-Type`` for a file name, with a charset for text (RFC 9110 §8.3)."""
    ctype, coding = _TYPES.guess_type(name, strict=False)
    if coding:
        return _ARCHIVE_TYPES.get(coding, DEFAULT_TYPE)
    if ctype is None:
        return DEFAULT_TYPE
    if ctype.startswith("text/") or ctype in _CHARSET_TYPES:
        return f"{ctype}; charset={charset}"
    return ctype


def make_etag(st: os.stat_result, suffix: str = "") -> str:
    """A strong ETag from size and mtime (ns); ``suffix`` tells encoded variants apart."""
    return f'"{st.st_size:x}-{st.st_mtime_ns:x}{suffix}"'


@functools.lru_cache(maxsize=1024)  # one entry per distinct mtime; formatting costs ~1 µs
def http_date(timestamp: float) -> str:
    """An IMF-fixdate (RFC 9110 §5.6.7) for a POSIX timestamp (the writer's ``Date`` format)."""
    return writer_http_date(timestamp).decode("ascii")


def maybe_parse_http_date(value: str) -> Optional[int]:
    """Parse any of the three HTTP-date forms (RFC 9110 §5.6.7); None when invalid."""
    try:
        parts = email.utils.parsedate_tz(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parts is None:
        return None
    try:
        datetime.datetime(*parts[:6])  # parsedate_tz accepts day 99; a real date does not
        # asctime dates carry no zone: HTTP dates are always GMT.
        return calendar.timegm(parts[:9]) - (parts[9] or 0)
    except (TypeError, ValueError, OverflowError):
        return None


_ETAG_RE = re.compile(r'\s*(W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')


def maybe_parse_etags(value: str) -> Optional[List[tuple[bool, str]]]:
    """Parse an entity-tag list (RFC 9110 §8.8.3) into ``(weak, opaque)`` pairs.

    Callers test for ``*`` first. Returns None when the value is malformed: a malformed
    condition is ignored rather than guessed at.
    """
    tags = []
    pos = 0
    value = value.strip()
    while pos < len(value):
        m = _ETAG_RE.match(value, pos)
        if m is None or m.end() == pos:
            return None
        tags.append((bool(m.group(1)), m.group(2)))
        pos = m.end()
    return tags


def _strong_match(tags: List[tuple[bool, str]], etag: str) -> bool:
    # RFC 9110 §8.8.3.2: strong comparison, neither tag may be weak.
    return any(not weak and opaque == etag for weak, opaque in tags)


def _weak_match(tags: List[tuple[bool, str]], etag: str) -> bool:
    return any(opaque == etag for _, opaque in tags)


def evaluate_preconditions(environ: Mapping[str, str], etag: str, mtime: int) -> Optional[int]:
    """Apply RFC 9110 §13.2.2 in order; returns 412, 304 or None (go on and serve).

    ``mtime`` is whole seconds, the precision of ``Last-Modified``. Only GET and HEAD reach
    here, so a matching ``If-None-Match`` always means 304.
    """
    if_match = environ.get("HTTP_IF_MATCH")
    if if_match is not None:
        if if_match.strip() != "*":
            tags = maybe_parse_etags(if_match)
            if tags is not None and not _strong_match(tags, etag):
                return 412  # §13.1.1
    else:
        ius = environ.get("HTTP_IF_UNMODIFIED_SINCE")
        if ius is not None:
            when = maybe_parse_http_date(ius)
            if when is not None and mtime > when:
                return 412  # §13.1.4
    inm = environ.get("HTTP_IF_NONE_MATCH")
    if inm is not None:
        if inm.strip() == "*":
            return 304
        tags = maybe_parse_etags(inm)
        if tags is not None and _weak_match(tags, etag):
            return 304  # §13.1.2, weak comparison
    else:
        ims = environ.get("HTTP_IF_MODIFIED_SINCE")
        if ims is not None:
            when = maybe_parse_http_date(ims)
            if when is not None and mtime <= when:
                return 304  # §13.1.3
    return None


def if_range_allows(environ: Mapping[str, str], etag: str, mtime: int) -> bool:
    """True when a ``Range`` may be honoured given ``If-Range`` (RFC 9110 §13.1.5)."""
    value = environ.get("HTTP_IF_RANGE")
    if value is None:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        tags = maybe_parse_etags(value)
        return bool(tags) and len(tags) == 1 and _strong_match(tags, etag)
    when = maybe_parse_http_date(value)
    return when is not None and when == mtime


def accepted_q(accept_encoding: str, coding: str) -> float:
    """The q-value ``Accept-Encoding`` gives ``coding`` (RFC 9110 §12.5.3); 0 = refused."""
    wildcard = 0.0
    for item in accept_encoding.split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        if name == "x-gzip":
            name = "gzip"
        if name != coding and name != "*":
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, val = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(val.strip())
                except ValueError:
                    q = 0.0
        if name == coding:
            return q
        wildcard = q
    return wildcard
