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

import argparse
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from rocket.config.settings import ALIASES, SETTINGS, SETTINGS_BY_NAME, ConfigError
from rocket.server.wsgi import Rocket
from rocket.workers import register_method
from rocket.workers.protocol import MessageStream, ProtocolWorker

__all__ = ["Protocol", "LineProtocol", "SocketServer", "send", "settings_from_argv"]

METHOD = "socket"
"""The worker method name the SocketServer registers for its :class:`ProtocolWorker`."""

PROCESS_ONLY = ("workers", "reuse_port", "max_requests_jitter", "graceful_timeout",
                "worker_timeout", "concurrency", "handle_signals")
"""Settings the arbiter uses and a worker process's own server does not."""


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
        keep_alive = settings.pop("keep_alive", 600.0)
        handle_signals = settings.pop("handle_signals", True)
        queue_size = settings.pop("queue_size", None)  # the table's meaning, not Rocket 1.x's
        self.protocol_factory = protocol_factory
        self.handler = handler
        app_info = {"protocol_factory": protocol_factory, "handler": handler}
        super().__init__(bind, METHOD, app_info, min_threads, max_threads, None, keep_alive,
                         handle_signals, **settings)
        if queue_size is not None:
            self.set_queue_size(queue_size)  # also marks it explicit, so workers inherit it
        self._arbiter: Any = None

    def _new_reader(self) -> MessageStream:
        # Runs on the listener thread: a failing factory is recorded, and the worker closes
        # that one connection with a log line, instead of breaking the listener.
        try:
            return MessageStream(self.protocol_factory(), self.config.max_message_bytes)
        except Exception as exc:
            stream = MessageStream(None, self.config.max_message_bytes)
            stream.error = exc
            return stream

    @property
    def multi_process(self) -> bool:
        """True when :meth:`start` runs an arbiter and worker processes."""
        return self.config.concurrency == "process" or self.config.workers > 1

    def start(self, background: bool = False) -> None:
        """Serve; blocks until stopped unless ``background`` (thread mode only)."""
        if not self.multi_process:
            super().start(background)
            return
        if background:
            raise ConfigError("concurrency='process' serves in the foreground: the arbiter "
                              "needs the main thread for its signals; use start()")
        self._run_arbiter()

    def _run_arbiter(self) -> None:
        from rocket.process.arbiter import Arbiter

        config = self.config
        settings = {name: getattr(config, name) for name in config.explicit | {"bind"}}
        settings["max_requests"] = 0  # here it counts messages per connection, not per process
        settings.pop("handle_signals", None)
        self._arbiter = Arbiter(lambda: None, settings, build_server=self._child_server)
        self.started_at = time.time()
        try:
            code = self._arbiter.run()
        finally:
            self.interfaces = list(self._arbiter.interfaces) or self.interfaces
        if code:
            raise RuntimeError(f"the worker processes failed (exit code {code}); "
                               "see the Rocket.Errors log")

    def _child_server(self, app: Any, settings: Dict[str, Any], sockets: List[Any]) -> Any:
        """The single-process server a forked worker runs on the arbiter's ``sockets``."""
        kwargs = {k: v for k, v in settings.items() if k not in PROCESS_ONLY}
        kwargs["max_requests"] = self.config.max_requests
        server = SocketServer(self.protocol_factory, self.handler, handle_signals=False,
                              **kwargs)
        server.sockets = dict(enumerate(sockets))
        return server

    def stop(self, stoplogging: bool = False) -> None:
        """Stop serving (in process mode: ask the arbiter for a graceful stop)."""
        arbiter = self._arbiter
        if arbiter is not None and arbiter.stopping is None:
            arbiter.stopping = "graceful"
            if arbiter.signals is not None:
                arbiter.signals.handler(0, None)  # wakes its loop
            return
        super().stop(stoplogging)

    def info(self) -> Dict[str, Any]:
        """Live figures (see :mod:`rocket.server.info`), summed over processes in process mode."""
        if self._arbiter is not None:
            return self._arbiter.info()
        return super().info()


register_method(METHOD, ProtocolWorker)


def settings_from_argv(argv: Optional[Sequence[str]] = None, prog: Optional[str] = None,
                       description: Optional[str] = None) -> Dict[str, Any]:
    """Settings given on a script's command line, converted by the settings table.

    Every row of :mod:`rocket.config.settings` is a flag (``--bind`` repeatable, ``--keep-alive``,
    ``--max-message-bytes``, booleans as ``--flag/--no-flag``); Rocket's aliases work too
    (``--timeout``). A bad flag or value prints one line and exits with code 2, as the
    ``rocket`` command does. Returns only the settings given, ready for ``SocketServer(...)``.
    """
    from rocket.config.sources import SourceError, convert_value, flag_name, is_bool

    parser = argparse.ArgumentParser(prog=prog, description=description, allow_abbrev=False,
                                     argument_default=argparse.SUPPRESS)
    for row in SETTINGS:
        flag, text = flag_name(row.name), row.help.replace("%", "%%")
        if is_bool(row):
            parser.add_argument(flag, dest=row.name, action="store_const", const="true",
                                help=text)
            parser.add_argument(flag_name("no_" + row.name), dest=row.name,
                                action="store_const", const="false", help=argparse.SUPPRESS)
        else:
            action = "append" if row.name == "bind" else "store"
            parser.add_argument(flag, dest=row.name, action=action, metavar=row.name.upper(),
                                help=text + (" (repeatable)" if action == "append" else ""))
    for alias, name in ALIASES.items():
        if name != "bind":
            parser.add_argument(flag_name(alias), dest=alias, metavar=name.upper(),
                                help=f"alias of {flag_name(name)}")
    args = vars(parser.parse_args(sys.argv[1:] if argv is None else list(argv)))
    settings: Dict[str, Any] = {}
    for name, raw in args.items():
        canonical = ALIASES.get(name, name)
        if canonical in settings:
            parser.error(f"give either {flag_name(name)} or {flag_name(canonical)}, not both")
        try:
            settings[canonical] = convert_value(SETTINGS_BY_NAME[canonical], raw,
                                                flag_name(name))
        except SourceError as exc:
            parser.error(str(exc))
    return settings
