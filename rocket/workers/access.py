"""One access-log line of the WSGI worker, from the request, its exchange and its environ.

The format (``access_log_format``, see :mod:`rocket.accesslog`) decides which fields are
computed: Rocket's own line needs four, each further field costs only when the format names
it, and ``json`` fills every field and escapes the strings a client controls.
"""

from __future__ import annotations

import os
import time
from typing import Any, Dict

from rocket.accesslog import FIELDS, JSON, json_fields, json_template
from rocket.http.events import Request

__all__ = ["AccessLine", "log_time"]

_BASIC = frozenset(("client_ip", "request_line", "status", "size"))


class AccessLine:
    """Renders lines of one format; ``timed`` says whether it needs the request's start time."""

    def __init__(self, fmt: str) -> None:
        self.json = fmt == JSON
        self.template = json_template() if self.json else fmt
        self.extra = frozenset(name for name in FIELDS if name not in _BASIC
                               and (self.json or f"%({name})" in fmt))
        self.timed = "request_time_us" in self.extra

    def render(self, conn: Any, exchange: Any, environ: Dict[str, Any], started: float,
               request_id: bool) -> str:
        """The line for one answered request (raises KeyError/ValueError/TypeError for a
        format that does not fit the fields)."""
        request: Request = exchange.request
        head = exchange.head
        fields: Dict[str, Any] = {
            "client_ip": environ.get("REMOTE_ADDR") or "-",
            "request_line": (request.method + b" " + request.target + b" HTTP/"
                             + request.http_version).decode("latin-1"),
            "status": head.status_code if head is not None else "-",
            "size": exchange.body_sent,
        }
        extra = self.extra
        if extra:
            if "time" in extra:
                fields["time"] = log_time()
            if "referer" in extra:
                fields["referer"] = _header(request, b"referer")
            if "user_agent" in extra:
                fields["user_agent"] = _header(request, b"user-agent")
            if "request_time_us" in extra:
                fields["request_time_us"] = int((time.perf_counter() - started) * 1e6)
            if "request_id" in extra:
                fields["request_id"] = (environ.get("HTTP_X_REQUEST_ID") or "-") if request_id \
                    else "-"
            if "forwarded_for" in extra:
                fields["forwarded_for"] = _header(request, b"x-forwarded-for")
            if "tls_version" in extra:
                fields["tls_version"] = _tls_version(conn)
            if "pid" in extra:
                fields["pid"] = os.getpid()
        if self.json:
            json_fields(fields)
        return self.template % fields


_log_time_cache = [0, ""]


def log_time() -> str:
    """Apache's ``[%d/%b/%Y:%H:%M:%S %z]`` time, formatted at most once a second."""
    now = int(time.time())
    cache = _log_time_cache
    if cache[0] != now:
        cache[1] = time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime(now))
        cache[0] = now
    return cache[1]


def _header(request: Request, name: bytes) -> str:
    for key, value in request.headers:
        if key == name:
            return value.decode("latin-1")
    return "-"


def _tls_version(conn: Any) -> str:
    if not conn.secure:
        return "-"
    try:
        return conn.sock.version() or "-"
    except (AttributeError, OSError, ValueError):
        return "-"
