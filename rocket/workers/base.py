"""The Worker base class and the HTTP request loop every HTTP method shares.

How it works
------------
The pool calls ``worker.handle(conn)`` on one of its threads whenever a connection has work
(freshly accepted, or handed back by the monitor because it became readable). ``handle`` then
keeps the connection for as long as it is busy:

1. ask the connection's reader (its request parser) for the next event;
2. ``Request``: hand it to :meth:`HTTPWorker.handle_request` (the method's own code), which
   answers it and says whether the connection may be reused;
3. ``NEED_DATA`` with nothing buffered (idle between requests): wait a short ``linger`` for
   the next request on this same thread — busy keep-alive clients never pay a queue hand-off —
   and if nothing comes, return True so the caller parks the connection in the monitor;
4. ``NEED_DATA`` with part of a head buffered: wait for the rest until ``linger`` after the
   head began, then return True with ``conn.head_since`` set: the monitor waits for the rest
   (and answers 408 at ``header_timeout``), so a slow client never holds a thread;
5. a parser ``HTTPError``: answer with its status (text/plain, ``Connection: close``) and
   close gently (``context.close_gently``: the monitor drains what the client still sends, so
   the answer is read and not destroyed by a reset). A connection closed with part of a
   request unread after the application's answer is closed gently too.

The monitor asks :meth:`Worker.request_ready` whether the bytes it read make a request worth
a thread, and :meth:`Worker.timeout_answer` what to send when the rest never came.

Only :class:`~rocket.net.connection.Connection` touches the socket; an ``OSError`` from it means
the peer is gone, and the worker closes the connection quietly.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any, Callable, Optional

from rocket.http.errorpage import error_response
from rocket.http.errors import HTTP2Preface, HTTPError, RequestTimeout
from rocket.http.events import NEED_DATA, ConnectionClosed, Request
from rocket.http.limits import DEFAULT_LIMITS, Limits
from rocket.workers.progress import ProgressTracker

__all__ = ["Worker", "HTTPWorker", "WorkerContext", "TIMEOUT_ERRORS", "error_logger", "setting",
           "head_ready"]

# socket.timeout is TimeoutError only from 3.10 on; catch both on 3.9 (and PyPy).
TIMEOUT_ERRORS = (socket.timeout, TimeoutError)

# Rocket's SOCKET_TIMEOUT: how long a client may take to send a request head or body.
DEFAULT_IO_TIMEOUT_S = 10.0
# How long an idle keep-alive connection keeps its thread before being parked in the monitor.
# A closed-loop client sends its next request within a round trip (well under 1 ms on a LAN);
# 50 ms covers a loaded client core while still freeing the thread quickly for others.
DEFAULT_LINGER_S = 0.05


def setting(config: Any, name: str, default: Any) -> Any:
    """``config.<name>`` when the settings object has it and it is not None, else ``default``."""
    value = getattr(config, name, None)
    return default if value is None else value


def error_logger() -> logging.Logger:
    """Rocket's per-thread error channel, ``Rocket.Errors.<thread name>``."""
    return logging.getLogger("Rocket.Errors." + threading.current_thread().name)


def _never() -> bool:
    return False


def _close(conn: Any) -> None:
    conn.close()


def _refuse(conn: Any) -> bool:
    return False


def head_ready(buf: bytes, limits: Limits) -> bool:
    """True when the parser can act on ``buf``, the start of a request: a whole head, a bare
    LF (refused at once, RFC 9112 §2.2) or more bytes than the head limits allow (414, 431)."""
    # find(), not "in": bytes.__contains__ first tries its argument as an int (a TypeError).
    if buf.find(b"\r\n\r\n") >= 0 or buf.count(b"\n") != buf.count(b"\r\n"):
        return True
    line_end = buf.find(b"\r\n")
    if line_end < 0:
        return len(buf) > limits.max_request_line
    return line_end > limits.max_request_line or len(buf) > line_end + 2 + limits.max_header_bytes


