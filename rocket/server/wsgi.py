"""``Rocket``: wires listeners, the thread pool, the monitor and the worker (the lifecycle it
shares with the SocketServer is :mod:`rocket.server.lifecycle`).

Flow of a connection: a listener accepts it and reads once without waiting; a whole request
head goes to the pool at once, anything less (and every TLS connection, for its handshake) to
the monitor, which reads on and submits it to the pool once a head is whole. A pool thread
calls ``worker.handle(conn)``; when that returns True the connection goes back to the
monitor: parked while idle, or waiting for the rest of a head the client is still sending.
"""

from __future__ import annotations

import platform
import socket
import sys
import threading
import time
from typing import Any, Dict, List, Optional

from rocket._version import SERVER_SOFTWARE
from rocket.config.settings import SETTINGS_BY_NAME, Config
from rocket.http.errorpage import error_response
from rocket.http.parser import RequestParser
from rocket.logs import NullHandler, errors_log
from rocket.net.connection import Connection
from rocket.net.listener import Listener
from rocket.net.proxied import maybe_gate
from rocket.net.tls import make_tls_context
from rocket.server.lifecycle import Lifecycle
from rocket.server.threadpool import CROWDED
from rocket.workers.base import WorkerContext

SOCKET_TIMEOUT = 10
"""Rocket's per-socket read timeout (s); web2py overrides it before start, so it is read then."""
SERVER_NAME = socket.gethostname()
HTTP_SERVER_SOFTWARE = f"{SERVER_SOFTWARE} Python/{platform.python_version()}"
BUF_SIZE = 16384
DEFAULTS = {"LISTEN_QUEUE_SIZE": 5, "MIN_THREADS": 10,
            "MAX_THREADS": SETTINGS_BY_NAME["max_threads"].compat_default}
IS_JYTHON = False

YIELD_QUANTUM_S = 0.02
"""While a few others wait for a thread, a connection keeps its thread at least this long:
several requests per hand-off instead of one, and only milliseconds of extra wait for the
others. Once the pool is crowded (``rocket.server.threadpool.CROWDED`` connections or more
wait for a thread) a connection gives its thread up after every request instead: each busy
client then waits one round of the queue (milliseconds), not a quantum for every connection
ahead of it on every thread (256 busy clients on 8 threads: 0.6 s). Turns of 2 or 3 requests
were measured and served fewer: waiting on a thread for each next request costs more than
the monitor's hand-back."""

SERVE_ON_MONITOR_BEYOND = 0 if platform.python_implementation() == "PyPy" else CROWDED
"""While the pool is saturated, the monitor serves whole requests on its own thread once one
poll finds more connections ready than ``min_threads`` + this (0: whenever saturated).
Measured side by side (../shared/bench, one core): on CPython a pool thread keeping its
connection costs less than the monitor's bookkeeping per request (hello c16 36.6k vs 28.8k
req/s served on the monitor), but once connections are crowded they take turns through the
monitor anyway, and serving there saves the queue (hello c256 26.3k -> 30.9k). On PyPy the
bookkeeping is compiled and a thread hand-off costs the most: serving there pays at once
(hello c16 67.8k -> 74.7k, c256 50.9k -> 74.9k). None: never serve on the monitor's thread
(set it before the server starts)."""

SERVE_ON_ACCEPT = platform.python_implementation() == "PyPy"
"""While the pool reads a busy lock (half a CPU or more), the thread that accepted a connection
with a whole plain-TCP head serves that first request itself, then parks the connection in the
monitor, instead of queueing it for a pool thread (:mod:`rocket.server.lifecycle`). Measured
side by side (2026-12-05, one core each, hello with a new connection per request, c16): PyPy
29.4k -> 47.4k req/s (a wake-up of a pool thread per connection is what PyPy's threads cost
most); CPython 31.3k -> 21.9k (its send and accept calls got dearer when one thread did it
all), so CPython queues. Read by each start (False: never)."""

__all__ = ["Rocket", "Rocket3", "Server", "serve", "build_server", "SOCKET_TIMEOUT",
           "SERVER_NAME", "SERVER_SOFTWARE", "HTTP_SERVER_SOFTWARE", "BUF_SIZE", "DEFAULTS",
           "NullHandler"]


