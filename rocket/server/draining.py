"""The counters and the graceful drain of a server (a base of
:class:`~rocket.server.lifecycle.Lifecycle`): :meth:`Draining.figures` is the one way to read
the counters (``info()``, a worker process's heartbeat and the metrics use it), and
:meth:`Draining.drain` stops accepting, lets in-flight requests finish within a timeout and
closes the idle connections.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any, Callable, Dict, Optional

from rocket.logs import part_log
from rocket.server.signals import quick_stop_pending

__all__ = ["Draining", "PARKED_GRACE_S"]

PARKED_GRACE_S = 0.5
"""How long a drain still serves parked connections that turn readable (a request sent just
as the drain began) before it closes the idle ones; bounded by the drain's timeout."""

drain_log = part_log("Worker")


class Draining:
    """figures(), info() and drain() over the server's pool, monitor and listeners."""

    pool: Any
    monitor: Any
    worker: Any
    admission: Any
    listeners: Any
    connections_received: int
    accept_serving: int
    in_worker_process: bool
    _arbiter: Any
    _signals: Any

    def figures(self) -> Dict[str, int]:
        """The counters, read once: requests, connections (open: idle + busy + queued), busy
        and threads (of the pool), queued, received (accepted), idle (parked in the monitor),
        parks (times a connection was parked), evicted (idle connections closed at the
        keep-alive timeout), handled (hand-offs the pool finished), max_connections,
        evictions (idle connections closed to make room), paused_ms (time not accepting) and
        streams (HTTP/2 streams open)."""
        pool = self.pool.stats() if self.pool is not None else {}
        monitor = self.monitor
        parked = len(monitor) if monitor is not None else 0
        busy, queued = pool.get("busy", 0), pool.get("queued", 0)
        busy += getattr(monitor, "serving", 0)  # requests served on the monitor's thread
        busy += self.accept_serving  # and on an accepting thread
        admission = self.admission
        return {"requests": int(getattr(self.worker, "requests", 0) or 0),
                "connections": parked + busy + queued - self.stream_jobs(), "busy": busy,
                "threads": pool.get("threads", 0), "queued": queued,
                "received": self.connections_received, "idle": parked,
                "parks": int(getattr(monitor, "parks", 0) or 0),
                "evicted": int(getattr(monitor, "closed_idle", 0) or 0),
                "handled": pool.get("handled", 0),
                "max_connections": admission.max_connections if admission else 0,
                "evictions": admission.evictions if admission else 0,
                "paused_ms": int(admission.paused_s * 1000) if admission else 0,
                "streams": self.open_streams()}

    def open_streams(self) -> int:
        """HTTP/2 streams open now (0 without HTTP/2)."""
        return 0

    def stream_jobs(self) -> int:
        """Pool items that are no connection: HTTP/2 stream jobs (their connection is counted
        once, in the monitor); 0 without HTTP/2."""
        return 0

    def stalled_since(self, now: float) -> float:
        """Since when the least advanced request in flight has made no progress (``now``:
        none is stalled); a worker process's heartbeat publishes it (see
        :mod:`rocket.workers.progress`)."""
        tracker = getattr(self.worker, "progress", None)
        return now if tracker is None else tracker.stalled_since(now)

    def info(self) -> Dict[str, Any]:
        """Live counters: addresses, timeouts, connections, requests, threads, queue depth;
        the same keys in every mode, summed over the processes in process mode (see
        :mod:`rocket.server.info`)."""
        from rocket.server.info import arbiter_info, process_info

        if self._arbiter is not None and not self.in_worker_process:
            return arbiter_info(self._arbiter)
        return process_info(self)

    def drain(self, timeout: float, hurry: Callable[[], bool] = lambda: False,
              clock: Callable[[], float] = time.monotonic, stop: bool = True) -> bool:
        """Graceful stop: stop accepting, let in-flight requests finish within ``timeout`` s,
        close the idle connections, then stop.

        ``hurry()`` turning True (a SIGINT meanwhile) cuts the wait short. Requests still
        running then have their connections shut down at once. Returns True when every
        request finished in time (False: the rest were cut). ``stop=False`` leaves the final
        ``stop()`` (which waits for threads stuck in the app) to a process about to exit anyway.
        """
        finished = self._drain_components(timeout, hurry, clock)
        if finished or stop:
            self._stop(0.0)
        return finished

    def _drain_components(self, timeout: float, hurry: Optional[Callable[[], bool]] = None,
                          clock: Callable[[], float] = time.monotonic) -> bool:
        """The drain of :meth:`drain`, leaving the stopped components in place."""
        if hurry is None:  # a SIGINT during a graceful stop or restart
            hurry = functools.partial(quick_stop_pending, self._signals)
        deadline = clock() + timeout
        self.shedding = self.draining = True
        for listener in list(self.listeners):
            listener.stop()  # other processes keep accepting on a shared socket
        monitor = self.monitor
        if monitor is not None:
            # A connection accepted in the listener's last moments may have been parked before
            # its first request arrived; closing it now would refuse a request that was on its
            # way. The monitor keeps handing readable connections over for a short grace (every
            # response now says Connection: close), then closes the idle rest cleanly.
            grace_end = min(deadline, clock() + PARKED_GRACE_S)
            while len(monitor) and clock() < grace_end and not hurry():
                time.sleep(0.01)
            monitor.close_waiting()  # lingering closes go on until the stop
        finished = True
        pool = self.pool
        # stop() called by the application itself: its own request is not waited for.
        own = pool is not None and threading.current_thread().name.startswith(pool.name + "-")
        while pool is not None:
            figures = self.figures()
            in_flight = figures["busy"] + figures["queued"] - own
            if in_flight <= 0:
                break
            if clock() >= deadline or hurry():
                finished = False
                drain_log.warning("%s with %d request(s) in flight; cutting them",
                                  "stopping now" if hurry()
                                  else f"graceful_timeout ({timeout:g}s) passed", in_flight)
                break
            time.sleep(0.01)
        if not finished:
            pool.stop(timeout=0.2)  # type: ignore[union-attr]  # shuts the connections
        while monitor is not None and len(monitor) and clock() < deadline and not hurry():
            time.sleep(0.01)  # lingering closes of the last answers
        return finished
