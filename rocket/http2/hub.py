"""The server's HTTP/2 entry point: turns preface connections into sessions, counts streams."""

from __future__ import annotations

import threading
import weakref
from typing import Any, Callable

from rocket.http2 import PREFACE_LINE
from rocket.http2.session import H2Session
from rocket.http2.streaming import H2Options, JobCount

__all__ = ["HTTP2"]


class HTTP2:
    """Starts a session per HTTP/2 connection. ``serve(stream, request)`` answers one
    stream's request (the worker's ``serve_request``)."""

    def __init__(self, config: Any, serve: Callable[[Any, Any], Any]) -> None:
        self.options = H2Options(config)
        self.serve = serve
        self.jobs = JobCount()
        """Stream jobs on pool threads or queued: pool items that are no connection."""
        self.sessions: Any = weakref.WeakSet()
        self._lock = threading.Lock()  # a WeakSet may not change while it is iterated

    def take(self, conn: Any, monitor: Any, submit: Callable[[Any], None]) -> bool:
        """Run ``conn`` (its parser stopped after the preface line) as an HTTP/2 session held
        by ``monitor``, its streams submitted to the pool with ``submit``."""
        received = PREFACE_LINE + conn.reader.trailing_data
        session = H2Session(conn, monitor, submit, self.jobs, self.serve, self.options)
        with self._lock:
            self.sessions.add(session)
        session.start(received)
        return True

    def open_streams(self) -> int:
        """Streams open over every session (a snapshot)."""
        with self._lock:
            sessions = list(self.sessions)
        return sum(len(session.streams) for session in sessions)
