"""The generic socket server (the pulsar layer): Rocket's machinery for any protocol.

``SocketServer(protocol_factory, handler=..., **settings)`` serves TCP and unix sockets with
the same listeners, monitor, thread pool and arbiter as the WSGI server, and the same settings
table (``bind``, ``backlog``, ``keep_alive``, ``concurrency``, ``workers``, ``max_requests``,
``max_message_bytes``, the hooks...). Each connection gets its own protocol from
``protocol_factory()``; its ``decode`` turns buffered bytes into messages, ``handler(conn,
message)`` answers each one, and ``encode`` turns the reply into bytes::

    from rocket import SocketServer, Protocol
    server = SocketServer(Protocol, handler=lambda conn, message: message,  # echo
                          bind="127.0.0.1:8070", keep_alive=10)
    server.start()

:func:`settings_from_argv` reads the same settings from a script's command line
(``--bind 127.0.0.1:8070 --backlog 1000 --keep-alive 10 --concurrency thread``).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from rocket.config.settings import ALIASES, ConfigError
from rocket.server.wsgi import Rocket
from rocket.workers import register_method
from rocket.workers.protocol import MessageStream, ProtocolWorker

__all__ = ["Protocol", "LineProtocol", "SocketServer", "send", "settings_from_argv"]

METHOD = "socket"
"""The worker method name the SocketServer registers for its :class:`ProtocolWorker`."""


class Protocol:
    """Turns bytes into messages and replies into bytes; one instance per connection.

    The base class is a raw byte stream: every read is one message (bytes) and a reply is
    sent as ``bytes(reply)``. Subclasses define real framing.
    """

    def decode(self, data: bytes) -> Tuple[Any, bytes]:
        """``(message, rest)`` for the first whole message in ``data``, or ``(None, data)``
        when more bytes are needed; ``rest`` holds the bytes of the following messages.
        Raise any exception for bytes that can never be a message (the connection closes)."""
        return data, b""

    def encode(self, message: Any) -> bytes:
        """The bytes that carry ``message`` (a handler's reply) to the peer."""
        return bytes(message)


class LineProtocol(Protocol):
    """Messages are lines ending with ``delimiter`` (sent without it; replies get one added).

    A line longer than ``max_line_bytes`` is a decode error (0 = only ``max_message_bytes``).
    """

    def __init__(self, delimiter: bytes = b"\n", max_line_bytes: int = 0) -> None:
        self.delimiter = delimiter
        self.max_line_bytes = max_line_bytes

    def decode(self, data: bytes) -> Tuple[Any, bytes]:
        """The first line of ``data`` (without its delimiter) and the rest."""
        end = data.find(self.delimiter)
        limit = self.max_line_bytes
        if end < 0:
            if limit and len(data) > limit:
                raise ValueError(f"line longer than {limit} bytes")
            return None, data
        if limit and end > limit:
            raise ValueError(f"line of {end} bytes is longer than {limit}")
        return data[:end], data[end + len(self.delimiter):]

    def encode(self, message: Any) -> bytes:
        """``message`` (bytes or str, UTF-8) followed by the delimiter."""
        if isinstance(message, str):
            message = message.encode("utf-8")
        return bytes(message) + self.delimiter


def send(conn: Any, message: Any) -> bool:
    """Encode ``message`` with ``conn``'s protocol and send it from any thread (broadcasts).

    Sends to one connection are serialised, so they never interleave with its replies.
    Returns False when the connection is closed or the peer is gone. Plain TCP and unix
    sockets only: OpenSSL does not allow a TLS connection to be written from one thread
    while another reads it.
    """
    stream: MessageStream = conn.reader
    if conn.closed or stream.protocol is None:
        return False
    data = stream.protocol.encode(message)
    try:
        stream.send(conn, data)
    except OSError:
        return False
    return True


class SocketServer(Rocket):
    """A TCP/unix server for ``protocol_factory`` messages answered by ``handler``.

    ``protocol_factory()`` returns a :class:`Protocol` for each new connection;
    ``handler(conn, message)`` returns a reply (encoded and sent) or None. ``settings`` are
    the rows of :mod:`rocket.config.settings` (``bind``, ``backlog``, ``keep_alive``, ``workers``,
    ``concurrency``, ``max_requests`` = messages per connection, ``max_message_bytes``, the
    four hooks...). With ``concurrency='process'`` (or ``workers`` > 1) :meth:`start` runs an
    arbiter in the foreground that forks ``workers`` processes, each serving on the shared
    sockets; :meth:`info` then sums their figures.
    """

    _process_mode = "concurrency='process'"
    compatible_defaults = False

    def __init__(self, protocol_factory: Callable[[], Any],
                 handler: Optional[Callable[[Any, Any], Any]] = None,
                 **settings: Any) -> None:
        if not callable(protocol_factory):
            raise TypeError(f"protocol_factory must be callable, got {protocol_factory!r}")
        if not callable(handler):
            raise TypeError(f"handler must be a callable handler(conn, message), got {handler!r}")
        for alias, name in ALIASES.items():
            if alias in settings:
                if name in settings:
                    raise ConfigError(f"give either {alias!r} or {name!r}, not both")
                settings[name] = settings.pop(alias)
        bind = settings.pop("bind", ("127.0.0.1", 8000))
        min_threads = settings.pop("min_threads", None)
        max_threads = settings.pop("max_threads", None)
        keep_alive = settings.pop("keep_alive", None)  # None: the table's default
        handle_signals = settings.pop("handle_signals", True)
        queue_size = settings.pop("queue_size", None)  # the table's meaning, not Rocket 1.x's
        self.protocol_factory = protocol_factory
        self.handler = handler
        app_info = {"protocol_factory": protocol_factory, "handler": handler}
        super().__init__(bind, METHOD, app_info, min_threads, max_threads, None, keep_alive,
                         handle_signals, **settings)
        if queue_size is not None:
            self.set_queue_size(queue_size)  # also marks it explicit, so workers inherit it

    def _new_reader(self) -> MessageStream:
        # Runs on the accepting thread: a failing factory is recorded, and the worker closes
        # that one connection with a log line, instead of breaking the listener.
        try:
            return MessageStream(self.protocol_factory(), self.config.max_message_bytes)
        except Exception as exc:
            stream = MessageStream(None, self.config.max_message_bytes)
            stream.error = exc
            return stream

    def _wants_processes(self) -> bool:
        """Process mode: ``concurrency='process'`` or ``workers`` > 1 (``max_requests`` counts
        messages per connection here, so it needs no process to replace)."""
        return self.config.concurrency == "process" or self.config.workers > 1

    def _arbiter_settings(self) -> Dict[str, Any]:
        settings = super()._arbiter_settings()
        settings["max_requests"] = 0  # per connection here, not per process: no rotation
        return settings


register_method(METHOD, ProtocolWorker)


def settings_from_argv(argv: Optional[Sequence[str]] = None, prog: Optional[str] = None,
                       description: Optional[str] = None) -> Dict[str, Any]:
    """Settings given on a script's command line, converted by the settings table.

    Every row of :mod:`rocket.config.settings` is a flag, built as the ``rocket`` command's
    (:mod:`rocket.config.argv`): ``--bind`` repeatable, ``--keep-alive``,
    ``--max-message-bytes``, booleans as ``--flag/--no-flag``; Rocket's aliases work too
    (``--timeout``). A bad flag or value prints one line and exits with code 2, as the
    ``rocket`` command does. Returns only the settings given, ready for ``SocketServer(...)``.
    """
    from rocket.config.argv import parse_settings, settings_parser
    from rocket.config.sources import SourceError

    parser = settings_parser(prog, description)
    try:
        return parse_settings(parser, sys.argv[1:] if argv is None else argv)
    except SourceError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        sys.exit(2)
