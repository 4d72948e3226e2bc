"""One request/response exchange of the WSGI worker: ``start_response``, ``write`` and the
framing of the body.

The head is planned by the response writer (``plan_response``) when the first non-empty block
is ready, and memoised per worker while its Date is current. Body bytes are framed as the plan
says: exactly Content-Length (extra bytes are cut and logged, missing ones close the
connection), chunked, close-delimited, or none at all (HEAD, 1xx, 204, 304).
"""

from __future__ import annotations

from typing import Any, List, Optional, Union

from rocket.http.dates import http_date
from rocket.http.errors import InvalidResponse
from rocket.http.events import Request
from rocket.http.writer import encode_chunk, last_chunk, plan_response
from rocket.workers.base import error_logger
from rocket.workers.input import EMPTY_INPUT

__all__ = ["Exchange", "WSGIViolation", "DRAIN_MAX_BYTES"]

# An unread request body is read and discarded after the response so the connection can be
# reused; past this many bytes closing is cheaper than reading (waitress and gunicorn agree).
DRAIN_MAX_BYTES = 64 * 1024

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# Planned response heads kept per worker; apps use a handful of (status, headers) shapes, and
# the bound stops an app that puts per-request values in headers from growing it.
_PLAN_CACHE_MAX = 256
_warned_write = []  # non-empty once the write() deprecation warning has been logged


class WSGIViolation(Exception):
    """The application broke a PEP 3333 rule; the message names the rule."""


