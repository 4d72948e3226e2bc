"""The arbiter: supervises ``workers`` processes that each run the single-process server.

How it works:
- It binds every listening socket once, before forking (or adopts systemd's ``LISTEN_FDS``
  and ``fd://N`` sockets, never re-binding them). Workers inherit the sockets and share one
  accept queue per address, so a worker that stops accepting loses no queued connection.
  With ``reuse_port`` each worker binds its own ``SO_REUSEPORT`` socket instead (the arbiter
  keeps the port reserved by a bound, non-listening socket).
- Each worker writes a heartbeat, a progress time and its figures in a shared-memory
  :class:`~rocket.process.scoreboard.Slot`; the arbiter reads them for ``info()`` and SIGKILLs
  a worker one of whose requests has made no progress (not finished, no body byte moved, not
  waiting on its client) for ``worker_timeout`` seconds, however many others finish (a long
  transfer is progress; :mod:`rocket.workers.progress`). A worker whose heartbeat stops
  altogether stops publishing progress too, and is killed the same way.
- Signal handlers only enqueue; the main loop acts, every ``TICK_S`` or when woken:
  SIGTERM graceful stop, SIGINT/SIGQUIT quick stop, SIGHUP zero-downtime reload (a new
  generation boots, re-importing the app; the old one gets SIGTERM once the new one serves),
  SIGTTIN/SIGTTOU one worker more/less, SIGUSR1 logs ``info()``.
- One rule keeps the pool right: fewer *fresh* workers (current generation, not retiring,
  not stopping) than wanted -> fork more (after a backoff when they keep crashing); enough
  fresh ones serving -> SIGTERM the stale ones (older generation, or retiring after
  ``max_requests``). Reloads, retirements and replacements are thus all the same move.
- A worker that cannot boot (exit code 3) stops the arbiter when nothing ever served; during
  a reload the reload is abandoned and the old workers keep serving.
- Its :class:`~rocket.process.observer.Observer` notifies systemd and serves the summed metrics.
"""

from __future__ import annotations

import errno
import os
import random
import signal
import socket
import time
from typing import Any, Callable, Dict, List, Optional

from rocket.config.settings import Config, ConfigError, Interface
from rocket.logs import part_log
from rocket.net.binding import bind_interfaces, listen_fds, reuse_port_sockets
from rocket.process.child import BOOT_ERROR_EXIT, ChildSpec, child_main
from rocket.process.observer import Observer, WorkerTotals
from rocket.process.scoreboard import RETIRING, SERVING, STATE_NAMES, Board, Slot
from rocket.process.signals import Signals
from rocket.process.stopping import KILL_MARGIN_S, begin_stop, stop_workers
from rocket.process.supervision import (
    SIGNALS,
    Backoff,
    FdCloser,
    WorkerProcess,
    block_signals,
    describe_status,
    fork_supported,
    max_requests_for,
    restore_mask,
    wants_arbiter,
)

__all__ = ["Arbiter", "Backoff", "wants_arbiter", "describe_status", "max_requests_for",
           "fork_supported", "TICK_S"]

log = part_log("Arbiter")

TICK_S = 0.1
"""Main-loop period: bounds how late a heartbeat, a deadline or a respawn is noticed."""

STABLE_S = 5.0
"""A worker serving this long after the last crash ends a crash loop (backoff resets)."""


