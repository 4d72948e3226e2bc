"""The SocketServer's worker: decode messages, call the handler, send the encoded replies.

How it works
------------
Each connection's reader (``conn.reader``) is a :class:`MessageStream`, where an HTTP connection
has its request parser: ``Connection.fill`` feeds it the bytes it reads, and the stream asks
the connection's protocol to ``decode`` them. The pool calls ``handle(conn)`` whenever the
connection has work, and the worker keeps it while it is busy:

1. decode the next message from the buffered bytes;
2. a message: fire ``pre_request``, call ``handler(conn, message)``, encode and send the reply
   (unless it is None), fire ``post_request``; messages of one connection are thus handled
   one at a time, in order, by the thread that owns the connection;
3. nothing buffered: wait ``linger`` seconds for more on this thread, then return True so the
   server parks the connection in the monitor (which closes it after ``keep_alive`` idle s);
4. part of a message buffered: wait for the rest until ``linger`` after it began, then hand
   the connection back (True): the monitor reads on, hands it over again once
   :meth:`MessageStream.ready` says a message is whole, and closes it ``header_timeout``
   after the message began;
5. a decode error, a message over ``max_message_bytes``, a handler or encode error: one log
   line (a traceback for handler bugs), the connection closes, the server goes on.

After ``max_requests`` messages (0 = no limit), or during a graceful stop, the connection is
closed once the current reply is sent.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional

from rocket.logs import errors_log
from rocket.workers.base import TIMEOUT_ERRORS, Worker, WorkerContext

__all__ = ["MessageStream", "ProtocolWorker", "ProtocolError", "MessageTooLarge",
           "IncompleteMessage", "MessageTimeout", "NEED_DATA"]

log = errors_log("Sockets")


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Any = _NeedData()
"""Returned by :meth:`MessageStream.next_message` when no whole message is buffered."""


class ProtocolError(Exception):
    """The bytes of a connection cannot become a message; the connection is closed."""


class MessageTooLarge(ProtocolError):
    """More than ``max_message_bytes`` are buffered without a whole message."""


class IncompleteMessage(ProtocolError):
    """The peer closed the connection in the middle of a message."""


class MessageTimeout(ProtocolError):
    """The rest of a started message did not arrive within ``header_timeout``."""


class MessageStream:
    """Per-connection state in the place of the HTTP parser: buffered bytes and the protocol.

    ``feed(data)`` (``b""`` = EOF) and ``trailing_data`` are what the connection and the
    server use; the worker calls :meth:`next_message`. ``error`` is the exception that ended
    the connection, if any (passed to ``connection_lost``); ``send_lock`` serialises sends to
    this connection from several threads (see :func:`rocket.server.sockets.send`).
    """

    __slots__ = ("protocol", "max_message_bytes", "buffer", "eof", "error", "messages",
                 "send_lock", "_decoded")

    def __init__(self, protocol: Any = None, max_message_bytes: int = 0) -> None:
        self.protocol = protocol
        self.max_message_bytes = max_message_bytes
        self.buffer = b""
        self.eof = False
        self.error: Optional[BaseException] = None
        self.messages = 0
        self.send_lock = threading.Lock()
        self._decoded: Any = None  # what ready() decoded ahead: a message or a _Failed

    def feed(self, data: bytes) -> None:
        """Buffer ``data`` read from the peer; ``b""`` records the end of the stream."""
        if data:
            self.buffer = self.buffer + data if self.buffer else data
        else:
            self.eof = True

    @property
    def trailing_data(self) -> bytes:
        """Bytes buffered but not yet decoded into a message."""
        return self.buffer

    def ready(self) -> bool:
        """True when :meth:`next_message` will not say NEED_DATA: a whole message (decoded
        now and kept for it), a decode failure, or the end of the stream. The monitor asks."""
        if self._decoded is None:
            try:
                message = self.next_message()
            except Exception as exc:
                message = _Failed(exc)
            if message is NEED_DATA:
                return self.eof
            self._decoded = message
        return True

    def next_message(self) -> Any:
        """The next decoded message, or :data:`NEED_DATA`; raises on a decode failure."""
        decoded = self._decoded
        if decoded is not None:
            self._decoded = None
            if decoded.__class__ is _Failed:
                raise decoded.exc
            return decoded
        buffer = self.buffer
        if not buffer:
            return NEED_DATA
        message, rest = self.protocol.decode(buffer)
        if rest.__class__ is not bytes:
            rest = bytes(rest)
        self.buffer = rest
        if message is None:
            limit = self.max_message_bytes
            if limit and len(rest) > limit:
                raise MessageTooLarge(f"{len(rest)} bytes buffered without a whole message "
                                      f"(max_message_bytes={limit})")
            if self.eof:
                raise IncompleteMessage(f"connection closed inside a message "
                                        f"({len(rest)} bytes buffered)")
            return NEED_DATA
        return message

    def send(self, conn: Any, data: bytes) -> None:
        """Send encoded ``data`` on ``conn`` under this stream's lock (OSError if gone)."""
        with self.send_lock:
            conn.sendall(data)


