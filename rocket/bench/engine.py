"""The load client of one process: many non-blocking connections on one selector.

How it works: every connection gets up to ``pipeline`` requests in flight. Each completed
response (``EndOfMessage`` from the client-side parser) records its latency, measured from the
moment the request was queued for sending, and puts the next request on the same connection.
A connection the server closes, resets or lets time out is replaced by a new one while the
run lasts. Every request issued ends in exactly one place, so that
``requests == responses + sum(errors.values())`` always holds:

- ``responses``: a complete response arrived (any status; ``status`` counts them by code);
- ``errors[kind]``: ``connect`` (the connection never came up), ``write`` / ``read`` (the
  socket failed), ``closed`` (the server closed with the request unanswered), ``incomplete``
  (closed in the middle of the response), ``parse`` (a malformed response), ``timeout`` (no
  answer within ``timeout_s``), ``unfinished`` (still in flight when the run ended).
"""

from __future__ import annotations

import errno
import selectors
import socket
import time
from collections import deque
from typing import Callable, Dict, List, Optional

from rocket.bench.loadspec import LoadSpec, raise_fd_limit
from rocket.bench.stats import LatencyHistogram
from rocket.http.client import ResponseParser
from rocket.http.errors import HTTPError, IncompleteResponse
from rocket.http.events import NEED_DATA, ConnectionClosed, Data, EndOfMessage, Response

RECV_BYTES = 262144  # one recv per wake-up takes a 1 MiB response in four calls
PROGRESS_EVERY_S = 1.0
_CHECK_EVERY_S = 0.1  # how often timeouts and the deadline are looked at
_CONNECTING = (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY, 0)
_AF_UNIX = getattr(socket, "AF_UNIX", None)

__all__ = ["LoadClient", "LoadSpec", "run_load"]


class _Conn:
    __slots__ = ("sock", "parser", "sent_at", "unsent", "out", "connected", "opened_at",
                 "will_close", "mask", "slot")

    def __init__(self, sock: socket.socket, parser: ResponseParser, now: float,
                 slot: int) -> None:
        self.slot = slot  # which of the N client connections this is (replacements keep it)
        self.sock = sock
        self.parser = parser
        self.sent_at: deque = deque()  # queue times of requests written, oldest first
        self.unsent = 0  # requests assigned while the connection is still coming up
        self.out = b""
        self.connected = False
        self.opened_at = now
        self.will_close = False
        self.mask = 0


