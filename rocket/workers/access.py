"""One access-log line of the WSGI worker, from the request, its exchange and its environ.

The format (``access_log_format``, see :mod:`rocket.accesslog`) decides which fields are
computed: Rocket's own line needs four, each further field costs only when the format names
it, and ``json`` fills every field and escapes the strings a client controls.
"""

from __future__ import annotations

import os
import time
from typing import Any, Dict

from rocket.accesslog import FIELDS, JSON, escape, json_escape
from rocket.http.events import Request

__all__ = ["AccessLine", "log_time"]

_BASIC = frozenset(("client_ip", "request_line", "status", "size"))
_JSON_LINE = ('{"client_ip": %s, "time": "%s", "request_line": %s, "status": %s, "size": %d, '
              '"referer": %s, "user_agent": %s, "request_time_us": %d, "request_id": "%s", '
              '"forwarded_for": %s, "tls_version": "%s", "pid": %d}')
"""A JSON line (the keys of FIELDS, in order). Values the client controls are escaped with
json_escape; the time, request id (validated or made here) and TLS version never need it."""


class AccessLine:
    """Renders lines of one format; ``timed`` says whether it needs the request's start time.

    Referer, user agent and ``X-Forwarded-For`` are read from the environ, as the app saw
    them (so an untrusted peer's stripped ``X-Forwarded-For`` logs as ``-``).
    """

    def __init__(self, fmt: str) -> None:
        self.json = fmt == JSON
        self.template = fmt
        self.extra = frozenset(name for name in FIELDS if name not in _BASIC
                               and (self.json or f"%({name})" in fmt))
        self.timed = "request_time_us" in self.extra
        self._pid = os.getpid()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        self._pid = os.getpid()

    def render(self, conn: Any, exchange: Any, environ: Dict[str, Any], started: float,
               request_id: bool) -> str:
        """The line for one answered request (raises KeyError/ValueError/TypeError for a
        format that does not fit the fields)."""
        request: Request = exchange.request
        head = exchange.head
        # Every value a client controls is escaped the way Apache does (\", \\, \xNN), so it
        # cannot forge a field or a line; JSON then encodes that same escaped text.
        line = escape((request.method + b" " + request.target + b" HTTP/"
                       + request.http_version).decode("latin-1"))
        if self.json:
            get = environ.get
            return _JSON_LINE % (
                json_escape(get("REMOTE_ADDR") or "-"), log_time(), json_escape(line),
                head.status_code if head is not None else "null", exchange.body_sent,
                json_escape(escape(get("HTTP_REFERER", "-"))),
                json_escape(escape(get("HTTP_USER_AGENT", "-"))),
                int((time.perf_counter() - started) * 1e6),
                (get("HTTP_X_REQUEST_ID") or "-") if request_id else "-",
                json_escape(escape(get("HTTP_X_FORWARDED_FOR", "-"))), _tls_version(conn),
                self._pid)
        fields: Dict[str, Any] = {
            "client_ip": environ.get("REMOTE_ADDR") or "-",
            "request_line": line,
            "status": head.status_code if head is not None else "-",
            "size": exchange.body_sent,
        }
        extra = self.extra
        if extra:
            if "time" in extra:
                fields["time"] = log_time()
            if "referer" in extra:
                fields["referer"] = escape(environ.get("HTTP_REFERER", "-"))
            if "user_agent" in extra:
                fields["user_agent"] = escape(environ.get("HTTP_USER_AGENT", "-"))
            if "request_time_us" in extra:
                fields["request_time_us"] = int((time.perf_counter() - started) * 1e6)
            if "request_id" in extra:
                fields["request_id"] = (environ.get("HTTP_X_REQUEST_ID") or "-") if request_id \
                    else "-"
            if "forwarded_for" in extra:
                fields["forwarded_for"] = escape(environ.get("HTTP_X_FORWARDED_FOR", "-"))
            if "tls_version" in extra:
                fields["tls_version"] = _tls_version(conn)
            if "pid" in extra:
                fields["pid"] = self._pid
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


def _tls_version(conn: Any) -> str:
    if not conn.secure:
        return "-"
    try:
        return conn.sock.version() or "-"
    except (AttributeError, OSError, ValueError):
        return "-"
