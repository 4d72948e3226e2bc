"""HTTP dates (RFC 9110 §5.6.7): the IMF-fixdate format and the once-a-second ``Date`` cache.

Every response carries a ``Date`` line; formatting it costs more than the rest of a small
response head, so the current value is formatted at most once a second and shared by all
threads (the writer's heads and the WSGI worker's head cache both key on it).
"""

from __future__ import annotations

import time
from typing import Optional, Tuple

__all__ = ["http_date", "date_line"]

# (expires_at, b"Sun, 22 Nov 2026 00:30:54 GMT", b"Date: ...\r\n"), replaced as one tuple
# so threads never see a half-updated cache; expires_at is the start of the next second.
_cache: Tuple[float, bytes, bytes] = (0.0, b"", b"")
_time = time.time

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(now: Optional[float] = None) -> bytes:
    """The IMF-fixdate for ``now`` (default: the current time), RFC 9110 §5.6.7.

    Without ``now`` the value is cached and formatted at most once per second.
    """
    if now is not None:
        return _format(now)
    date = _cache
    if _time() >= date[0]:
        date = _refresh()
    return date[1]


def date_line() -> bytes:
    """The current ``Date: ...\\r\\n`` header line, from the same once-a-second cache."""
    date = _cache
    if _time() >= date[0]:
        date = _refresh()
    return date[2]


def _format(timestamp: float) -> bytes:
    # Written out rather than email.utils.formatdate, which imports socket (sans-I/O rule).
    t = time.gmtime(timestamp)
    return b"%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAYS[t.tm_wday].encode(), t.tm_mday, _MONTHS[t.tm_mon].encode(), t.tm_year,
        t.tm_hour, t.tm_min, t.tm_sec,
    )


def _refresh() -> Tuple[float, bytes, bytes]:
    global _cache
    second = int(_time())
    value = _format(second)
    date = _cache = (float(second + 1), value, b"Date: " + value + b"\r\n")
    return date
