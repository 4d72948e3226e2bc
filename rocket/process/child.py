"""The child side of multi-process mode: one forked worker process running a normal server.

How it works:
- The arbiter forks; :func:`child_main` runs in the child and never returns (``os._exit``).
- The child resets the arbiter's signal handlers (SIGTERM: graceful stop, SIGINT/SIGQUIT:
  quick stop, SIGHUP/SIGTTIN/SIGTTOU ignored: they are the arbiter's), imports the
  application (so a reload picks up new code), builds the single-process server on the
  inherited listening sockets and starts it in the background.
- Its main thread then beats: every ``BEAT_S`` it writes its figures and a *progress* time to
  its shared :class:`~rocket.process.scoreboard.Slot`. Progress means "no request in flight, or a
  request started or finished since the last beat"; a process whose threads all sit in a hung
  app stops making progress, and the arbiter kills it after ``worker_timeout``.
- Workers sharing a listening socket take turns accepting (:class:`AcceptBalancer`), so a
  burst of new keep-alive connections is spread over the processes instead of landing on
  whichever one woke first.
- After ``max_requests`` (plus its jitter) the child marks itself RETIRING and keeps serving;
  the arbiter starts its replacement and, once that one serves, sends SIGTERM.
- A graceful stop closes the listeners (other processes keep accepting on the shared
  sockets), lets in-flight requests finish within ``graceful_timeout`` with responses that
  announce ``Connection: close``, closes idle keep-alive connections, and exits 0.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import sys
import time
from typing import Any, Callable, Dict, List, Optional

from rocket.config.settings import SETTINGS_BY_NAME
from rocket.process.scoreboard import BOOTING, DRAINING, RETIRING, SERVING, Board, Slot

__all__ = ["BOOT_ERROR_EXIT", "BEAT_S", "ChildSpec", "child_main", "build_server",
           "graceful_stop", "Progress", "AcceptBalancer"]

BOOT_ERROR_EXIT = 3
"""Exit code of a child that could not import the app or start its server (as gunicorn's)."""

BEAT_S = 0.2
"""Heartbeat period: often enough for fresh info() figures, rare enough to cost nothing."""

log = logging.getLogger("Rocket.Errors.Worker")

ARBITER_SETTINGS = frozenset(("workers", "reuse_port", "max_requests", "max_requests_jitter",
                              "graceful_timeout", "worker_timeout", "handle_signals",
                              "concurrency"))
"""Settings the arbiter acts on; a worker's own server gets the rest."""


class ChildSpec:
    """What a worker process needs: how to load the app, the settings and the sockets."""

    def __init__(self, load_app: Callable[[], Any], settings: Dict[str, Any],
                 sockets: List[Any], slot: Slot, generation: int, max_requests: int,
                 arbiter_pid: int, close_fds: Optional[List[Any]] = None) -> None:
        self.load_app = load_app
        self.settings = settings
        self.sockets = sockets
        self.slot = slot
        self.generation = generation
        self.max_requests = max_requests
        self.arbiter_pid = arbiter_pid
        self.close_fds = close_fds or []
        self.make_sockets: Optional[Callable[[], List[Any]]] = None
        """With reuse_port: binds this worker's own sockets (called in the child)."""
        self.board: Optional[Board] = None
        self.board_index: Optional[int] = None
        """Shared connection counts and this worker's entry (shared sockets only)."""
        self.build_server: Optional[Callable[..., Any]] = None
        """Builds the child's server like :func:`build_server` (the SocketServer's own)."""


def build_server(app: Any, settings: Dict[str, Any], sockets: List[Any]) -> Any:
    """A ``Server`` for ``app`` with ``settings`` (Config keys) on pre-bound ``sockets``."""
    from rocket.server.wsgi import Server

    kwargs = {name: value for name, value in settings.items() if name not in ARBITER_SETTINGS}
    server = Server(app, workers=int(settings.get("workers", 2)), **kwargs)
    server.sockets = dict(enumerate(sockets))
    server.in_worker_process = True  # serve here; workers > 1 only sets wsgi.multiprocess
    return server


class Progress:
    """Decides whether the server made progress since the last beat (see module docstring)."""

    def __init__(self, now: float) -> None:
        self.at = now
        self._last_requests = -1
        self._last_handled = -1

    def update(self, now: float, requests: int, handled: int, busy: int, queued: int) -> float:
        """Record one beat's counters; returns the time of the last progress."""
        if (busy == 0 and queued == 0) or requests != self._last_requests \
                or handled != self._last_handled:
            self.at = now
        self._last_requests = requests
        self._last_handled = handled
        return self.at


def server_figures(server: Any) -> Dict[str, int]:
    """requests, connections, busy, threads, queued, received, idle and handled of a server."""
    pool = server.pool.stats() if server.pool is not None else {}
    parked = len(server.monitor) if server.monitor is not None else 0
    busy, queued = pool.get("busy", 0), pool.get("queued", 0)
    return {"requests": int(getattr(server.worker, "requests", 0) or 0),
            "connections": parked + busy + queued, "busy": busy,
            "threads": pool.get("threads", 0), "queued": queued,
            "handled": pool.get("handled", 0),
            "received": int(getattr(server, "connections_received", 0) or 0), "idle": parked,
            "parks": int(getattr(server.monitor, "parks", 0) or 0)}


PARKED_GRACE_S = 0.5
"""How long a draining worker still serves parked connections that turn readable (a request
sent just as the drain began) before it closes the idle ones; bounded by graceful_timeout."""


def graceful_stop(server: Any, timeout: float, clock: Callable[[], float] = time.monotonic,
                  hurry: Callable[[], bool] = lambda: False, stop_server: bool = True) -> bool:
    """Stop accepting, let in-flight requests finish within ``timeout`` s, then stop.

    ``hurry()`` turning True (a SIGINT meanwhile) cuts the wait short. Requests still running
    then have their connections shut down at once. Returns True when every request finished
    in time (False: the rest were cut). ``stop_server=False`` leaves the final ``stop()``
    (which waits for threads stuck in the app) to a process about to exit anyway.
    """
    deadline = clock() + timeout
    server.draining = True
    for listener in list(server.listeners):
        listener.stop()  # other processes keep accepting on the shared socket
    monitor = server.monitor
    if monitor is not None:
        # A connection accepted in the listener's last moments may have been parked before
        # its first request arrived; closing it now would refuse a request that was on its
        # way. The monitor keeps handing readable connections over for a short grace (every
        # response now says Connection: close), then closes the idle rest cleanly.
        grace_end = min(deadline, clock() + PARKED_GRACE_S)
        while len(monitor) and clock() < grace_end and not hurry():
            time.sleep(0.01)
        monitor.stop()
    finished = True
    while server.pool is not None:
        stats = server.pool.stats()
        if stats["busy"] == 0 and stats["queued"] == 0:
            break
        if clock() >= deadline or hurry():
            finished = False
            log.warning("%s with %d request(s) in flight; cutting them",
                        "stopping now" if hurry() else f"graceful_timeout ({timeout:g}s) passed",
                        stats["busy"] + stats["queued"])
            break
        time.sleep(0.01)
    if not finished:
        server.pool.stop(timeout=0.2)  # shuts down the connections still being served
        if not stop_server:
            return False
    server.stop()
    return finished


class AcceptBalancer:
    """``has_room()`` for the listeners of a worker sharing its sockets with other workers.

    The kernel wakes every process polling a shared socket and the first to run takes the
    connection, so one process can take a whole burst. Before each accept this worker
    publishes its open-connection count on the shared :class:`~rocket.process.scoreboard.Board`; when
    it holds more than ``slack`` above the least loaded worker it steps back, but for at most
    ``max_defer_s``, so a slow or stuck sibling never stops it from accepting.
    """

    def __init__(self, board: Board, index: int, count: Callable[[], int],
                 has_room: Callable[[], bool] = lambda: True, slack: int = 1,
                 max_defer_s: float = 0.01, clock: Callable[[], float] = time.monotonic) -> None:
        self.board = board
        self.index = index
        self.count = count
        self.inner_has_room = has_room
        self.slack = slack
        self.max_defer_s = max_defer_s
        self.clock = clock
        self.deferred_since: Optional[float] = None

    def has_room(self) -> bool:
        """True when this worker should accept the next connection now."""
        if not self.inner_has_room():
            return False
        mine = self.count()
        self.board.set(self.index, mine)
        least = min((c for i, c in enumerate(self.board.counts()) if c >= 0 and i != self.index),
                    default=None)
        if least is None or mine <= least + self.slack:
            self.deferred_since = None
            return True
        now = self.clock()
        if self.deferred_since is None:
            self.deferred_since = now
        elif now - self.deferred_since >= self.max_defer_s:
            self.deferred_since = None
            return True
        return False


def open_connections(server: Any) -> int:
    """Connections this server holds: parked, being served, or queued for a thread."""
    pool = server.pool.stats() if server.pool is not None else {}
    parked = len(server.monitor) if server.monitor is not None else 0
    return parked + pool.get("busy", 0) + pool.get("queued", 0)


class _Signals:
    """Signal handlers that only record the request and wake the main loop."""

    def __init__(self) -> None:
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        self.stop: Optional[str] = None

    def install(self) -> None:
        for name in ("SIGHUP", "SIGTTIN", "SIGTTOU", "SIGUSR1", "SIGUSR2", "SIGWINCH"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_IGN)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, self._graceful)
        signal.signal(signal.SIGINT, self._quick)
        if hasattr(signal, "SIGQUIT"):
            signal.signal(signal.SIGQUIT, self._quick)

    def _graceful(self, signum: int, frame: Any) -> None:  # keeps an earlier "quick"
        self.stop = self.stop or "graceful"
        self._wake()

    def _quick(self, signum: int, frame: Any) -> None:
        self.stop = "quick"
        self._wake()

    def _wake(self) -> None:
        try:
            os.write(self.wake_w, b"!")
        except OSError:
            pass

    def wait(self, timeout: float) -> None:
        """Sleep up to ``timeout`` s or until a signal arrives."""
        try:
            ready, _, _ = select.select([self.wake_r], [], [], timeout)
        except InterruptedError:
            return
        if ready:
            os.read(self.wake_r, 512)


