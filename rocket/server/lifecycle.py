"""The lifecycle shared by ``Rocket`` (so ``Server``) and ``SocketServer``.

:class:`Lifecycle` starts and stops the listeners, the thread pool and the monitor, takes the
signals of ``handle_signals``, reads the counters (:meth:`Lifecycle.figures`, the one way:
``info()`` and a worker process's heartbeat both use it) and drains gracefully
(:meth:`Lifecycle.drain`). In process mode ``start()`` hands this server to the launcher
(:func:`rocket.process.launch.launch`): each forked worker process serves with it.

Each listener accepts on its own thread and hands the new connection to ``_accept``: one read
without waiting, then the pool when its request is already there, the monitor otherwise (and
for TLS handshakes). Why not pool threads taking turns in accept(): docs/reliability.md.
With ``_accept_serve_here`` (PyPy's default, see ``SERVE_ON_ACCEPT`` in
:mod:`rocket.server.wsgi`) and while the pool reads a busy lock, the accepting thread serves
that first request itself instead of queueing it; a request there that runs for
``ACCEPT_STALL_S`` makes a new thread accept (:meth:`Listener.hand_over`), and serving there
stays off for ``ACCEPT_BACKOFF_S``.

A subclass provides ``_prepare()`` (run by each start, under the lock: build the worker),
``_accept(sock, addr, listener)`` and ``_serve(conn)`` (the pool's handler), and
``_wants_processes()``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Dict, List, Optional

from rocket import accesslog
from rocket._version import SERVER_SOFTWARE
from rocket.logs import log, part_log
from rocket.net.listener import DEFER_ACCEPT_S, Listener
from rocket.net.monitor import Monitor
from rocket.process.observer import Observer
from rocket.server.admission import Admission, default_max_connections, raise_fd_limit
from rocket.server.banner import announce
from rocket.server.draining import PARKED_GRACE_S, Draining
from rocket.server.processes import Processes
from rocket.server.signals import unwatch, watch
from rocket.server.threadpool import ThreadPool

__all__ = ["Lifecycle", "STOP_TIMEOUT_S", "PARKED_GRACE_S"]

STOP_TIMEOUT_S = 5.0
"""Bound of a quick stop (SIGINT, Ctrl-C) and of the last step of a graceful one, which first
drains for ``graceful_timeout``: threads still in the app then are left (sockets shut down)."""
ACCEPT_STALL_S = 0.05
"""A request served on the accepting thread for this long (seen at the pool's next tick, so up
to one tick later) makes a new thread accept."""
ACCEPT_BACKOFF_S = 1.0
"""After such a hand-over, new connections go to the pool threads for this long."""

class Lifecycle(Draining, Processes):
    """start/stop/restart/wait of a server built from listeners, a pool and a monitor; its
    figures and drain come from :class:`~rocket.server.draining.Draining`, process mode and
    the observer from :class:`~rocket.server.processes.Processes`."""

    _process_mode = "workers > 1"
    """How the refusal of ``start(background=True)`` in process mode names the setting."""

    config: Any
    """The server's :class:`~rocket.config.settings.Config` (set by the subclass)."""
    interfaces: List[Any]
    """The interfaces to listen on; the bound ones once started."""
    thread_factory: Callable[..., threading.Thread] = threading.Thread
    """Makes the pool's threads (``threading.Thread``'s signature; a class or staticmethod)."""

    proxy_gate: Any = None
    """The :class:`~rocket.net.proxied.ProxyGate` of ``proxy_protocol``; None when it is off."""

    banner = False
    """Print ``Serving on URL`` per listener once bound (``serve()`` and the CLI set it)."""

    def __init__(self) -> None:
        self.listeners: List[Listener] = []
        self.pool: Optional[ThreadPool] = None
        self.monitor: Optional[Monitor] = None
        self.admission: Optional[Admission] = None
        """max_connections, evictions and accept pauses; made by the first start."""
        self.worker: Any = None
        self.connections_received = 0
        self.sockets: Dict[int, Any] = {}
        """Pre-bound listening sockets by interface index (set by the arbiter, or held over a
        restart); each start uses a duplicate, so restart() and other processes keep them.
        An ``fd://N`` interface is adopted afresh by each start (a duplicate of N)."""
        self.draining = False
        """True while a graceful stop finishes in-flight requests: responses announce close."""
        self.shedding = False
        """True from the start of a graceful stop (``drain_grace`` included): ``health_path``
        answers 503."""
        self.observer: Optional[Observer] = None  # sd_notify, metrics_bind (not in a worker)
        self.started_at = 0.0
        self.in_worker_process = False
        """True in a process forked by the arbiter: serve here, never start another arbiter."""
        self._lock = threading.RLock()
        self._running = False
        self._stopped = threading.Event()
        self._stopped.set()
        self._arbiter: Any = None
        self._signals: Any = None
        """The handle_signals :class:`~rocket.process.signals.Signals` (None off the main
        thread or before the first start)."""
        self._profiler: Any = None
        self.accept_serving = 0
        """Requests being served on an accepting thread (counted as busy); a plain counter
        (under ``_accept_lock``), as admission reads it twice per accepted connection."""
        self._accept_lock = threading.Lock()
        self._accept_serve: Optional[Callable[[Any], bool]] = None
        self._serve_accepted: Optional[Callable[[Any], bool]] = None
        """``_accept_serve`` while the pool reads a busy lock (set at each tick)."""
        self._accept_serving_off_until = 0.0

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, background: bool = False) -> None:
        """Start serving; blocks until stop(), a signal or Ctrl-C unless ``background``.

        In process mode (see :attr:`multi_process`) an arbiter forks worker processes that
        each run this server; it needs the main thread, so ``background`` is refused.
        """
        if self.multi_process:
            self._run_processes(background)
            return
        with self._lock:
            if self._running:
                raise RuntimeError("this Rocket is already running")
            self._prepare()
            log.info("Starting %s", SERVER_SOFTWARE)
            if self.config.handle_signals:
                # Before binding: a SIGTERM from the moment sockets exist stops cleanly (the
                # handler's stop() waits for this lock, then sees the server running).
                self._signals = watch(self.stop, self.restart, self._quick_stop, self.terminate)
            self._start_profiler()
            try:
                self._observe()  # first: a metrics_bind in use fails the start, naming it
                self._start_components()
            except BaseException:
                unwatch(self._signals)
                self._stop_profiler(write=False)
                self._stop_observer()
                raise
            self._stopped.clear()
            self._running = True
            if self.banner:
                announce(self.interfaces)
            self.shedding = False
            if self.observer is not None:
                self.observer.ready()
                self.observer.start_pinging()
        if background:
            return
        try:
            while not self._stopped.wait(1.0):  # wakes to let Ctrl-C through
                pass
        except KeyboardInterrupt:
            log.info("Received keyboard interrupt")
            self._quick_stop()
        finally:
            self.stop()

    def stop(self, stoplogging: bool = False) -> None:
        """Stop gracefully; idempotent and callable from any thread. New connections are
        refused, idle ones closed, and requests in flight get ``graceful_timeout`` seconds
        to finish (their responses announce the close) before they are cut: it returns
        within ``graceful_timeout`` + ``STOP_TIMEOUT_S``. In process mode it asks the
        arbiter for a graceful stop."""
        self._stop(self.config.graceful_timeout, stoplogging)

    def _quick_stop(self) -> None:
        """SIGINT or Ctrl-C: requests in flight get at most ``STOP_TIMEOUT_S``."""
        self._stop(0.0)

    def _stop(self, graceful_s: float, stoplogging: bool = False) -> None:
        if self._arbiter is not None and not self.in_worker_process:
            self._arbiter.request_stop()
            return
        with self._lock:
            if self._running:
                self._running = False
                log.info("Stopping Server")
                if graceful_s:
                    self._drain_components(graceful_s)
                self._stop_observer()
                self._stop_components()
                if self.worker is not None:
                    self.worker.close()
                    self.worker = None
                self._stop_profiler()
                accesslog.flush()
                self._stopped.set()
        unwatch(self._signals)  # outside the lock: its thread may be waiting for it
        if stoplogging:
            logging.shutdown()

    def restart(self) -> None:
        """Stop and start again on the same addresses (ports chosen by the OS are kept).

        Graceful, as :meth:`stop`: requests in flight get ``graceful_timeout`` seconds. The
        listening sockets stay open meanwhile, so connections that arrive wait in the
        kernel's backlog and are served once the new listeners start."""
        with self._lock:
            if not self._running:
                return
            log.info("Restarting server")
            if self.observer is not None:
                self.observer.reloading()
            held = self._hold_sockets()
            try:
                self._drain_components(self.config.graceful_timeout)
                self._stop_components()
                self._start_components()
            finally:
                for index in held:
                    self.sockets.pop(index).close()
            for index in held:
                self.listeners[index].owns_socket = True
            if self.observer is not None:
                self.observer.ready()

    def terminate(self) -> None:
        """SIGTERM: with ``drain_grace``, keep serving that long while ``health_path`` answers
        503, then drain within ``graceful_timeout``; without it, :meth:`stop` (as ever)."""
        grace = float(getattr(self.config, "drain_grace", 0.0) or 0.0)
        if not grace or not self._running:
            self.stop()
            return
        log.info("SIGTERM: failing health checks for %gs (drain_grace), then draining", grace)
        self.shedding = True
        time.sleep(grace)
        self.drain(self.config.graceful_timeout)

    def _hold_sockets(self) -> List[int]:
        """Keep a duplicate of each listening socket this server bound (in :attr:`sockets`,
        which the next start uses) so that stopping its listener does not close the port."""
        held = []
        for index, listener in enumerate(self.listeners):
            if index not in self.sockets and listener.owns_socket:
                self.sockets[index] = listener.sock.dup()
                listener.owns_socket = False
                held.append(index)
        return held

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until the server is stopped; False when ``timeout`` passed first."""
        return self._stopped.wait(timeout)

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._running

    @property
    def multi_process(self) -> bool:
        """True when start() runs an arbiter and worker processes (never in one of them)."""
        return not self.in_worker_process and self._wants_processes()

    def __enter__(self) -> Any:
        self.start(background=True)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- components ---------------------------------------------------------------------------
    def _start_profiler(self) -> None:
        """With the ``profile`` setting, profile the threads started from now on."""
        path = self.config.profile
        if path is not None and self._profiler is None:
            from rocket.server.profile import start_profile

            self._profiler = start_profile(path, per_process=self.in_worker_process)

    def _stop_profiler(self, write: bool = True) -> None:
        profiler, self._profiler = self._profiler, None
        if profiler is not None:
            from rocket.server.profile import finish_profile

            finish_profile(profiler, part_log("Server"), write)

    def _start_components(self) -> None:
        c = self.config
        self.pool = ThreadPool(self._serve, min_threads=c.min_threads, max_threads=c.max_threads,
                               queue_size=c.queue_size, discard=_close, abort=_abort,
                               idle_timeout_s=c.thread_idle_timeout,
                               thread_factory=self.thread_factory)
        client_first = bool(getattr(self.worker, "client_speaks_first", False))
        self.monitor = Monitor(self.pool.submit, timeout=c.keep_alive,
                               header_timeout=c.header_timeout,
                               handshake_timeout=c.tls_handshake_timeout,
                               drain_time=c.close_drain_time, drain_gap=c.close_drain_timeout,
                               ready=self.worker.request_ready, answer=self._answer,
                               clients_speak_first=client_first, proxy_gate=self.proxy_gate,
                               serve_here=self._monitor_serve_here(), saturation=self.pool)
        self.monitor.crowd = self._monitor_crowd()
        self._serve_accepted = None
        self._accept_serve = self._accept_serve_here()  # once per start, not per tick
        self.pool.on_tick = self._tick
        defer_accept_s = DEFER_ACCEPT_S if client_first else 0
        admission = self._admission()
        listeners: List[Listener] = []
        try:
            for index, interface in enumerate(self.interfaces):
                sock = self.sockets.get(index)
                if sock is not None:
                    sock = sock.dup()
                elif interface.fd is not None:  # a duplicate of fd N, the listener's to close
                    from rocket.net.binding import adopt_fd

                    sock = adopt_fd(interface.fd)
                listeners.append(Listener(interface, self._submit_accepted,
                                          backlog=c.backlog,
                                          ciphers=c.ciphers, has_room=admission.has_room,
                                          sock=sock,
                                          make_room=admission.make_room,
                                          on_capacity_error=admission.out_of_descriptors,
                                          on_capacity_recovered=admission.recovered,
                                          defer_accept_s=defer_accept_s,
                                          send_timeout_s=c.body_timeout or 1e9,
                                          alpn=self._alpn()))
        except BaseException:
            for listener in listeners:
                listener.close()
            self.monitor.stop()
            raise
        self.listeners = listeners
        self.draining = False
        self.interfaces = [listener.interface for listener in listeners]
        self.pool.start()
        self.monitor.start()
        for listener in listeners:
            listener.start()
        self.started_at = time.time()
        log.info("Listening on sockets: %s",
                 ", ".join(listener.interface.describe() for listener in listeners))

    def _admission(self) -> Admission:
        """The admission policy, made once (its counters outlive restarts); each start raises
        the open-file limit, and ``max_connections`` 0 follows it."""
        c = self.config
        fd_limit = raise_fd_limit()
        limit = c.max_connections or default_max_connections(fd_limit, c.max_threads)
        if self.admission is None:
            self.admission = Admission(limit, self._open_connections, self._evictable,
                                       self._evict_idle, self._queue_has_room)
        self.admission.max_connections = limit
        return self.admission

    def _open_connections(self) -> int:
        return (len(self.monitor) + self.monitor.serving  # type: ignore[arg-type,union-attr]
                + self.accept_serving
                + self.pool.load - self.stream_jobs())  # type: ignore[union-attr]

    def _tick(self) -> None:
        """The pool manager's tick: the monitor's (:meth:`Monitor.tick`), then the accepting
        threads: a request served on one for ``ACCEPT_STALL_S`` makes a new thread accept,
        and whether the next new connections are served there."""
        self.monitor.tick()  # type: ignore[union-attr]
        serve_here = self._accept_serve
        if serve_here is None:
            return
        now = time.monotonic()
        for listener in self.listeners:
            since = listener.serving_since
            if not since or now - since < ACCEPT_STALL_S:
                continue
            self._serve_accepted = None  # before the new thread accepts (set again below)
            if listener.hand_over(since):
                self._accept_serving_off_until = now + ACCEPT_BACKOFF_S
                log.debug("a request served on the accepting thread ran %.0f ms; "
                          "a new thread accepts", (now - since) * 1000)
        busy = bool(getattr(self.pool, "cpu_busy", False))
        allowed = self._running and now >= self._accept_serving_off_until
        self._serve_accepted = serve_here if busy and allowed else None

    def _evictable(self) -> int:
        """1 when the monitor holds a connection that may be closed to make room, else 0."""
        return int(self.monitor.has_evictable())  # type: ignore[union-attr]

    def _evict_idle(self, count: int) -> int:
        return self.monitor.evict_idle(count)  # type: ignore[union-attr]

    def _queue_has_room(self) -> bool:
        return self.pool.has_room()  # type: ignore[union-attr]

    def _stop_components(self) -> None:
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for listener in self.listeners:
            listener.stop(timeout=2.0)
        if self.monitor is not None:
            self.monitor.stop()
        if self.pool is not None:
            self.pool.stop(timeout=max(0.5, deadline - time.monotonic()))
        self.listeners = []

    # -- provided by the subclass -------------------------------------------------------------
    def _prepare(self) -> None:
        """Run by each start(), under the lock, before the signals and the listeners."""

    def _wants_processes(self) -> bool:
        """True when the settings ask for worker processes."""
        return False

    def _submit_accepted(self, sock: Any, addr: Any, listener: Listener) -> None:
        """A client the listener's thread accepted: set up by ``_accept`` (which may hand it
        to the monitor) and queued for the pool when it is ready to be served, or served
        right here (``_serve_accepted``, see the module docstring), then parked idle."""
        conn = self._accept(sock, addr, listener)
        if conn is None:
            return
        serve_here = self._serve_accepted
        if serve_here is None:
            self.pool.submit(conn)  # type: ignore[union-attr]
            return
        since = listener.begin_serving()
        with self._accept_lock:
            self.accept_serving += 1
        park = False
        try:
            park = serve_here(conn)
        finally:
            with self._accept_lock:
                self.accept_serving -= 1
            listener.end_serving(since)
            if park:
                self.monitor.park(conn)  # type: ignore[union-attr]

    def _accept(self, sock: Any, addr: Any, listener: Listener) -> Any:
        """A new connection: return it for the pool, or None when it was handed elsewhere
        (the monitor) or closed."""
        raise NotImplementedError

    def _serve(self, conn: Any) -> None:
        raise NotImplementedError

    def _monitor_serve_here(self) -> Optional[Callable[[Any], bool]]:
        """The monitor's ``serve_here``: None, or how its thread serves a connection with a
        whole request while the pool is saturated (:mod:`rocket.net.monitor`)."""
        return None

    def _monitor_crowd(self) -> int:
        """The monitor's ``crowd``: how many ready connections make serving there pay."""
        return 0

    def _accept_serve_here(self) -> Optional[Callable[[Any], bool]]:
        """None, or how an accepting thread serves the first request of the connection it
        accepted, while the pool reads a busy lock (True: park the connection idle)."""
        return None

    def _alpn(self) -> Any:
        """The protocols TLS listeners offer through ALPN (none: no ALPN)."""
        return ()

    def _answer(self, conn: Any, reason: str) -> Optional[bytes]:
        """The monitor's ``answer``: bytes to send before closing ``conn`` for ``reason``."""
        return None


def _close(conn: Any) -> None:
    conn.close()


def _abort(conn: Any) -> None:
    conn.abort()