class WorkerContext:
    """What a worker may use of its server; the server builds one when it starts.

    ``settings`` is the settings object (``rocket.config.settings.Config``, or any object with
    setting attributes; None gives every default), read with :meth:`setting`. ``limits`` are
    the HTTP parser's. ``has_waiting()`` is True when connections wait for a thread (an idle
    connection is then parked at once rather than lingered on) and ``is_draining()`` while a
    graceful stop finishes in-flight requests (responses then announce the close); the
    workers call both per request, so they must be cheap. ``hooks`` are the server's
    ``rocket.server.hooks.Hooks``, or None when no hook is set. ``close_gently(conn)`` closes
    a connection whose client may still be sending, once the answer is sent (the monitor's
    lingering close; by default a plain close). ``is_shedding()`` is True from the start of a
    graceful stop (``drain_grace`` included): the health path then answers 503.
    ``take_http2(conn)`` is offered a connection whose client sent the HTTP/2 preface; True
    when it took it over (HTTP/2 on), False to answer 505 as an HTTP/1-only server does.
    """

    __slots__ = ("settings", "limits", "server_name", "software", "hooks", "has_waiting",
                 "is_draining", "close_gently", "is_shedding", "take_http2")

    def __init__(self, settings: Any = None, limits: Optional[Limits] = None,
                 server_name: Optional[str] = None, software: Optional[str] = None,
                 hooks: Any = None, has_waiting: Callable[[], bool] = _never,
                 is_draining: Callable[[], bool] = _never,
                 close_gently: Callable[[Any], None] = _close,
                 is_shedding: Callable[[], bool] = _never,
                 take_http2: Callable[[Any], bool] = _refuse) -> None:
        self.settings = settings
        self.limits = limits if limits is not None else DEFAULT_LIMITS
        self.server_name = str(server_name or "localhost")
        self.software = software or "Rocket"
        self.hooks = hooks
        self.has_waiting = has_waiting
        self.is_draining = is_draining
        self.close_gently = close_gently
        self.is_shedding = is_shedding
        self.take_http2 = take_http2

    def setting(self, name: str, default: Any) -> Any:
        """The setting ``name``, or ``default`` when it is missing or None."""
        return setting(self.settings, name, default)

    def __repr__(self) -> str:
        return f"<WorkerContext {self.server_name} {self.software!r} hooks={self.hooks!r}>"


class Worker:
    """Base class of every method (``'wsgi'``, ``'fs'``, or your own via ``register_method``).

    One instance serves the whole server and is shared by the pool threads, so per-request
    state lives in locals, never on ``self``. Subclasses implement :meth:`handle`.

    A worker sees its server only through ``context`` (a :class:`WorkerContext`; None gives
    one with every default). Settings of the connection loops: ``header_timeout`` (seconds
    for the rest of a started request head or message, default Rocket's ``SOCKET_TIMEOUT``)
    and ``linger`` (seconds an idle connection keeps its thread before being parked).
    """

    def __init__(self, app_info: Optional[dict], context: Optional[WorkerContext] = None) -> None:
        self.app_info = app_info if app_info is not None else {}
        if context is None:
            context = WorkerContext()
        self.context = context
        self.header_timeout_s = float(context.setting("header_timeout", DEFAULT_IO_TIMEOUT_S))
        self.linger_s = float(context.setting("linger", DEFAULT_LINGER_S))
        hooks = context.hooks
        self.hooks = hooks if hooks is not None and hooks.has_request_hooks() else None
        """The hooks to fire around each request, or None (also when only connection hooks
        are set): the request loop then pays one ``is None`` test per request."""
        self.requests = 0
        """Requests (or messages) started on this worker (read by server.info() and the arbiter)."""
        self.progress = ProgressTracker()
        """Per thread: the request in flight and whether it moves (the evidence behind
        ``worker_timeout``; see :mod:`rocket.workers.progress`)."""

    def handle(self, conn: Any) -> bool:
        """Serve ``conn`` while it has work; True = keep it (park it), False = it was closed.

        With ``workers``, ``worker_timeout`` watches only the requests a worker marks: add 1
        to ``self.progress.mine().serial`` as each one starts and again as it ends (see
        :mod:`rocket.workers.progress`); the request loops of this package do."""
        raise NotImplementedError(f"{type(self).__name__} must implement handle(conn)")

    def close(self) -> None:
        """Release what the worker holds (executors, files); the server calls it on stop."""

    client_speaks_first = False
    """True when clients always send first (listeners then use TCP_DEFER_ACCEPT); a
    protocol may have the server speak first, so the base class says no."""

    def request_ready(self, conn: Any) -> bool:
        """True when the bytes buffered on ``conn`` make a request (or message) worth a
        thread, or bytes to refuse; the monitor asks before handing it on. Base: any bytes."""
        return True

    def timeout_answer(self, conn: Any) -> Optional[bytes]:
        """What to send when part of a request came but not the rest within
        ``header_timeout`` (the monitor then closes gently); None: just close."""
        return None

    def wait_partial(self, conn: Any, since: float) -> float:
        """Part of a request is buffered: wait for more until ``linger`` after ``since`` (0.0:
        it began now). Returns the start, or 0.0 once the linger is over: ``conn.head_since``
        is then set and the caller returns True, handing the rest of the wait to the monitor."""
        now = time.monotonic()
        if not since:
            since = now
        left = since + self.linger_s - now
        if left <= 0:
            conn.head_since = since
            return 0.0
        try:
            conn.fill(left)
        except TIMEOUT_ERRORS:
            pass
        return since


