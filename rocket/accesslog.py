"""The access log: its atoms and formats, and a buffered writer for the command line.

Why not a ``logging`` handler: a ``Logger.info`` call builds a ``LogRecord`` (time, thread,
process, caller frame) and a ``FileHandler`` then flushes one ``write`` per line. Measured
here, that is 7-8 us per request on CPython 3.11, about half of what serving a hello-world
request costs, so the access log alone halved throughput. The line is already formatted by
the worker; this writer only queues it, and a background thread writes what has queued once
a second (at once to a terminal, so interactive use shows each line as it happens).

Bounded: past ``max_pending`` queued lines the writing thread flushes itself, so a slow disk
slows the server down instead of growing memory. ``flush()`` runs at stop and at exit. The
``Rocket(...)`` API and ``--log-config`` keep the ``Rocket.Requests`` logging channel.

Every value the worker takes from the request (request line, Referer, User-Agent) goes through
:func:`escape` first, so that a client cannot end a quoted field or write a line of its own.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections import deque
from json.encoder import encode_basestring_ascii
from typing import IO, Any, Optional

__all__ = ["AccessLogWriter", "active", "escape", "install", "uninstall", "flush", "ATOMS",
           "CONSTANT_ATOMS", "FIELDS", "JSON", "access_log_format", "json_escape"]

# Apache's ap_escape_logitem: the five C escapes, then \xNN (lower-case hex) for every other
# byte outside printable ASCII, and a backslash before " and \.
_ESCAPES = {0x08: "\\b", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x0B: "\\v",
            0x22: '\\"', 0x5C: "\\\\"}
_ESCAPE_TABLE = {
    code: _ESCAPES.get(code, f"\\x{code:02x}")
    for code in range(256)
    if code < 0x20 or code >= 0x7F or code in _ESCAPES
}


def escape(value: str) -> str:
    """``value`` (request bytes decoded as latin-1) made safe inside a quoted log field.

    The way Apache writes its access log: ``"`` becomes ``\\"``, ``\\`` becomes ``\\\\``,
    and every byte outside printable ASCII becomes ``\\xNN`` (``\\t``, ``\\n`` and the other
    C escapes for those). Most values need none of it; the check for that is a few C loops.
    """
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return value
    return value.translate(_ESCAPE_TABLE)


ATOMS = {
    "h": "client_ip",
    "r": "request_line",
    "s": "status",
    "b": "size",
    "f": "referer",
    "a": "user_agent",
    "D": "request_time_us",
    "p": "pid",
}
"""gunicorn/Apache-style short atoms and the access-log field each one stands for."""

CONSTANT_ATOMS = {"l": "-", "u": "-", "t": "[%(time)s]"}
"""Atoms written out: identd name and user (Rocket never knows them: ``-``, as Apache) and
the bracketed time (``[22/Nov/2026:00:36:04 +0000]``, as Apache and gunicorn print it)."""

FIELDS = ("client_ip", "time", "request_line", "status", "size", "referer", "user_agent",
          "request_time_us", "request_id", "forwarded_for", "tls_version", "pid")
"""Every field an access-log format may use (long names, or the short atoms above), in the
order of a JSON line. ``request_time_us``: microseconds from the request head to the end of the
response; ``request_id``: the ``request_id`` setting's id (``-`` when off); ``forwarded_for``:
the raw ``X-Forwarded-For``; ``tls_version``: ``TLSv1.3`` (``-`` on plain connections)."""

JSON = "json"
"""The ``access_log_format`` value that writes one JSON object per line, keyed by FIELDS."""

def access_log_format(value: Any) -> str:
    """json, or a %-format using atoms h l u t r s b f a D p or field names such as %(client_ip)s.

    The long names are those of :data:`FIELDS` (``%(request_id)s``, ``%(tls_version)s``...).
    """
    fmt = str(value)
    if fmt.strip().lower() == JSON:
        return JSON
    for atom, text in CONSTANT_ATOMS.items():
        fmt = fmt.replace(f"%({atom})s", text)
    for atom, field in ATOMS.items():
        fmt = fmt.replace(f"%({atom})", f"%({field})")
    sample = {name: "-" for name in FIELDS}
    try:
        fmt % sample
    except KeyError as exc:
        raise ValueError(f"unknown atom {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad format: {exc}") from None
    return fmt


json_escape = encode_basestring_ascii
"""A str as a JSON string literal, quotes included, every character outside printable ASCII
escaped: any byte a client sent (decoded as latin-1) stays readable and valid JSON."""


class AccessLogWriter:
    """Queues formatted access-log lines and writes them to ``stream`` in batches."""

    def __init__(self, stream: IO[str], interval_s: float = 1.0, max_pending: int = 10000,
                 close_stream: bool = False) -> None:
        self.stream = stream
        self.interval_s = interval_s
        self.max_pending = max_pending
        self.close_stream = close_stream
        try:
            self.immediate = stream.isatty()
        except (AttributeError, ValueError):
            self.immediate = False
        self._pending: deque = deque()
        self._lock = threading.Lock()  # one writer to the stream at a time
        self._wake = threading.Event()
        self._closed = False
        self._thread: Optional[threading.Thread] = None
        if not self.immediate:
            self._start_thread()
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=self._after_fork)

    def write(self, line: str) -> None:
        """Queue one line (without its newline); the hot path: an append, nothing else."""
        pending = self._pending
        pending.append(line)
        if self.immediate or len(pending) > self.max_pending:
            self.flush()

    def flush(self) -> None:
        """Write every queued line now."""
        pending = self._pending
        with self._lock:
            n = len(pending)
            if not n:
                return
            lines = [pending.popleft() for _ in range(n)]
            lines.append("")
            try:
                self.stream.write("\n".join(lines))
                self.stream.flush()
            except (OSError, ValueError):
                pass  # a closed or failing log must never take a request down with it

    def close(self) -> None:
        """Flush and stop the background thread (and close the stream when it was opened here)."""
        self._closed = True
        self._wake.set()
        self.flush()
        if self.close_stream:
            try:
                self.stream.close()
            except OSError:
                pass

    def _start_thread(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rocket-access-log", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval_s)
            self.flush()

    def _after_fork(self) -> None:
        # The parent's queued lines are the parent's to write; the thread did not survive.
        self._pending.clear()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        if not self._closed:
            self._start_thread()


active: Optional[AccessLogWriter] = None
"""The installed writer (read by the worker per request), or None: log on ``Rocket.Requests``."""


def install(writer: AccessLogWriter) -> None:
    """Send access-log lines to ``writer`` instead of the ``Rocket.Requests`` logger."""
    global active
    if active is not None:
        active.close()
    active = writer


def uninstall() -> None:
    """Close the installed writer and go back to the logger."""
    global active
    writer, active = active, None
    if writer is not None:
        writer.close()


def flush() -> None:
    """Write what the installed writer holds (the server calls this when it stops)."""
    if active is not None:
        active.flush()


atexit.register(flush)
