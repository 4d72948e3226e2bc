"""What the monitor does in each phase of a connection (see :mod:`rocket.net.monitor`).

Every step returns at once: reads, handshake steps and sends never wait (the
:class:`~rocket.net.nowait.NoWaitIO` side of the connection), so one thread serves them all.

- ``idle`` and ``head``: read what arrived. At EOF an idle connection, or a new one that sent
  nothing, is closed; part of a head goes to the worker, which answers it. Bytes that make a
  whole head (``ready(conn)``) go to the pool; the first bytes of an idle connection start its
  head deadline (``header_timeout`` from now). At the deadline: with part of a head buffered,
  the timeout answer (408) and a lingering close; with nothing, a plain close.
- ``handshake``: one step of the TLS handshake per event, re-armed for reading or writing as
  it asks. Done, the connection waits for its head, whose deadline starts now. Plain HTTP on
  the TLS port gets the ``plain_http`` answer and a lingering close; other failures and the
  deadline close it.
- ``proxy``: the PROXY protocol header of a new connection (:mod:`rocket.net.proxied`),
  before anything else; once it is read, the connection goes on as a new one would: to its
  TLS handshake, to the pool (a server that speaks first) or to its head, whose deadline is
  the same ``header_timeout`` after accept. A refused header and the deadline close it.
- ``session``: the connection's session reads, writes and re-arms (:mod:`rocket.net.sessions`).
- ``drain``: read and drop up to ``DRAIN_READS_PER_EVENT`` reads per event; EOF, an error,
  ``drain_gap`` of silence or the end of ``drain_time`` close it.
"""

from __future__ import annotations

from typing import Any

from rocket.logs import monitor_log as log
from rocket.net.proxied import ProxyRefused
from rocket.net.sessions import SESSION

__all__ = ["Phases", "IDLE", "HEAD", "HANDSHAKE", "PROXY", "DRAIN", "DRAIN_READS_PER_EVENT"]

IDLE = "idle"
HEAD = "head"
HANDSHAKE = "handshake"
PROXY = "proxy"
DRAIN = "drain"

DRAIN_READS_PER_EVENT = 16
"""Reads (64 KiB each) per readiness event of a draining connection: 1 MiB, then the others
get their turn."""


class Phases:
    """The phase handlers, a mixin of :class:`~rocket.net.monitor.Monitor` (which provides
    the bookkeeping: ``_rearm``, ``_reschedule``, ``_hand_on``, ``_drop``)."""

    __slots__ = ()

    def _on_event(self: Any, watch: Any) -> None:
        phase = watch.phase
        if phase is IDLE or phase is HEAD:  # nearly every event: first
            self._read_head(watch)
        elif phase is DRAIN:
            self._drain(watch)
        elif phase is HANDSHAKE:
            self._step_handshake(watch)
        elif phase is PROXY:
            self._read_proxy(watch)
        elif phase is SESSION:
            self._session_event(watch)
        else:
            self._read_head(watch)

    def _on_expire(self: Any, watch: Any) -> None:
        phase = watch.phase
        conn = watch.conn
        if phase is SESSION:
            self._session_expired(watch)
            return
        if phase is IDLE:
            self.closed_idle += 1
            self._drop(watch)
            return
        self.timed_out += 1
        if phase is HEAD and conn.reader.trailing_data:
            answer = self.answer(conn, "timeout") if self.answer is not None else None
            if answer is not None:
                conn.send_nowait(answer)
                self.close_gently(conn)
                return
        elif phase is HANDSHAKE:
            log.debug("TLS handshake with %s not done within tls_handshake_timeout=%gs",
                      conn.client_addr[0], self.handshake_timeout)
        elif phase is PROXY:
            self.proxy_gate.expired(conn, self.header_timeout)
        self._drop(watch)

    def _read_head(self: Any, watch: Any) -> None:
        conn = watch.conn
        try:
            got = conn.read_nowait()
        except OSError:  # reset by the peer
            self._drop(watch)
            return
        if got is None:
            self._rearm(watch)
        elif not got:
            if conn.reader.trailing_data:
                self._hand_on(watch)  # a head cut short: the worker answers it
            else:
                self._drop(watch)
        else:
            if watch.phase is IDLE:  # the first bytes of the next request
                conn.head_since = now = self.clock()
                if self.ready(conn):  # whole at once: no head deadline to queue
                    self._hand_on(watch)
                    return
                self._reschedule(watch, HEAD, now + self.header_timeout
                                 if self.header_timeout else 0.0)
            if self.ready(conn):
                self._hand_on(watch)
            else:
                self._rearm(watch)

    def _step_handshake(self: Any, watch: Any) -> None:
        conn = watch.conn
        try:
            wants = conn.handshake_nowait()
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            if getattr(exc, "reason", None) == "HTTP_REQUEST" and self.answer is not None:
                answer = self.answer(conn, "plain_http")
                if answer is not None:
                    with self._lock:
                        self._forget(watch)
                    conn.send_nowait(answer)
                    self.close_gently(conn)
                    return
            log.debug("TLS handshake with %s failed: %s", conn.client_addr[0], exc)
            self._drop(watch)
            return
        if wants is not None:
            self._rearm(watch, wants == "write")
            return
        if not self.clients_speak_first:
            self._hand_on(watch)
            return
        conn.head_since = now = self.clock()
        self._reschedule(watch, HEAD, now + self.header_timeout if self.header_timeout else 0.0)
        self._read_head(watch)  # the request may have come with the handshake's last flight

    def _read_proxy(self: Any, watch: Any) -> None:
        conn = watch.conn
        try:
            if not self.proxy_gate.step(conn):
                self._rearm(watch)
                return
        except ProxyRefused:
            self._drop(watch)
            return
        if conn.secure:
            timeout = self.handshake_timeout
            self._reschedule(watch, HANDSHAKE, self.clock() + timeout if timeout else 0.0)
            self._step_handshake(watch)  # the ClientHello may have come with the header
        elif not self.clients_speak_first:
            self._hand_on(watch)
        else:
            self._reschedule(watch, HEAD, watch.deadline)
            self._read_head(watch)

    def _drain(self: Any, watch: Any) -> None:
        conn = watch.conn
        for _ in range(DRAIN_READS_PER_EVENT):
            try:
                dropped = conn.discard_nowait()
            except OSError:
                dropped = 0
            if dropped == 0:
                self._drop(watch)
                return
            if dropped is None:
                break
        if self.drain_gap:
            self._reschedule(watch, DRAIN, min(watch.until, self.clock() + self.drain_gap))
        self._rearm(watch)