class LoadClient:
    """Runs one ``LoadSpec`` on one selector; ``run()`` returns the result dict."""

    def __init__(self, spec: LoadSpec,
                 progress: Optional[Callable[[Dict[str, float]], None]] = None,
                 should_stop: Optional[Callable[[], bool]] = None) -> None:
        self.spec = spec
        self.progress = progress
        self.should_stop = should_stop
        self.request = spec.request_bytes()
        if spec.unix_path:
            self.family, self.address = _AF_UNIX, spec.unix_path
        else:
            self.family = socket.AF_INET6 if ":" in spec.host else socket.AF_INET
            self.address = (spec.host, spec.port)
        self.sel = selectors.DefaultSelector()
        self.hist = LatencyHistogram()
        self.errors: Dict[str, int] = {}
        self.status: Dict[int, int] = {}
        self.issued = 0
        self.responses = 0
        self.connects = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.budget = spec.requests if spec.requests is not None else -1  # -1: no count
        self.stopping = False
        self.conns: set = set()
        self.reopen: List[int] = []  # slots to open again at the end of this loop turn
        self.per_slot = [0] * spec.connections  # responses per client connection

    # -- bookkeeping -------------------------------------------------------------------
    def _error(self, kind: str, n: int) -> None:
        if n:
            self.errors[kind] = self.errors.get(kind, 0) + n

    def _take(self, n: int) -> int:
        """Reserve up to ``n`` requests from the budget; returns how many may be issued."""
        if self.stopping:
            return 0
        if self.budget >= 0:
            n = min(n, self.budget)
            self.budget -= n
        self.issued += n
        return n

    # -- connections -------------------------------------------------------------------
    def _open(self, now: float, slot: int) -> None:
        n = self._take(self.spec.pipeline)
        if not n:
            return
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        sock.setblocking(False)
        if self.family != _AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Conn(sock, ResponseParser(), now, slot)
        conn.unsent = n
        self.connects += 1
        self.conns.add(conn)
        if sock.connect_ex(self.address) not in _CONNECTING:
            self._fail(conn, "connect")
            return
        self._watch(conn, selectors.EVENT_WRITE)

    def _watch(self, conn: _Conn, mask: int) -> None:
        if mask == conn.mask:
            return
        if conn.mask:
            self.sel.modify(conn.sock, mask, conn)
        else:
            self.sel.register(conn.sock, mask, conn)
        conn.mask = mask

    def _close(self, conn: _Conn) -> None:
        if conn.mask:
            self.sel.unregister(conn.sock)
            conn.mask = 0
        conn.sock.close()
        self.conns.discard(conn)
        if not self.stopping:
            self.reopen.append(conn.slot)

    def _fail(self, conn: _Conn, kind: str) -> None:
        """Close ``conn``; every request it still carries ends as an error of ``kind``."""
        self._error(kind, len(conn.sent_at) + conn.unsent)
        conn.sent_at.clear()
        conn.unsent = 0
        self._close(conn)

    def _queue(self, conn: _Conn, n: int, now: float) -> None:
        expect = conn.parser.expect
        for _ in range(n):
            conn.sent_at.append(now)
            expect(self.spec.method)
        conn.out += self.request * n

    def _flush(self, conn: _Conn) -> None:
        try:
            sent = conn.sock.send(conn.out)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._fail(conn, "write")
            return
        self.bytes_out += sent
        conn.out = conn.out[sent:]
        mask = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.out else 0)
        self._watch(conn, mask)

    def _on_connect(self, conn: _Conn, now: float) -> None:
        err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self._fail(conn, "connect")
            return
        conn.connected = True
        n, conn.unsent = conn.unsent, 0
        self._queue(conn, n, now)
        self._flush(conn)

    # -- responses ---------------------------------------------------------------------
    def _on_read(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._fail(conn, "read")
            return
        now = time.perf_counter()
        self.bytes_in += len(data)
        parser = conn.parser
        parser.feed(data)
        more = 0
        try:
            while True:
                ev = parser.next_event()
                if ev is NEED_DATA:
                    break
                cls = type(ev)
                if cls is Data:
                    continue
                if cls is Response:
                    if ev.status < 200:
                        continue  # interim (1xx): the final response follows
                    self.status[ev.status] = self.status.get(ev.status, 0) + 1
                    if not ev.keep_alive:
                        conn.will_close = True
                elif cls is EndOfMessage:
                    if not conn.sent_at:
                        self._fail(conn, "parse")  # a response nobody asked for
                        return
                    self.hist.add(now - conn.sent_at.popleft())
                    self.responses += 1
                    self.per_slot[conn.slot] += 1
                    if conn.will_close:
                        # wait for the server's FIN (its side keeps the TIME_WAIT); requests
                        # still queued behind this answer end as "closed" at EOF
                        conn.opened_at = now
                        continue
                    if not self.spec.keep_alive:
                        self._fail(conn, "closed")  # the server ignored "Connection: close"
                        return
                    more += 1
                elif cls is ConnectionClosed:
                    self._fail(conn, "closed")
                    return
        except IncompleteResponse:
            self._fail(conn, "incomplete")
            return
        except HTTPError:
            self._fail(conn, "parse")
            return
        if not data:
            self._fail(conn, "closed")
            return
        n = self._take(more) if more else 0
        if n:
            self._queue(conn, n, now)
            self._flush(conn)
        elif not conn.sent_at and not conn.will_close:
            self._close(conn)  # the budget ran out: nothing more to do here

    # -- the loop ----------------------------------------------------------------------
    def _check_timeouts(self, now: float) -> None:
        limit = now - self.spec.timeout_s
        for conn in list(self.conns):
            if conn.connected:
                if conn.sent_at and conn.sent_at[0] < limit:
                    self._fail(conn, "timeout")
                elif conn.will_close and conn.opened_at < limit:
                    self._fail(conn, "timeout")  # announced close, never closed
            elif conn.opened_at < limit:
                self._fail(conn, "connect")

    def _stop_issuing(self, now: float) -> None:
        """The run is over: no new requests; requests never sent are not counted."""
        self.stopping = True
        self.reopen = []
        for conn in [c for c in self.conns if not c.sent_at or not c.connected]:
            self.issued -= conn.unsent
            conn.unsent = 0
            self._close(conn)

    def _abandon(self) -> None:
        """Close every connection; requests still in flight end as ``unfinished``."""
        for conn in list(self.conns):
            self._fail(conn, "unfinished")

    def run(self) -> dict:
        """Run until the duration or the request count is reached, ``should_stop()`` turns
        true or Ctrl-C (then ``interrupted`` is true); return the counters and latencies."""
        spec = self.spec
        raise_fd_limit(spec.connections + 64)  # 64: stdio, imports, the selector itself
        cpu0 = time.process_time()
        start = time.perf_counter()
        interrupted = False
        try:
            self._loop(start)
        except KeyboardInterrupt:
            interrupted = True
            self._stop_issuing(time.perf_counter())
            self._abandon()
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu0
        self.sel.close()
        return {
            "requests": self.issued, "responses": self.responses, "errors": dict(self.errors),
            "status": {str(k): v for k, v in sorted(self.status.items())},
            "connects": self.connects, "bytes_in": self.bytes_in, "bytes_out": self.bytes_out,
            "wall_s": wall, "cpu_s": cpu, "latency": self.hist.to_dict(),
            "interrupted": interrupted, "per_connection": self.per_slot,
        }

    def _loop(self, start: float) -> None:
        spec = self.spec
        deadline = start + spec.duration_s if spec.duration_s is not None else None
        drain_until = None
        for slot in range(spec.connections):
            self._open(start, slot)
        next_check = start + _CHECK_EVERY_S
        next_progress = start + PROGRESS_EVERY_S
        while self.conns or self.reopen:
            for key, mask in self.sel.select(_CHECK_EVERY_S):
                conn = key.data
                if conn not in self.conns:
                    continue
                if not conn.connected:
                    self._on_connect(conn, time.perf_counter())
                    continue
                if mask & selectors.EVENT_WRITE and conn.out:
                    self._flush(conn)
                    if conn not in self.conns:
                        continue
                if mask & selectors.EVENT_READ:
                    self._on_read(conn)
            now = time.perf_counter()
            reopen, self.reopen = self.reopen, []
            for slot in reopen:
                self._open(now, slot)
            if now < next_check:
                continue
            next_check = now + _CHECK_EVERY_S
            self._check_timeouts(now)
            if not self.stopping and (
                    (deadline is not None and now >= deadline)
                    or (self.should_stop is not None and self.should_stop())):
                self._stop_issuing(now)
                drain_until = now + min(spec.drain_s, spec.timeout_s)
            if drain_until is not None and now >= drain_until:
                self._abandon()
            if self.progress is not None and now >= next_progress:
                next_progress += PROGRESS_EVERY_S
                self.progress(self.snapshot(now - start))

    def snapshot(self, elapsed: float) -> Dict[str, float]:
        """Counters so far, for the live progress line."""
        return {"elapsed_s": elapsed, "responses": self.responses,
                "errors": sum(self.errors.values()), "requests": self.issued}


def run_load(spec: LoadSpec,
             progress: Optional[Callable[[Dict[str, float]], None]] = None,
             should_stop: Optional[Callable[[], bool]] = None) -> dict:
    """Run ``spec`` in this process and return the result dict (see ``LoadClient.run``)."""
    return LoadClient(spec, progress, should_stop).run()