class _Turn(threading.local):
    """Per thread: when its connection's turn began (monotonic s); -1.0 on a monitor thread
    (one request per turn there)."""

    started = 0.0


def _module_global(name: str, default: Any) -> Any:
    """A Rocket global, as overridden on ``rocket`` or on ``rocket.server.wsgi`` (either works)."""
    package = sys.modules.get("rocket")
    own = globals()[name]
    if own != default:
        return own
    value = getattr(package, name, default)
    return value


class Rocket(Lifecycle):
    """The server, with Rocket 1.x's signature (all arguments positional in this order).

    Extra keyword arguments are settings of ``rocket.config.settings`` (``linger``, ``access_log``,
    ``header_timeout``...). ``interfaces`` is one tuple or a list of ``(ip, port)``,
    ``(ip, port, keyfile, certfile)`` or ``(ip, port, keyfile, certfile, ca_certs)``.
    """

    compatible_defaults = True
    """Unset settings take the table's compatibility defaults (Rocket 1.x's values); the
    modern entry points (``Server``, ``SocketServer``) set it False for the production ones."""

    def __init__(self, interfaces: Any = ("127.0.0.1", 8000), method: str = "wsgi",
                 app_info: Optional[dict] = None, min_threads: Optional[int] = None,
                 max_threads: Optional[int] = None, queue_size: Optional[int] = None,
                 timeout: Optional[float] = 600, handle_signals: bool = True,
                 **settings: Any) -> None:
        super().__init__()
        compatible = self.compatible_defaults
        if compatible:  # Rocket's module globals, which web2py and others may change
            min_threads = DEFAULTS["MIN_THREADS"] if min_threads is None else min_threads
            max_threads = DEFAULTS["MAX_THREADS"] if max_threads is None else max_threads
        for name, value in (("min_threads", min_threads), ("max_threads", max_threads)):
            if value is not None:
                settings[name] = value
        if queue_size is not None:
            settings.setdefault("backlog", queue_size)
            if max_threads and queue_size > max_threads:
                queue_size = max_threads  # Rocket: no more waiting than there are threads
            settings.setdefault("queue_size", queue_size)
        if timeout is not None:  # None: the settings table's keep_alive default
            settings["keep_alive"] = timeout
        self.config = Config(compatible=compatible, bind=interfaces,
                             handle_signals=handle_signals, **settings)
        min_threads, max_threads = self.config.min_threads, self.config.max_threads
        from rocket.workers import get_worker_class

        self.method = method
        self.worker_class = get_worker_class(method)
        if self.config.static:
            _check_static_method(method, self.worker_class)
        self.app_info = app_info if app_info is not None else {}
        self.app_info["server_software"] = SERVER_SOFTWARE
        self.app_info["min_threads"] = min_threads
        self.app_info["max_threads"] = max_threads
        self.interfaces = list(self.config.bind)
        self.min_threads = min_threads
        self.max_threads = max_threads
        self.queue_size = self.config.queue_size
        self.timeout = timeout
        self.handle_signals = handle_signals
        self.limits = self.config.limits()
        for interface in self.interfaces:
            if interface.secure:  # a bad key or certificate fails here, never falls back to plain
                make_tls_context(interface, self.config.ciphers)
        self.software = SERVER_SOFTWARE
        self.server_name = self.config.server_name or SERVER_NAME
        self.log = errors_log("Server")
        self._turn = _Turn()
        from rocket.server.hooks import maybe_hooks

        self.hooks = maybe_hooks(self.config)
        """The connection/request hooks of the settings, or None when none is set."""
        self.proxy_gate = maybe_gate(self.config.proxy_protocol,
                                     self.config.forwarded_allow_ips)
        self._http2: Any = None  # rocket.http2.hub.HTTP2, made when the first client speaks it

    # -- lifecycle ---------------------------------------------------------------------------
    def set_queue_size(self, value: Any) -> None:
        """Apply the settings table's ``queue_size`` (the bound of the work queue). Rocket 1.x's
        positional ``queue_size`` means the listen backlog, so the table's cannot travel in
        ``**settings``; the modern entry points set it through here."""
        from rocket.config.settings import SETTINGS_BY_NAME, convert

        self.config.queue_size = self.queue_size = convert(SETTINGS_BY_NAME["queue_size"], value)
        self.config.explicit |= {"queue_size"}  # as if given to Config: repr, arbiter settings

    def has_waiting(self) -> bool:
        """True when connections wait for a thread and the calling thread's connection has had
        its turn: one request while the pool is crowded, else ``YIELD_QUANTUM_S``.
        The worker then parks its idle connection at once instead of lingering on it, so a
        fixed pool serves every client in turn."""
        pool = self.pool
        if pool is None:
            return False
        monitor = self.monitor
        if monitor is not None and monitor.inline:  # the monitor serves every next request
            return True
        started = self._turn.started
        if started < 0.0:  # a monitor thread's request: one, then back to the monitor
            return True
        backlog = pool.backlog
        if backlog <= 0:
            return False
        return backlog >= CROWDED or time.monotonic() - started >= YIELD_QUANTUM_S

    def _wants_processes(self) -> bool:
        """Process mode: ``workers`` > 1, ``concurrency='process'``, ``max_requests`` or
        systemd socket activation."""
        from rocket.process.supervision import wants_arbiter

        c: Any = self.config
        return wants_arbiter(c.workers, c.max_requests, c.concurrency)

    # -- wiring -------------------------------------------------------------------------------
    def _prepare(self) -> None:
        """Each start: apply the module globals, and build the worker unless it exists."""
        self._apply_globals()
        if self.worker is None:
            context = WorkerContext(self.config, self.limits, self.server_name, self.software,
                                    self.hooks, self.has_waiting, lambda: self.draining,
                                    self._close_gently, lambda: self.shedding)
            if self._speaks_http2():
                context.take_http2 = self._take_http2
            self.worker = self.worker_class(self._worker_app_info(), context)
            self._http2 = None

    def _worker_app_info(self) -> dict:
        """``app_info`` for the worker: the ``static`` setting's mounts wrap ``wsgi_app``."""
        mounts = self.config.static  # type: ignore[attr-defined]
        if not mounts:
            return self.app_info
        from rocket.static.mounts import wrap_static

        return dict(self.app_info, wsgi_app=wrap_static(self.app_info.get("wsgi_app"), mounts))

    def _apply_globals(self) -> None:
        explicit = self.config.explicit
        timeout = _module_global("SOCKET_TIMEOUT", 10)
        if "header_timeout" not in explicit:
            self.config.header_timeout = float(timeout)
        if "body_timeout" not in explicit:
            self.config.body_timeout = float(timeout)
        if self.config.linger > self.config.header_timeout > 0:
            self.config.linger = self.config.header_timeout
        if "server_name" not in explicit:
            self.server_name = _module_global("SERVER_NAME", SERVER_NAME)

    def _accept(self, sock: Any, addr: Any, listener: Listener) -> Optional[Connection]:
        """A new connection, on the listener's thread: one read without waiting
        (TCP_DEFER_ACCEPT makes the request usually be there); a whole head is returned, for
        the pool, the rest goes to the monitor, and TLS to the monitor for its handshake
        (never on this thread). A worker whose clients need not speak first (a
        custom Worker, the SocketServer) is returned at once."""
        c = self.config
        conn = Connection(sock, addr, listener.address, self._new_reader(),
                          secure=listener.secure, read_timeout=c.header_timeout or 1e9,
                          send_timeout=c.body_timeout or 1e9, body_min_rate=c.body_min_rate,
                          send_min_rate=c.send_min_rate, min_rate_grace=c.min_rate_grace,
                          inherited=listener.inherited_options)
        conn.head_since = time.monotonic()
        self.connections_received += 1
        monitor: Any = self.monitor
        if self.proxy_gate is not None:  # the header first, then as below (in the monitor)
            monitor.read_proxy_header(conn)
            return None
        if conn.secure:
            monitor.handshake(conn)
            return None
        if not self.worker.client_speaks_first:  # it may greet first: serve it at once
            return conn
        try:
            got = conn.read_nowait()
        except OSError:  # reset already
            conn.close()
            return None
        if got and self.worker.request_ready(conn):
            return conn
        if got is False and not conn.reader.trailing_data:
            conn.close()  # connected and closed without a byte
            return None
        if got is False:
            return conn  # a cut head: the worker answers
        monitor.wait_head(conn, conn.head_since)
        return None

    def _new_reader(self) -> Any:
        """The reader of a new connection: its HTTP request parser (SocketServer: a stream)."""
        return RequestParser(self.limits)

    def _serve(self, conn: Connection) -> None:
        """Pool handler: serve, then hand the connection back to the monitor (parked idle, or
        waiting for the rest of a head), or re-queue it when TLS holds more bytes. An HTTP/2
        stream job (:class:`rocket.http2.session.StreamJob`) runs itself."""
        if conn.__class__ is not Connection and not isinstance(conn, Connection):
            conn.run()  # type: ignore[attr-defined]
            return
        self._turn.started = now = time.monotonic()
        if self.hooks is not None and conn.on_close is None:
            self.hooks.made(conn)  # first hand-off of this connection
        if self.worker.handle(conn):
            if conn.closed:
                return
            monitor: Any = self.monitor
            if conn.reader.trailing_data:
                monitor.wait_head(conn, conn.head_since)
            elif conn.secure and conn.has_buffered:  # TLS decrypted the next request already
                conn.head_since = now
                self.pool.submit(conn)  # type: ignore[union-attr]
            else:
                monitor.park(conn)

    def _monitor_serve_here(self) -> Any:
        """:meth:`_serve_here` for an HTTP worker, unless :data:`SERVE_ON_MONITOR_BEYOND` is
        None."""
        return self._serve_here_if(SERVE_ON_MONITOR_BEYOND is not None)

    def _accept_serve_here(self) -> Any:
        """:meth:`_serve_here` for an HTTP worker while :data:`SERVE_ON_ACCEPT` is on."""
        return self._serve_here_if(SERVE_ON_ACCEPT)

    def _serve_here_if(self, on: bool) -> Any:
        """:meth:`_serve_here` when ``on`` and the worker speaks HTTP/1, else None."""
        from rocket.workers.base import HTTPWorker

        return self._serve_here if on and isinstance(self.worker, HTTPWorker) else None

    def _serve_here(self, conn: Connection) -> bool:
        """:meth:`_serve` for the monitor's thread (its ``serve_here``) and for an accepting
        thread: always a plain HTTP/1 connection or one the monitor served before, and one
        request only (the monitor or the listener gets its thread back after it).
        True: park it idle (the monitor does, with the watch it holds)."""
        if self.hooks is not None and conn.on_close is None:
            self.hooks.made(conn)  # first hand-off of this connection
        self._turn.started = -1.0  # has_waiting: one request only, even once inline is off
        if not self.worker.handle(conn) or conn.closed:
            return False
        if conn.reader.trailing_data:
            self.monitor.wait_head(conn, conn.head_since)  # type: ignore[union-attr]
            return False
        if conn.secure and conn.has_buffered:  # TLS decrypted the next request already
            conn.head_since = time.monotonic()
            self.pool.submit(conn)  # type: ignore[union-attr]
            return False
        return True

    def _monitor_crowd(self) -> int:
        """:data:`SERVE_ON_MONITOR_BEYOND` past the threads a saturated pool runs."""
        beyond = SERVE_ON_MONITOR_BEYOND or 0
        return self.pool.min_threads + beyond if beyond else 0  # type: ignore[union-attr]

    def _speaks_http2(self) -> bool:
        """HTTP/2 on (the ``http2`` setting, resolved by Config) for an HTTP worker."""
        return self.config.http2 == "true" and hasattr(self.worker_class, "serve_request")

    def _alpn(self) -> Any:
        """``h2, http/1.1`` when HTTP/2 is on."""
        return ("h2", "http/1.1") if self._speaks_http2() else ()

    def _take_http2(self, conn: Connection) -> bool:
        """The worker's ``take_http2``: run ``conn`` as an HTTP/2 session."""
        hub = self._http2
        if hub is None:
            from rocket.http2.hub import HTTP2

            hub = self._http2 = HTTP2(self.config, self.worker.serve_request)
        return hub.take(conn, self.monitor, self.pool.submit)  # type: ignore[union-attr]

    def open_streams(self) -> int:
        """HTTP/2 streams open now."""
        hub = self._http2
        return hub.open_streams() if hub is not None else 0

    def stream_jobs(self) -> int:
        """HTTP/2 stream jobs on pool threads or queued."""
        hub = self._http2
        return hub.jobs.value if hub is not None else 0

    def _close_gently(self, conn: Connection) -> None:
        """The worker's ``close_gently``: the monitor's lingering close."""
        monitor = self.monitor
        if monitor is None:
            conn.close()
        else:
            monitor.close_gently(conn)

    def _answer(self, conn: Connection, reason: str) -> Optional[bytes]:
        """The monitor's ``answer``: the worker's timeout answer (408), or the refusal of
        plain HTTP on a TLS port."""
        if reason == "plain_http":
            return _plain_http_refusal()
        return self.worker.timeout_answer(conn)  # type: ignore[no-any-return]

    # -- stats --------------------------------------------------------------------------------
    @property
    def ports(self) -> List[int]:
        """Bound TCP ports, in interface order (useful with port 0)."""
        return [i.port for i in self.interfaces if i.unix_path is None]