class _Failed:
    __slots__ = ("exc",)

    def __init__(self, exc: Exception) -> None:
        self.exc = exc


def _describe(conn: Any) -> str:
    host, port = conn.client_addr
    return f"{host}:{port}" if port else (host or "unix peer")


class ProtocolWorker(Worker):
    """Serves the messages of ``conn.reader`` (a :class:`MessageStream`) with
    ``app_info['handler']``; the SocketServer builds the streams and their protocols.

    Settings: ``header_timeout`` (seconds for the rest of a started message), ``linger``,
    ``max_requests`` (messages per connection; 0 = no limit).
    """

    def __init__(self, app_info: Optional[dict], context: Optional[WorkerContext] = None) -> None:
        super().__init__(app_info, context)
        self.handler: Callable[[Any, Any], Any] = self.app_info["handler"]
        self.max_messages = int(self.context.setting("max_requests", 0))
        self.is_draining = self.context.is_draining

    def handle(self, conn: Any) -> bool:
        """Serve ``conn`` while it has messages (see the module docstring)."""
        stream: MessageStream = conn.reader
        if stream.protocol is None:  # the factory failed when the connection was accepted
            exc = stream.error or RuntimeError("no protocol for this connection")
            return self._fail(conn, stream, exc, "closing: the protocol factory raised", True)
        since = conn.head_since  # when a started message began; 0 = none started
        has_waiting = self.context.has_waiting
        progress = self.progress.mine()
        try:
            while True:
                try:
                    message = stream.next_message()
                except Exception as exc:
                    return self._fail(conn, stream, exc, "closing: cannot decode", False)
                if message is not NEED_DATA:
                    since = 0.0
                    if not self._serve(conn, stream, message, progress):
                        return False
                    continue
                if stream.eof:
                    conn.close()
                    return False
                if not stream.buffer:  # between messages: linger (inline, per message), park
                    if has_waiting():
                        return True
                    try:
                        conn.fill(self.linger_s)
                    except TIMEOUT_ERRORS:
                        return True
                    continue
                since = self.wait_partial(conn, since)
                if not since:
                    return True
        except OSError as exc:  # the peer is gone (reset, broken pipe)
            stream.error = exc
            conn.close()
            return False
        finally:
            progress.settle()

    def request_ready(self, conn: Any) -> bool:
        """A whole message, a decode failure or the end is buffered (MessageStream.ready)."""
        return bool(conn.reader.ready())

    def timeout_answer(self, conn: Any) -> Optional[bytes]:
        """Nothing to send: log the timeout; the monitor closes the connection."""
        stream: MessageStream = conn.reader
        stream.error = MessageTimeout(f"rest of a message not received within "
                                      f"header_timeout={self.header_timeout_s:g} s")
        log.warning("%s: closing: %s", _describe(conn), stream.error)
        return None

    def _serve(self, conn: Any, stream: MessageStream, message: Any, progress: Any) -> bool:
        """One exchange: handler, reply, hooks; counted in ``progress`` for the heartbeat."""
        stream.messages += 1
        self.requests += 1
        progress.serial += 1  # odd: in flight
        hooks = self.hooks
        if hooks is not None:
            hooks.before(conn, message)
        try:
            reply = self.handler(conn, message)
            data = None if reply is None else stream.protocol.encode(reply)
        except Exception as exc:
            return self._fail(conn, stream, exc, "closing: the handler or encode() raised", True)
        if data:
            progress.waiting = True  # a failed send leaves handle(), which settles it
            stream.send(conn, data)
            progress.waiting = False
            progress.bytes_moved += len(data)
        if hooks is not None:
            hooks.after(conn, message, reply)
        progress.serial += 1
        if self.is_draining() or (self.max_messages and stream.messages >= self.max_messages):
            conn.close()
            return False
        return True

    def _fail(self, conn: Any, stream: MessageStream, exc: Exception, what: str,
              traceback: bool) -> bool:
        stream.error = exc
        if isinstance(exc, IncompleteMessage):
            log.debug("%s: %s", _describe(conn), exc)  # the peer's choice, not an error here
        elif traceback:
            log.error("%s: %s", _describe(conn), what, exc_info=exc)
        else:
            log.warning("%s: %s: %s", _describe(conn), what, exc)
        conn.close()
        return False
