"""The child side of multi-process mode: one forked worker process running a normal server.

How it works:
- The arbiter forks; :func:`child_main` runs in the child and never returns (``os._exit``).
- The child resets the arbiter's signal handlers (SIGTERM: graceful stop, SIGINT/SIGQUIT:
  quick stop, SIGHUP/SIGTTIN/SIGTTOU ignored: they are the arbiter's), imports the
  application (so a reload picks up new code), builds the single-process server on the
  inherited listening sockets with the ``build_server`` it was handed (the server side's:
  this package never imports ``rocket.server``) and starts it in the background.
- Its main thread then beats: every ``BEAT_S`` it writes its figures and a *progress* time to
  its shared :class:`~rocket.process.scoreboard.Slot`: the server's ``stalled_since``, the
  time since which the least advanced request in flight has neither finished nor moved a
  body byte while not waiting on its client (:mod:`rocket.workers.progress`). A long upload
  or download to a slow client is progress; one request stuck in a hung app with no I/O is
  not, however many others finish meanwhile: the arbiter kills the process once that
  request has been stuck for ``worker_timeout``.
- Workers sharing a listening socket take turns accepting (:class:`AcceptBalancer`), so a
  burst of new keep-alive connections is spread over the processes instead of landing on
  whichever one woke first.
- After ``max_requests`` (plus its jitter) the child marks itself RETIRING and keeps serving;
  the arbiter starts its replacement and, once that one serves, sends SIGTERM.
- A graceful stop is the server's ``drain()``: it closes the listeners (other processes keep
  accepting on the shared sockets), lets in-flight requests finish within ``graceful_timeout``
  with responses that announce ``Connection: close``, closes idle keep-alive connections;
  then the process exits 0.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any, Callable, Dict, List, Optional

from rocket.config.settings import SETTINGS_BY_NAME
from rocket.logs import part_log
from rocket.process.scoreboard import BOOTING, DRAINING, RETIRING, SERVING, Board, Slot
from rocket.process.signals import Signals
from rocket.process.supervision import exit_process

__all__ = ["BOOT_ERROR_EXIT", "BEAT_S", "ARBITER_SETTINGS", "ChildSpec", "child_main",
           "AcceptBalancer"]

BOOT_ERROR_EXIT = 3
"""Exit code of a child that could not import the app or start its server (as gunicorn's)."""

BEAT_S = 0.2
"""Heartbeat period: often enough for fresh info() figures, rare enough to cost nothing."""

log = part_log("Worker")

ARBITER_SETTINGS = frozenset(("workers", "reuse_port", "max_requests", "max_requests_jitter",
                              "graceful_timeout", "worker_timeout", "handle_signals",
                              "concurrency"))
"""Settings the arbiter acts on; a worker's own server gets the rest."""


class ChildSpec:
    """What a worker process needs: how to load the app, the settings and the sockets."""

    def __init__(self, load_app: Callable[[], Any], build_server: Callable[..., Any],
                 settings: Dict[str, Any], sockets: List[Any], slot: Slot, generation: int,
                 max_requests: int, arbiter_pid: int,
                 close_fds: Optional[List[Any]] = None) -> None:
        self.load_app = load_app
        self.build_server = build_server
        """``build_server(app, settings, sockets)``: the server this process runs."""
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


def child_main(spec: ChildSpec) -> None:
    """Run the worker process; never returns (exits with 0, 1 or ``BOOT_ERROR_EXIT``)."""
    code = 1
    try:
        code = _serve(spec)
    except BaseException:  # noqa: BLE001 - the last word of a process: log it and exit
        log.exception("worker process %d failed", os.getpid())
        code = 1
    finally:
        exit_process(code)


QUICK_STOP_SIGNALS = ("SIGINT", "SIGQUIT")
SHED_SIGNAL = "SIGUSR2"
"""From the arbiter: a graceful stop is coming (``drain_grace``); fail health checks now."""
IGNORED_SIGNALS = ("SIGHUP", "SIGTTIN", "SIGTTOU", "SIGUSR1", "SIGWINCH")
"""The arbiter's signals, which reach a worker too when sent to the process group."""


def _serve(spec: ChildSpec) -> int:
    signals = Signals()
    signals.install(("SIGTERM", SHED_SIGNAL) + QUICK_STOP_SIGNALS, ignore=IGNORED_SIGNALS,
                    default=("SIGCHLD",))
    shed = getattr(signal, SHED_SIGNAL, None)
    server: Any = None
    quick = {getattr(signal, name) for name in QUICK_STOP_SIGNALS if hasattr(signal, name)}
    stop: Optional[str] = None

    def stop_wanted() -> Optional[str]:
        """``graceful`` after SIGTERM, ``quick`` after SIGINT/SIGQUIT (it outranks)."""
        nonlocal stop
        for signum in signals.drain():
            if signum == shed:
                if server is not None:
                    server.shedding = True
                continue
            stop = "quick" if signum in quick else (stop or "graceful")
        return stop

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
        server = spec.build_server(app, spec.settings, sockets)
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
            listener.has_room = AcceptBalancer(board, index,
                                               lambda: server.figures()["connections"],
                                               listener.has_room).has_room
    booted = False
    state = SERVING
    graceful_timeout = float(spec.settings.get("graceful_timeout",
                                               SETTINGS_BY_NAME["graceful_timeout"].default))
    while stop_wanted() is None:
        now = time.monotonic()
        figures = server.figures()
        del figures["handled"]  # not published: the slot has no field for it
        progress_at = server.stalled_since(now)
        if state == SERVING and spec.max_requests and figures["requests"] >= spec.max_requests:
            state = RETIRING
            log.info("worker %d served %d requests (max_requests); asking to be replaced",
                     pid, figures["requests"])
        slot.write(state=state, heartbeat_at=now, progress_at=progress_at, **figures)
        _publish(slot, server)
        if board is not None and index is not None:
            board.set(index, figures["connections"])
        if not booted:
            booted = True
            log.info("Booted worker process %d (generation %d)", pid, spec.generation)
        if os.getppid() != spec.arbiter_pid:
            log.warning("worker %d: the arbiter is gone; stopping", pid)
            stop = "graceful"
            break
        signals.wait(BEAT_S)
    slot.write(state=DRAINING, heartbeat_at=time.monotonic())
    if stop == "quick":
        server.stop()
    else:
        server.drain(graceful_timeout, hurry=lambda: stop_wanted() == "quick", stop=False)
    _publish(slot, server)  # the last requests' counters, before the arbiter reaps us
    log.info("Worker process %d exiting", pid)
    return 0


def _publish(slot: Slot, server: Any) -> None:
    """Publish the server's metrics counters in the slot (when metrics are on)."""
    counters = server.metric_counters() if hasattr(server, "metric_counters") else None
    if counters is not None:
        slot.publish(counters)