Rocket3 = Rocket
"""rocket3's name for the same class (py4web: ``from rocket3 import Rocket3``)."""


class Server(Rocket):
    """The modern form: ``Server(app, host=, port=, threads=, **settings)``; a context manager
    that serves in the background (``with Server(app, port=0) as s: s.ports[0]``)."""

    compatible_defaults = False

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 8000,
                 threads: Any = None, bind: Any = None, handle_signals: bool = False,
                 keep_alive: Optional[float] = None, **settings: Any) -> None:
        if bind is None:
            bind = (host, port)
        if threads is not None:
            low, _, high = str(threads).partition(":")
            settings.setdefault("min_threads", int(low))
            if high:  # MIN alone keeps the default bound
                settings.setdefault("max_threads", int(high))
        min_threads = settings.pop("min_threads", None)
        max_threads = settings.pop("max_threads", None)
        queue_size = settings.pop("queue_size", None)  # the table's meaning, not Rocket 1.x's
        super().__init__(bind, "wsgi", {"wsgi_app": app}, min_threads, max_threads, None,
                         keep_alive, handle_signals, **settings)
        if queue_size is not None:
            self.set_queue_size(queue_size)


def serve(app: Any, **settings: Any) -> None:
    """Serve ``app`` until stopped (signal or Ctrl-C): ``serve(app, host=, port=, threads=)``.

    When logging is not configured it prints ``Serving on http://HOST:PORT`` per listener
    (:mod:`rocket.server.banner`)."""
    from rocket.server.banner import logging_configured

    settings.setdefault("handle_signals", True)
    server = Server(app, **settings)
    server.banner = not logging_configured()
    server.start()


