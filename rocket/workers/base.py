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
4. ``NEED_DATA`` with part of a head buffered: wait up to ``header_timeout`` in total for the
   rest, then answer 408;
5. a parser ``HTTPError``: answer with its status (text/plain, ``Connection: close``), close.

Only :class:`~rocket.net.connection.Connection` touches the socket; an ``OSError`` from it means
the peer is gone, and the worker closes the connection quietly.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any, Callable, Optional

from rocket.http.errors import HTTPError, RequestTimeout
from rocket.http.events import NEED_DATA, ConnectionClosed, Request
from rocket.http.limits import DEFAULT_LIMITS, Limits
from rocket.http.writer import error_response

__all__ = ["Worker", "HTTPWorker", "WorkerContext", "TIMEOUT_ERRORS", "error_logger", "setting"]

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


class WorkerContext:
    """What a worker may use of its server; the server builds one when it starts.

    ``settings`` is the settings object (``rocket.config.settings.Config``, or any object with
    setting attributes; None gives every default), read with :meth:`setting`. ``limits`` are
    the HTTP parser's. ``has_waiting()`` is True when connections wait for a thread (an idle
    connection is then parked at once rather than lingered on) and ``is_draining()`` while a
    graceful stop finishes in-flight requests (responses then announce the close); the
    workers call both per request, so they must be cheap. ``is_shedding()`` is True from the
    start of a graceful stop (``drain_grace`` included): the health path then answers 503.
    ``hooks`` are the server's ``rocket.server.hooks.Hooks``, or None when no hook is set.
    """

    __slots__ = ("settings", "limits", "server_name", "software", "hooks", "has_waiting",
                 "is_draining", "is_shedding")

    def __init__(self, settings: Any = None, limits: Optional[Limits] = None,
                 server_name: Optional[str] = None, software: Optional[str] = None,
                 hooks: Any = None, has_waiting: Callable[[], bool] = _never,
                 is_draining: Callable[[], bool] = _never,
                 is_shedding: Callable[[], bool] = _never) -> None:
        self.settings = settings
        self.limits = limits if limits is not None else DEFAULT_LIMITS
        self.server_name = str(server_name or "localhost")
        self.software = software or "Rocket"
        self.hooks = hooks
        self.has_waiting = has_waiting
        self.is_draining = is_draining
        self.is_shedding = is_shedding

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

    def handle(self, conn: Any) -> bool:
        """Serve ``conn`` while it has work; True = keep it (park it), False = it was closed."""
        raise NotImplementedError(f"{type(self).__name__} must implement handle(conn)")

    def close(self) -> None:
        """Release what the worker holds (executors, files); the server calls it on stop."""

    def fill_within(self, conn: Any, deadline: float) -> float:
        """Wait for more of a started request head or message, up to ``header_timeout`` in all.

        ``deadline`` is 0.0 on the first wait (it then starts ``header_timeout`` from now),
        afterwards the value this returned. Raises one of :data:`TIMEOUT_ERRORS` once it passed.
        """
        now = time.monotonic()
        if not deadline:
            deadline = now + self.header_timeout_s
        conn.fill(max(deadline - now, 0.0))
        return deadline


class HTTPWorker(Worker):
    """A worker speaking HTTP/1.x: runs the request loop and answers protocol errors.

    Subclasses implement :meth:`handle_request`; the loop fires the ``pre_request`` and
    ``post_request`` hooks around it when they are set. Settings, besides the base class's:
    ``body_timeout`` (seconds, default ``header_timeout``).
    """

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
        head_deadline = 0.0  # monotonic deadline for a partially received head; 0 = none
        try:
            while True:
                try:
                    event = next_event()
                except HTTPError as exc:
                    self.send_error(conn, exc)
                    conn.close()
                    return False
                if event.__class__ is Request:
                    head_deadline = 0.0
                    self.requests += 1  # approximate under threads; for stats and max_requests
                    if is_draining():  # graceful stop: this response announces the close
                        event.keep_alive = False
                    if not (self.handle_request(conn, event) if hooks is None
                            else self._hooked_request(conn, event)):
                        conn.close()
                        return False
                    if parser.trailing_data:
                        continue  # a pipelined request is buffered
                    # Nothing buffered and the request consumed (handle_request's promise):
                    # the parser can only say NEED_DATA, so go straight to the linger below.
                elif event is NEED_DATA:
                    if parser.trailing_data:  # part of a head: wait for the rest
                        try:
                            head_deadline = self.fill_within(conn, head_deadline)
                        except TIMEOUT_ERRORS:
                            self.send_error(
                                conn,
                                RequestTimeout(
                                    f"request head not received within header_timeout="
                                    f"{self.header_timeout_s:g} s"
                                ),
                            )
                            conn.close()
                            return False
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

    def _hooked_request(self, conn: Any, request: Request) -> bool:
        """:meth:`handle_request` between ``pre_request`` and ``post_request`` (which fires
        even when the request fails)."""
        hooks = self.hooks
        hooks.before(conn, request)
        try:
            return bool(self.handle_request(conn, request))
        finally:
            hooks.after(conn, request, None)

    def send_error(self, conn: Any, exc: HTTPError) -> None:
        """Answer ``exc`` with its status and a text/plain message, announcing the close."""
        body = (exc.message + "\n").encode("utf-8", "replace")
        try:
            conn.sendall(error_response(exc.status, exc.reason, body, server=self.server_header))
        except OSError:
            pass  # the peer is gone; the connection is closed by the caller
