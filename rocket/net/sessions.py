"""Connections whose protocol lives in the monitor for good: HTTP/2 sessions.

An HTTP/1 connection leaves the monitor whenever it has a request; an HTTP/2 connection
multiplexes streams, so its socket stays in the monitor's ``session`` phase until it closes.
The connection's reader is then the session object, which the monitor calls as
``conn.reader.on_ready(watch)`` when the socket fired (it reads and writes without waiting
and re-arms through :meth:`Sessions.rearm`) and ``conn.reader.on_deadline(watch)`` when the
deadline set with :meth:`Sessions.set_deadline` passed (the watch is no longer held then).
Every method may be called from any thread.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["Sessions", "SESSION"]

SESSION = "session"


class Sessions:
    """Mixin of :class:`~rocket.net.monitor.Monitor` (which provides ``_poller``, ``_add``,
    ``_rearm``, ``_reschedule``, ``_drop``, ``_forget`` and ``close_gently``)."""

    __slots__ = ()

    def hold(self: Any, conn: Any) -> Optional[Any]:
        """Hold ``conn`` in the session phase, armed for reading, without a deadline; its
        watch, or None when the monitor no longer takes connections (``conn`` is closed)."""
        return self._add(conn, SESSION, 0.0)

    def rearm(self: Any, watch: Any, write: bool = False) -> None:
        """Report the session's socket once more when readable (writable with ``write``);
        from any thread, and seen by a poll already waiting."""
        self._rearm(watch, write)

    def set_deadline(self: Any, watch: Any, deadline: float) -> None:
        """Call ``on_deadline`` at ``deadline`` (monotonic s); 0 = none."""
        self._reschedule(watch, SESSION, deadline)

    def drop(self: Any, watch: Any) -> None:
        """Stop holding the session's connection and close it (the peer is gone)."""
        self._drop(watch)

    def close_session(self: Any, watch: Any) -> None:
        """Stop holding the session's connection and close it gently (its last frames may
        still be in flight: FIN, then read and drop what the client still sends)."""
        with self._lock:
            self._forget(watch)
        self.close_gently(watch.conn)

    def _session_event(self: Any, watch: Any) -> None:
        watch.conn.reader.on_ready(watch)

    def _session_expired(self: Any, watch: Any) -> None:
        watch.conn.reader.on_deadline(watch)

    def _drain_sessions(self: Any, sessions: Any) -> None:
        """Graceful stop: each session says GOAWAY and closes once its streams are done."""
        for watch in sessions:
            watch.conn.reader.drain()
