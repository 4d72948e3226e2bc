"""What the outside sees of a running server: systemd notifications and the metrics listener.

One :class:`Observer` lives in the process that systemd and Prometheus talk to: the
single-process server itself, or the arbiter (never a worker process). The arbiter adds
:class:`WorkerTotals`, which sums the counters its worker processes publish in their
scoreboard slots and keeps those of workers that exited, so the counters never go back when
a worker is replaced.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Dict, List, Optional

from rocket.config.settings import ConfigError
from rocket.metrics.exposition import MetricsServer, Sample
from rocket.metrics.recorder import SIZE
from rocket.process.sdnotify import Notifier

__all__ = ["Observer", "WorkerTotals", "GAUGE_FIGURES"]

log = logging.getLogger("Rocket")

GAUGE_FIGURES = ("connections", "busy", "threads", "queued", "idle")
"""Figures that describe the present (summed over live workers only)."""
_COUNTER_FIGURES = ("received", "evicted")


class Observer:
    """sd_notify messages, the watchdog and the ``metrics_bind`` listener of one process."""

    def __init__(self, config: Any = None, notifier: Optional[Notifier] = None,
                 totals: Optional[WorkerTotals] = None) -> None:
        self.notifier = notifier if notifier is not None else Notifier()
        self.metrics_bind = getattr(config, "metrics_bind", None)
        if getattr(getattr(config, "forwarded_allow_ips", None), "everyone", False):
            log.warning("forwarded_allow_ips is '*': every peer may set the client address and "
                        "scheme; safe only when nothing but the proxy can reach this server")
        self.totals = totals
        """The arbiter's :class:`WorkerTotals` (None in a single-process server)."""
        self.metrics: Optional[MetricsServer] = None
        self.ready_sent = False
        self._generation = 1
        self._reloading = False
        self._next_ping = 0.0
        self._stop_pinging = threading.Event()
        self._pinger: Optional[threading.Thread] = None

    # -- metrics ------------------------------------------------------------------------------
    def start_metrics(self, collect: Callable[[], Sample]) -> None:
        """Serve ``/metrics`` on ``metrics_bind`` (when set) with ``collect()`` per scrape."""
        bind = self.metrics_bind
        if bind is not None and self.metrics is None:
            try:
                self.metrics = MetricsServer(bind.host, bind.port, collect)
            except OSError as exc:
                raise ConfigError(f"metrics_bind {bind.describe()}: cannot listen: "
                                  f"{exc.strerror or exc}") from None
            self.metrics.start()

    # -- systemd ------------------------------------------------------------------------------
    def ready(self) -> None:
        """``READY=1`` (after a start or a finished reload)."""
        self.ready_sent = True
        self._reloading = False
        self.notifier.ready()

    def reloading(self) -> None:
        """``RELOADING=1``; :meth:`ready` says when it is done."""
        self._reloading = True
        self.notifier.reloading()

    def stopping(self) -> None:
        """``STOPPING=1``."""
        self.notifier.stopping()

    def ping(self, now: float) -> None:
        """``WATCHDOG=1`` when the next one is due (call at least every half interval)."""
        interval = self.notifier.watchdog_s
        if interval is not None and now >= self._next_ping:
            self._next_ping = now + interval
            self.notifier.watchdog()

    def start_pinging(self) -> None:
        """Ping the watchdog from a daemon thread (a single-process server has no main loop)."""
        interval = self.notifier.watchdog_s
        if interval is None or self._pinger is not None:
            return
        self._stop_pinging.clear()

        def run() -> None:
            while not self._stop_pinging.wait(interval):
                self.notifier.watchdog()

        self.notifier.watchdog()
        self._pinger = threading.Thread(target=run, name="rocket-watchdog", daemon=True)
        self._pinger.start()

    def tick(self, arbiter: Any) -> None:
        """The arbiter's per-loop call: READY once a worker serves, RELOADING when a new
        generation starts (SIGHUP), READY again when only that generation is left."""
        if not self.ready_sent and arbiter.ever_served:
            self.ready()
        generation = arbiter.generation
        if generation > self._generation:
            self.reloading()
        elif generation < self._generation:
            self.ready()  # the reload was abandoned; the previous workers serve
        self._generation = generation
        if self._reloading and self.ready_sent and arbiter.workers and all(
                w.generation == generation and w.serving_since is not None
                for w in arbiter.workers.values()):
            self.ready()
        self.ping(time.monotonic())

    def close(self) -> None:
        """Stop the listener and the watchdog thread."""
        self._stop_pinging.set()
        if self._pinger is not None:
            self._pinger.join(1.0)
            self._pinger = None
        if self.metrics is not None:
            self.metrics.stop()
            self.metrics = None
        self.notifier.close()


class WorkerTotals:
    """The arbiter's sums: live workers' published counters plus those of exited ones.

    The arbiter calls :meth:`spawned` and :meth:`exited` from its main loop while scrapes
    call :meth:`sample` from the listener's thread; one lock keeps a worker from being counted
    twice or not at all while it moves from live to exited.
    """

    def __init__(self) -> None:
        self.retired: List[float] = [0.0] * SIZE
        self.retired_figures: Dict[str, float] = dict.fromkeys(_COUNTER_FIGURES, 0.0)
        self.restarts: Dict[str, int] = {}
        self._live: Dict[int, Any] = {}
        self._lock = threading.Lock()

    def spawned(self, worker: Any) -> None:
        """Count ``worker`` (a WorkerProcess with a scoreboard ``slot``) from now on."""
        with self._lock:
            self._live[worker.pid] = worker

    def exited(self, worker: Any, reason: Optional[str]) -> None:
        """Keep what an exited worker counted, then close its slot; count its restart under
        ``reason`` (None: the arbiter is stopping, nothing is restarted)."""
        with self._lock:
            self._live.pop(worker.pid, None)
            self.retired = _add(self.retired, worker.slot.published())
            record = worker.slot.read()
            for name in _COUNTER_FIGURES:
                self.retired_figures[name] += record.get(name, 0)
            if reason:
                self.restarts[reason] = self.restarts.get(reason, 0) + 1
            worker.slot.close()

    def sample(self) -> Sample:
        """Counters and figures summed over the live workers and the exited ones."""
        with self._lock:
            counters = list(self.retired)
            figures = dict(self.retired_figures)
            figures.update(dict.fromkeys(GAUGE_FIGURES, 0.0))
            for worker in self._live.values():
                counters = _add(counters, worker.slot.published())
                record = worker.slot.read()
                for name in GAUGE_FIGURES + _COUNTER_FIGURES:
                    figures[name] += record.get(name, 0)
            return Sample(counters, figures, dict(self.restarts), len(self._live))


def _add(total: List[float], values: List[float]) -> List[float]:
    if len(values) < SIZE:
        return total
    return [a + b for a, b in zip(total, values)]
