"""A small in-memory cache of whole small-file responses, revalidated by one ``stat``.

How it works: after :class:`rocket.static.files.StaticFiles` has served a small file with a plain
``GET`` (no range, no precondition), it stores the response under ``(PATH_INFO,
Accept-Encoding)``: the resolved path, the file's identity (inode, device, size, mtime and
ctime in ns), the headers and the bytes. The next plain ``GET`` with the same key costs one
``os.stat`` of that path: if the identity is unchanged the stored response is sent, otherwise
the entry is dropped and the request takes the full path (resolution, checks, open, read).

What was stored was read through every check of the full path, so a hit can only ever send
bytes that were allowed. Entries live at most ``ttl_s`` seconds, so changes that do not touch
the file itself (a new ``.gz`` sibling, a renamed directory) are seen within that time; a chmod
changes the ctime and is seen at once. When the byte budget is full the cache starts over:
simpler than an LRU, and a hot set that fits stays hot.
"""

from __future__ import annotations

import os
import time
from typing import Any, Dict, List, Optional, Tuple

CACHE_BYTES = 8 * 1024 * 1024
"""Default budget of cached bodies per StaticFiles: the hot small assets of a typical site
(CSS, JS, icons) fit, and the memory stays small beside the interpreter's own."""

TTL_S = 1.0
"""Longest time an entry is trusted without a full resolution (see the module docstring)."""

# A request carrying any of these takes the full path (validators, ranges, If-Range).
_BYPASS = (
    "HTTP_RANGE",
    "HTTP_IF_MATCH",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_IF_RANGE",
)

Identity = Tuple[int, int, int, int, int]


def identity(st: os.stat_result) -> Identity:
    """What must not change for a stored response to stay valid."""
    return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class ResponseCache:
    """Whole responses of small files; thread-safe through atomic dict operations."""

    def __init__(self, max_bytes: int = CACHE_BYTES, ttl_s: float = TTL_S) -> None:
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self.size_bytes = 0
        self._entries: Dict[Tuple[str, str], Tuple[str, Identity, float, list, bytes]] = {}

    def key(self, environ: Dict[str, Any]) -> Optional[Tuple[str, str]]:
        """The cache key of a plain GET, or None when the request must take the full path."""
        for name in _BYPASS:
            if name in environ:
                return None
        return (environ.get("PATH_INFO", ""), environ.get("HTTP_ACCEPT_ENCODING", ""))

    def maybe_get(self, key: Tuple[str, str]) -> Optional[Tuple[List[Tuple[str, str]], bytes]]:
        """``(headers, body)`` when a valid entry exists; the headers are a fresh list."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        path, ident, expires, headers, body = entry
        try:
            st = os.stat(path)
        except OSError:
            st = None
        if st is None or identity(st) != ident or time.monotonic() > expires:
            self._drop(key)
            return None
        return list(headers), body

    def store(
        self, key: Tuple[str, str], path: str, st: os.stat_result, headers: list, body: bytes
    ) -> None:
        """Remember one response (``st`` from ``fstat`` of the file the body was read from)."""
        if len(body) > self.max_bytes:
            return
        self._drop(key)  # threads that missed at once store the same key: count it once
        if self.size_bytes + len(body) > self.max_bytes:
            self._entries.clear()
            self.size_bytes = 0
        self._entries[key] = (path, identity(st), time.monotonic() + self.ttl_s, headers, body)
        self.size_bytes += len(body)

    def _drop(self, key: Tuple[str, str]) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.size_bytes -= len(entry[4])

    def __len__(self) -> int:
        return len(self._entries)