def build_server(app: Any, settings: Dict[str, Any], sockets: List[Any]) -> Server:
    """The ``build_server`` of ``rocket.process.launch`` for an application: a ``Server`` for
    ``app`` with ``settings`` (Config keys) on the pre-bound ``sockets``."""
    from rocket.process.child import ARBITER_SETTINGS

    kwargs = {name: value for name, value in settings.items() if name not in ARBITER_SETTINGS}
    server = Server(app, workers=int(settings.get("workers", 2)), **kwargs)
    server.sockets = dict(enumerate(sockets))
    server.in_worker_process = True  # serve here; workers > 1 only sets wsgi.multiprocess
    return server


def _check_static_method(method: str, worker_class: type) -> None:
    """Static mounts wrap a WSGI application: refuse them for a method without one."""
    from rocket.config.settings import ConfigError
    from rocket.workers import WSGIWorker

    if method.lower() == "fs" or not issubclass(worker_class, WSGIWorker):
        raise ConfigError(f"static mounts go in front of a WSGI application and method "
                          f"{method!r} has none; use method 'wsgi' (app_info['wsgi_app'])")


def _plain_http_refusal() -> bytes:
    """Sent, unencrypted, to a client speaking plain HTTP on a TLS port (then a lingering
    close)."""
    body = b"This port speaks HTTPS; the request was sent as plain HTTP.\n"
    return error_response(400, "Bad Request", body, content_type="text/plain")