class Exchange:
    """One request/response: ``start_response`` and ``write`` for the application."""

    __slots__ = ("conn", "request", "input", "worker", "progress", "status", "headers", "head",
                 "body_sent", "continue_sent", "overflow_logged", "peer_gone")

    def __init__(self, worker: Any, conn: Any, request: Request, progress: Any) -> None:
        self.worker = worker
        self.progress = progress
        """The serving thread's :class:`~rocket.workers.progress.ThreadProgress`."""
        self.conn = conn
        self.request = request
        self.input: Any = EMPTY_INPUT
        self.status: Optional[str] = None
        self.headers: Any = None
        self.head: Any = None  # the ResponseHead once sent
        self.body_sent = 0
        self.continue_sent = False
        self.overflow_logged = False
        self.peer_gone = False

    def start_response(self, status: str, headers: list, exc_info: Any = None) -> Any:
        """PEP 3333 ``start_response``; returns the ``write`` callable."""
        if exc_info:
            try:
                if self.head is not None:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # break the frame <-> traceback cycle (PEP 3333)
        elif self.status is not None:
            raise AssertionError(
                "start_response() called a second time without exc_info (PEP 3333)"
            )
        if status.__class__ is not str:
            raise TypeError(f"status must be a str (PEP 3333), got {status!r}")
        if headers.__class__ is not list:
            raise TypeError(f"response_headers must be a list (PEP 3333), got {headers!r}")
        self.status = status
        self.headers = headers
        return self.app_write

    def app_write(self, data: bytes) -> None:
        """The ``write`` callable given to the application (deprecated by PEP 3333)."""
        if not _warned_write:
            _warned_write.append(True)
            error_logger().warning(
                "the application uses the write() callable of start_response(), deprecated "
                "by PEP 3333; return an iterable instead"
            )
        if self.status is None:
            raise WSGIViolation("write() called before start_response() (PEP 3333)")
        self.write(data)

    def send(self, data: Union[bytes, List[bytes]]) -> None:
        """``conn.sendall``, counted in the thread's ``bytes_moved`` and marked as waiting on
        the client while it lasts (so ``worker_timeout`` never judges a slow reader), remembering
        a failure as "the peer is gone". A list of buffers is written in order as they are
        (``conn.sendmany``, gathered) rather than joined into one copy first."""
        progress = self.progress
        progress.waiting = True
        try:
            if data.__class__ is list:
                self.conn.sendmany(data)
                size = sum(map(len, data))
            else:
                self.conn.sendall(data)
                size = len(data)
        except OSError:
            self.peer_gone = True
            raise
        finally:
            progress.waiting = False
        progress.bytes_moved += size

    def sendfile(self, filelike: Any, offset: int, count: int) -> int:
        """``conn.sendfile`` until ``count`` bytes are out or the file ends, counted and marked
        as :meth:`send`; returns the bytes sent."""
        progress = self.progress
        sent = 0
        progress.waiting = True
        try:
            while sent < count:
                done = self.conn.sendfile(filelike, offset + sent, count - sent)
                progress.bytes_moved += done
                sent += done
                if not done:
                    break
        except OSError:
            self.peer_gone = True
            raise
        finally:
            progress.waiting = False
        return sent

    def send_continue(self) -> None:
        """Send ``100 Continue`` before the first body read, unless the response has begun."""
        if self.head is None and not self.continue_sent:
            self.continue_sent = True
            self.send(_CONTINUE)

    def plan(self, body_length: Optional[int]) -> Any:
        """Plan the head; a single block that disagrees with the app's Content-Length is
        planned without its length, so the usual truncate/close rules apply."""
        if self.status is None:
            raise WSGIViolation("the application returned before calling start_response()")
        request = self.request
        keep_alive = request.keep_alive
        inp = self.input
        if inp is not EMPTY_INPUT and not inp.at_eof and keep_alive:
            # Unread body: reuse only if it can be drained cheaply and the client will send it.
            keep_alive = not (
                inp.error is not None
                or (request.expect_continue and not self.continue_sent)
                or (request.content_length or 0) > DRAIN_MAX_BYTES
            )
        # Apps answer most requests with the same status and headers: reuse the planned head
        # while its Date is current (plan_response is a pure function of these inputs). The
        # worker's last plan first: comparing with it costs less than hashing a key (the
        # app's header tuples are often the very same objects, compared by identity).
        worker = self.worker
        date = http_date()
        last = worker.last_plan
        method = request.method
        if (last is not None and last[0] is date and last[1] == self.status
                and last[2] == method and last[3] == request.http_version
                and last[4] is keep_alive and last[5] == body_length
                and last[6] == self.headers):
            return last[7]
        plans = worker.plans
        try:
            key = (self.status, tuple(self.headers), method, request.http_version,
                   keep_alive, body_length)
            entry = plans.get(key)
        except TypeError:  # unhashable header items: plan_response names the problem
            key = entry = None
        if entry is not None and entry[0] == date:
            head = entry[1]
        else:
            server = worker.server_header
            try:
                head = plan_response(method, request.http_version, keep_alive, self.status,
                                     self.headers, body_length, server)
            except InvalidResponse:
                if body_length is None:
                    raise
                return plan_response(method, request.http_version, keep_alive, self.status,
                                     self.headers, None, server)
            if key is None:
                return head
            if len(plans) >= _PLAN_CACHE_MAX:
                plans.clear()
            plans[key] = (date, head)
        worker.last_plan = (date, self.status, method, request.http_version, keep_alive,
                            body_length, list(self.headers), head)
        return head

    def write(self, data: bytes) -> bool:
        """Send one body block (the head first, if still pending); False once no more body
        can be sent (HEAD, 1xx, 204, 304, or Content-Length reached before this block), when
        the caller stops iterating the application's result."""
        if data.__class__ is not bytes:
            if not isinstance(data, bytes):
                raise WSGIViolation(
                    f"the application produced {type(data).__name__}, not bytes: body blocks "
                    "must be bytestrings (PEP 3333)"
                )
            data = bytes(data)
        head = self.head
        if head is None:
            if not data:
                return True  # PEP 3333: the head waits for the first non-empty block
            head = self.head = self.plan(None)
            prefix = head.data
        else:
            prefix = b""
        more = True
        framing = head.framing
        if framing == "length":
            room = head.content_length - self.body_sent
            # Past the last byte the iteration ends: an iterable that is done raises
            # StopIteration on the block after it, an endless one is stopped and closed.
            more = room > 0 and len(data) <= room
            if not more and data:
                if not self.overflow_logged:
                    self.overflow_logged = True
                    error_logger().warning(
                        "application sent more than its Content-Length %s; body truncated",
                        head.content_length,
                    )
                data = data[:room]
            self.body_sent += len(data)
        elif framing == "chunked":
            self.body_sent += len(data)
            data = encode_chunk(data)
        elif framing == "none":
            data = b""
            more = False
        else:
            self.body_sent += len(data)
        if prefix or data:
            self.send(prefix + data)
        return more

    def finish(self) -> bool:
        """Complete the response; True when the connection may be reused."""
        head = self.head
        if head is None:
            head = self.head = self.plan(0)
            self.send(head.data)
        framing = head.framing
        if framing == "chunked":
            self.send(last_chunk())
        elif framing == "length" and self.body_sent < head.content_length:
            error_logger().error(
                "application sent %d of its %d-byte Content-Length; closing the connection",
                self.body_sent, head.content_length,
            )
            return False
        return head.keep_alive