def child_main(spec: ChildSpec) -> None:
    """Run the worker process; never returns (exits with 0, 1 or ``BOOT_ERROR_EXIT``)."""
    code = 1
    try:
        code = _serve(spec)
    except BaseException:  # noqa: BLE001 - the last word of a process: log it and exit
        log.exception("worker process %d failed", os.getpid())
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _serve(spec: ChildSpec) -> int:
    signals = _Signals()
    signals.install()
    if hasattr(signal, "pthread_sigmask"):  # the arbiter blocked signals around fork()
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
    for obj in spec.close_fds:
        try:
            obj.close()
        except (OSError, ValueError):
            pass
    slot = spec.slot
    pid = os.getpid()
    now = time.monotonic()
    slot.write(pid=pid, state=BOOTING, heartbeat_at=now, progress_at=now)
    try:
        sockets = spec.make_sockets() if spec.make_sockets is not None else spec.sockets
        app = spec.load_app()
        server = (spec.build_server or build_server)(app, spec.settings, sockets)
        server.start(background=True)
    except BaseException as exc:  # noqa: BLE001 - reported to the arbiter by the exit code
        from rocket.appimport import AppImportError

        if isinstance(exc, AppImportError):
            log.error("worker %d cannot load the application: %s", pid, exc)
        else:
            log.exception("worker %d failed to start", pid)
        return BOOT_ERROR_EXIT
    board, index = spec.board, spec.board_index
    if board is not None and index is not None:
        for listener in server.listeners:
            listener.has_room = AcceptBalancer(board, index, lambda: open_connections(server),
                                               listener.has_room).has_room
    progress = Progress(time.monotonic())
    booted = False
    state = SERVING
    graceful_timeout = float(spec.settings.get("graceful_timeout",
                                               SETTINGS_BY_NAME["graceful_timeout"].default))
    while signals.stop is None:
        now = time.monotonic()
        figures = server_figures(server)
        handled = figures.pop("handled")
        progress_at = progress.update(now, figures["requests"], handled, figures["busy"],
                                      figures["queued"])
        if state == SERVING and spec.max_requests and figures["requests"] >= spec.max_requests:
            state = RETIRING
            log.info("worker %d served %d requests (max_requests); asking to be replaced",
                     pid, figures["requests"])
        slot.write(state=state, heartbeat_at=now, progress_at=progress_at, **figures)
        if board is not None and index is not None:
            board.set(index, figures["connections"])
        if not booted:
            booted = True
            log.info("Booted worker process %d (generation %d)", pid, spec.generation)
        if os.getppid() != spec.arbiter_pid:
            log.warning("worker %d: the arbiter is gone; stopping", pid)
            signals.stop = "graceful"
            break
        signals.wait(BEAT_S)
    slot.write(state=DRAINING, heartbeat_at=time.monotonic())
    if signals.stop == "quick":
        server.stop()
    else:
        graceful_stop(server, graceful_timeout, hurry=lambda: signals.stop == "quick",
                      stop_server=False)
    log.info("Worker process %d exiting", pid)
    return 0