class Arbiter:
    """Runs ``settings['workers']`` processes serving ``load_app()`` with ``build_server``
    (see :mod:`rocket.process.launch`); ``describe(arbiter)`` shapes :meth:`info`."""

    def __init__(self, load_app: Callable[[], Any], settings: Dict[str, Any],
                 build_server: Callable[..., Any],
                 describe: Callable[[Arbiter], Dict[str, Any]],
                 clock: Callable[[], float] = time.monotonic,
                 rng: Optional[random.Random] = None) -> None:
        if not fork_supported():
            raise ConfigError(f"workers > 1 needs os.fork(), which this platform "
                              f"({os.name}) does not have; use workers=1")
        self.config: Any = Config(**settings)
        self.settings = dict(settings)
        self.load_app = load_app
        self.build_server = build_server
        self.describe = describe
        self.started_at = time.time()
        self.clock = clock
        self.rng = rng or random.Random()
        self.target = self.config.workers
        self.generation = self._last_generation = 1
        self.workers: Dict[int, WorkerProcess] = {}
        self.sockets: List[socket.socket] = []
        self.interfaces: List[Interface] = []
        self.reuse_port = bool(self.config.reuse_port)
        self.backoff = Backoff()
        self.board = Board()
        self.signals: Optional[Signals] = None
        self.ever_served = False
        self.stopping: Optional[str] = None
        self.exit_code = 0
        self.pid = os.getpid()
        self._unix_paths: List[str] = []
        self.observer = Observer(self.config, totals=WorkerTotals())

    # -- sockets ---------------------------------------------------------------------------
    def bind(self) -> None:
        """Bind or adopt every listening socket (systemd's take the place of ``bind``)."""
        adopted = listen_fds()
        if adopted:
            self.sockets = adopted
            self.interfaces = [Interface("", 0, fd=s.fileno()) for s in adopted]
            log.info("Adopted %d socket(s) from systemd (LISTEN_FDS)", len(adopted))
        else:
            self.sockets, self.interfaces, self._unix_paths = bind_interfaces(
                self.config.bind, self.config.backlog, self.reuse_port)
        self.settings["bind"] = list(self.interfaces)

    # -- processes -------------------------------------------------------------------------
    def spawn(self) -> Optional[WorkerProcess]:
        """Fork one worker of the current generation; None when fork failed."""
        slot = Slot(self.clock)
        budget = max_requests_for(self.config.max_requests, self.config.max_requests_jitter,
                                  self.rng)
        others: List[Any] = [w.slot for w in self.workers.values()]
        if self.signals is not None:
            others += [FdCloser(fd) for fd in self.signals.fds]
        spec = ChildSpec(self.load_app, self.build_server, self.settings, self.sockets, slot,
                         self.generation, budget, self.pid, close_fds=others)
        if self.reuse_port:
            spec.make_sockets = lambda: reuse_port_sockets(self.interfaces, self.sockets,
                                                           self.config.backlog)
        else:
            spec.board, spec.board_index = self.board, self.board.claim()
        # Signals stay blocked across fork() so that none reaches the child before it has
        # replaced the arbiter's handlers with its own (it unblocks them then).
        blocked = block_signals()
        try:
            pid = os.fork()
        except OSError as exc:
            restore_mask(blocked)
            slot.close()
            if spec.board_index is not None:
                self.board.set(spec.board_index, -1)
            log.error("cannot fork a worker: %s", exc)
            self.backoff.failed(self.clock())
            return None
        if pid == 0:
            child_main(spec)  # never returns
        restore_mask(blocked)
        worker = WorkerProcess(pid, slot, self.generation, self.clock())
        worker.board_index = spec.board_index
        self.workers[pid] = worker
        self.observer.totals.spawned(worker)
        return worker

    def reap(self) -> None:
        """Collect every exited child and log how it ended."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            except InterruptedError:
                continue
            if pid == 0:
                return
            worker = self.workers.pop(pid, None)
            if worker is None:
                continue
            self._exited(worker, status)
            self.observer.totals.exited(worker, None if self.stopping else worker.exit_reason)
            if worker.board_index is not None:
                self.board.set(worker.board_index, -1)

    def _exited(self, worker: WorkerProcess, status: int) -> None:
        now = self.clock()
        how = describe_status(status)
        booted = worker.serving_since is not None
        if worker.killed is not None:
            log.error("Worker %d %s (%s)", worker.pid, how, worker.killed)
            self.backoff.failed(now)
        elif worker.term_at is not None or self.stopping:
            log.info("Worker %d %s", worker.pid, how)
        elif os.WIFEXITED(status) and os.WEXITSTATUS(status) == BOOT_ERROR_EXIT and not booted:
            worker.exit_reason = "boot_error"
            self._boot_failed(worker, how)
        else:
            worker.exit_reason = "crash"
            delay = self.backoff.failed(now)
            extra = (f"; respawning in {delay:.1f}s ({self.backoff.failures} deaths in a row)"
                     if delay else "; respawning")
            log.error("Worker %d died unexpectedly: %s after %.1fs%s", worker.pid, how,
                      now - worker.spawned_at, extra)

    def _boot_failed(self, worker: WorkerProcess, how: str) -> None:
        now = self.clock()
        if not self.ever_served:
            log.error("Worker %d failed to boot (%s); stopping: fix the error above",
                      worker.pid, how)
            self.exit_code = BOOT_ERROR_EXIT
            self.stopping = self.stopping or "quick"
            return
        if worker.generation != self.generation:
            log.error("Worker %d of an abandoned reload failed to boot (%s)", worker.pid, how)
            return
        older = [w for w in self.workers.values()
                 if w.generation < worker.generation and w.term_at is None]
        if older:
            self.generation = max(w.generation for w in older)
            log.error("Reload failed: worker %d of the new generation could not boot (%s); "
                      "the previous workers keep serving", worker.pid, how)
            return
        delay = self.backoff.failed(now)
        log.error("Worker %d failed to boot (%s); retrying in %.1fs", worker.pid, how, delay)

    def maintain(self) -> None:
        """Fork, retire, stop and kill so the pool matches the target (see module doc)."""
        now = self.clock()
        timeout = self.config.worker_timeout
        live = [w for w in self.workers.values() if w.killed is None]
        records = {w.pid: w.slot.read() for w in live}
        for w in live:
            if w.serving_since is None and records[w.pid]["state"] >= SERVING:
                w.serving_since = now
                self.ever_served = True
            if w.term_at is not None:
                if now - w.term_at > self.config.graceful_timeout + KILL_MARGIN_S:
                    self.kill(w, f"still running {self.config.graceful_timeout:g}s "
                                  "(graceful_timeout) after SIGTERM")
                continue
            last = max(records[w.pid]["progress_at"], w.spawned_at)
            if timeout and now - last > timeout:
                self.kill(w, f"no progress for {now - last:.1f}s > worker_timeout="
                              f"{timeout:g}s: a request stuck with no I/O (a hung app?)")
        live = [w for w in live if w.killed is None and w.term_at is None]
        fresh = [w for w in live if w.generation == self.generation
                 and records[w.pid]["state"] != RETIRING]
        stale = [w for w in live if w not in fresh]
        serving = [w for w in fresh if w.serving_since is not None]
        if self.backoff.failures and any(
                now - w.serving_since >= STABLE_S and w.spawned_at >= self.backoff.last_failure_at
                for w in serving if w.serving_since is not None):
            self.backoff.reset()
        if len(fresh) > self.target:
            for w in sorted(fresh, key=lambda w: w.spawned_at)[:len(fresh) - self.target]:
                self._terminate(w, "fewer workers wanted (SIGTTOU)", "scale_down")
        elif len(fresh) < self.target and self.backoff.ready(now) and not self.stopping:
            for _ in range(self.target - len(fresh)):
                if self.spawn() is None:
                    break
        if stale and len(serving) >= self.target:
            for w in stale:
                self._terminate(w, *(("retiring after max_requests", "max_requests")
                                     if w.generation == self.generation
                                     else ("replaced by a newer generation", "reload")))

    def _terminate(self, worker: WorkerProcess, reason: str, label: str = "replaced") -> None:
        log.info("Stopping worker %d gracefully: %s", worker.pid, reason)
        worker.exit_reason = label
        worker.term_at = self.clock()
        worker.send(signal.SIGTERM)

    def kill(self, worker: WorkerProcess, reason: str) -> None:
        """SIGKILL ``worker`` now, logging ``reason`` (reaping then counts it a failure)."""
        log.error("Killing worker %d with SIGKILL: %s", worker.pid, reason)
        worker.killed = reason
        worker.exit_reason = worker.exit_reason or "timeout"
        worker.send(signal.SIGKILL)

    # -- signals ---------------------------------------------------------------------------
    def request_stop(self) -> None:
        """From any thread: stop gracefully (unless a stop is under way) and wake the loop."""
        self.stopping = self.stopping or "graceful"
        if self.signals is not None:
            self.signals.wake()

    def on_signal(self, signum: int) -> None:
        """Act on one queued signal (called from the main loop only)."""
        try:
            name = signal.Signals(signum).name
        except ValueError:
            return
        if name == "SIGCHLD":
            return
        if name == "SIGTERM":
            log.info("SIGTERM: stopping gracefully")
            self.stopping = self.stopping or "graceful"
        elif name in ("SIGINT", "SIGQUIT"):
            log.info("%s: stopping now", name)
            self.stopping = "quick"
        elif name == "SIGHUP":
            self._last_generation += 1
            self.generation = self._last_generation
            log.info("SIGHUP: reloading; starting %d worker(s) of generation %d",
                     self.target, self.generation)
        elif name == "SIGTTIN":
            self.target += 1
            log.info("SIGTTIN: %d worker(s) wanted", self.target)
        elif name == "SIGTTOU":
            self.target = max(1, self.target - 1)
            log.info("SIGTTOU: %d worker(s) wanted", self.target)
        elif name == "SIGUSR1":
            log.info("info: %r", self.info())

    # -- lifecycle -------------------------------------------------------------------------
    def run(self) -> int:
        """Bind, fork, supervise until a stop signal; returns the process exit code."""
        if not self.sockets:
            self.bind()
        self.signals = Signals()
        self.signals.install(SIGNALS)
        log.info("Arbiter %d listening on %s with %d worker(s)%s", self.pid,
                 ", ".join(i.describe() for i in self.interfaces), self.target,
                 " (SO_REUSEPORT)" if self.reuse_port else "")
        try:
            self.observer.start_metrics(self.observer.totals.sample)
            while not self.stopping:
                self.maintain()
                self.signals.wait(TICK_S)
                for signum in self.signals.drain():
                    self.on_signal(signum)
                self.reap()
                self.observer.tick(self)
            begin_stop(self, TICK_S)
            stop_workers(self, self.stopping, TICK_S)
        finally:
            self.signals.restore()
            self.signals.close()
            self.observer.close()
            self.close()
        return self.exit_code

    def close(self) -> None:
        """Close the listening sockets and remove unix socket files the arbiter created."""
        for sock in self.sockets:
            try:
                sock.close()
            except OSError:
                pass
        self.sockets = []
        self.board.close()
        for path in self._unix_paths:
            try:
                os.unlink(path)
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    log.warning("cannot remove %s: %s", path, exc)
        self._unix_paths = []

    # -- stats -----------------------------------------------------------------------------
    def info(self) -> Dict[str, Any]:
        """Every server's ``info()`` shape (:mod:`rocket.server.info`), summed over workers."""
        return self.describe(self)

    def worker_records(self) -> List[Dict[str, Any]]:
        """One entry per worker process, oldest first: the figures its heartbeat last wrote with
        its ``pid``, ``generation``, ``state``, ``uptime_s`` and ``heartbeat_age_s``."""
        now = self.clock()
        records = []
        for w in sorted(self.workers.values(), key=lambda w: w.spawned_at):
            r: Dict[str, Any] = dict(w.slot.read())
            state = STATE_NAMES.get(int(r["state"]), "?")
            r.update(pid=w.pid, generation=w.generation,
                     state="stopping" if w.term_at is not None else state,
                     uptime_s=round(now - w.spawned_at, 3),
                     heartbeat_age_s=round(max(0.0, now - r["heartbeat_at"]), 3))
            records.append(r)
        return records