class HTTPWorker(Worker):
    """A worker speaking HTTP/1.x: runs the request loop and answers protocol errors.

    Subclasses implement :meth:`handle_request`; the loop fires the ``pre_request`` and
    ``post_request`` hooks around it when they are set. Settings, besides the base class's:
    ``body_timeout`` (seconds, default ``header_timeout``).
    """

    client_speaks_first = True
    """HTTP clients send first, so listeners may defer accept() until bytes arrive."""

    def __init__(self, app_info: Optional[dict], context: Optional[WorkerContext] = None) -> None:
        super().__init__(app_info, context)
        self.body_timeout_s = float(self.context.setting("body_timeout", self.header_timeout_s))
        self.server_header = self.context.software.encode("latin-1")

    def handle_request(self, conn: Any, request: Request) -> bool:
        """Answer one request; return True when the connection may serve another one.

        Returning True promises that the request was consumed through its ``EndOfMessage``
        (the body read or drained), so the parser is ready for the next request.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement handle_request()")

    def handle(self, conn: Any) -> bool:
        """Run the request loop on ``conn`` (see the module docstring)."""
        parser = conn.reader
        next_event = parser.next_event
        context = self.context
        is_draining = context.is_draining
        has_waiting = context.has_waiting
        hooks = self.hooks
        head_since = conn.head_since  # when a partially received head began; 0 = none
        progress = self.progress.mine()
        try:
            while True:
                try:
                    event = next_event()
                except HTTPError as exc:
                    if exc.__class__ is HTTP2Preface and context.take_http2(conn):
                        return False  # an HTTP/2 session holds it now
                    self.send_error(conn, exc)
                    context.close_gently(conn)
                    return False
                if event.__class__ is Request:
                    head_since = 0.0
                    self.requests += 1  # approximate under threads; for stats and max_requests
                    if is_draining():  # graceful stop: this response announces the close
                        event.keep_alive = False
                    progress.serial += 1  # odd: in flight
                    kept = (self.handle_request(conn, event) if hooks is None
                            else self._hooked_request(conn, event))
                    progress.serial += 1
                    if not kept:
                        if parser.idle and not parser.trailing_data:
                            conn.close()
                        else:  # the client may still be sending this request or the next
                            context.close_gently(conn)
                        return False
                    if parser.trailing_data:
                        continue  # a pipelined request is buffered
                    # Nothing buffered and the request consumed (handle_request's promise):
                    # the parser can only say NEED_DATA, so go straight to the linger below.
                elif event is NEED_DATA:
                    if parser.trailing_data:  # part of a head: linger for the rest, then park
                        head_since = self.wait_partial(conn, head_since)
                        if not head_since:
                            return True
                        continue
                elif event.__class__ is ConnectionClosed:
                    conn.close()
                    return False
                else:
                    continue  # Data / EndOfMessage of a request already answered
                # Idle between requests: linger briefly, then park. Inline, not a helper
                # shared with ProtocolWorker: this runs once per request.
                if has_waiting():  # fairness: others need a thread, so park at once
                    return True
                try:
                    conn.fill(self.linger_s)
                except TIMEOUT_ERRORS:
                    return True
        except OSError:
            # The peer is gone (reset, broken pipe): nothing to answer.
            conn.close()
            return False
        finally:
            progress.settle()

    def serve_request(self, conn: Any, request: Request) -> bool:
        """Answer one request of a multiplexed connection (an HTTP/2 stream), counted and
        with the request hooks and watched for ``worker_timeout``, as the request loop does."""
        self.requests += 1
        progress = self.progress.mine()
        progress.serial += 1  # odd: in flight
        try:
            if self.hooks is None:
                return bool(self.handle_request(conn, request))
            return self._hooked_request(conn, request)
        finally:
            progress.settle()

    def _hooked_request(self, conn: Any, request: Request) -> bool:
        """:meth:`handle_request` between ``pre_request`` and ``post_request`` (which fires
        even when the request fails)."""
        hooks = self.hooks
        hooks.before(conn, request)
        try:
            return bool(self.handle_request(conn, request))
        finally:
            hooks.after(conn, request, None)

    def request_ready(self, conn: Any) -> bool:
        """A whole request head is buffered, or bytes the parser refuses (:func:`head_ready`)."""
        buf = conn.reader.trailing_data
        # Nearly always the bytes end with the head's CRLF CRLF: that needs no scan (a find
        # over a 670-byte browser head costs 0.4-0.5 us on CPython and PyPy alike).
        return buf.endswith(b"\r\n\r\n") or head_ready(buf, self.context.limits)

    def timeout_answer(self, conn: Any) -> Optional[bytes]:
        """The 408 for a head that did not arrive whole within ``header_timeout``."""
        return self.error_bytes(RequestTimeout(
            f"request head not received within header_timeout={self.header_timeout_s:g} s"))

    def error_bytes(self, exc: HTTPError) -> bytes:
        """The response for ``exc``: its status, a text/plain message, ``Connection: close``."""
        body = (exc.message + "\n").encode("utf-8", "replace")
        return error_response(exc.status, exc.reason, body, server=self.server_header)

    def send_error(self, conn: Any, exc: HTTPError) -> None:
        """Answer ``exc`` with its status and a text/plain message, announcing the close."""
        try:
            conn.sendall(self.error_bytes(exc))
        except OSError:
            pass  # the peer is gone; the connection is closed by the caller
