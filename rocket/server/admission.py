"""Admission: whether the listeners may accept now, and what gives way under overload.

How it works:
- Before each ``accept()`` a listener asks :meth:`Admission.has_room`: yes while there is
  room in the pool's queue and either fewer than ``max_connections`` connections are open
  (parked + on a thread + queued, counters read in O(1)) or one of them may be evicted (idle,
  a lingering close, or silent since accept; a started head, a handshake, an HTTP/2 session
  and a connection being served may not). Otherwise the listener stops accepting and the
  kernel's listen backlog holds new connects (in process mode another worker may take them)
  until a connection closes or parks.
- For each connection accepted, :meth:`Admission.make_room` closes the longest-idle parked
  keep-alive connection when ``max_connections`` are open
  (:meth:`rocket.net.monitor.Monitor.evict_idle`), so room is only made for a client that is
  really there. A connection a worker holds is never closed. When none could be closed (they
  all got busy while the listener waited in ``accept()``), the new connection is closed
  instead: ``max_connections`` is never passed (``refused`` counts these).
- ``accept()`` failing with ``EMFILE`` (descriptors used elsewhere in the process) closes up to
  ``EMFILE_EVICT`` idle connections and accepts again at once; with none idle the listener
  backs off, and the pause lasts until an accept succeeds.
- The start of a pause and the recovery are each logged once (rate-limited like every
  repeated line, :class:`rocket.logs.RateLimitedLog`); ``evictions`` and ``paused_s`` count.

``max_connections`` 0 means: the open-file limit (``RLIMIT_NOFILE``, whose soft limit
:func:`raise_fd_limit` raises to the hard one at start) minus a reserve.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional

from rocket.logs import RateLimitedLog, errors_log

try:
    import resource
except ImportError:  # not on Windows
    resource = None  # type: ignore[assignment]

__all__ = ["Admission", "FD_RESERVE", "EMFILE_EVICT", "raise_fd_limit",
           "default_max_connections"]

log = errors_log("Admission")

FD_RESERVE = 64
"""Descriptors kept for the process itself (standard streams, log files, listening sockets,
the monitor's poller and wake-up pair, files the app opens at import), on top of one per
worker thread (a file being sent, an upstream socket)."""

EMFILE_EVICT = 16
"""Idle connections closed on ``EMFILE``: room for the accept and for the app's own files."""

NO_FD_LIMIT = 1 << 20
"""What an unlimited ``RLIMIT_NOFILE`` means: Linux's default ``fs.nr_open``."""


def raise_fd_limit() -> int:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard limit where allowed; returns the soft
    limit now in force (``NO_FD_LIMIT`` when unlimited or unknown)."""
    if resource is None:
        return NO_FD_LIMIT
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return NO_FD_LIMIT
    wanted = NO_FD_LIMIT if hard == resource.RLIM_INFINITY else hard
    if wanted > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):  # not allowed here (or above fs.nr_open): keep it
            pass
    return int(soft)


def default_max_connections(fd_limit: int, max_threads: int) -> int:
    """``fd_limit`` minus ``FD_RESERVE`` and one descriptor per worker thread; at least half
    of ``fd_limit``."""
    return max(fd_limit // 2, fd_limit - FD_RESERVE - max_threads)


class Admission:
    """The listeners' ``has_room``, ``make_room`` and ``EMFILE`` policy, shared by every
    listener.

    ``open_count()`` is the number of open connections, ``evictable()`` is not 0 when one of
    them may be evicted, ``evict(n)`` closes up to ``n`` idle ones and returns how many,
    ``queue_has_room()`` is the pool's bound on waiting work.
    """

    def __init__(self, max_connections: int, open_count: Callable[[], int],
                 evictable: Callable[[], int], evict: Callable[[int], int],
                 queue_has_room: Callable[[], bool],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_connections = max_connections
        self.open_count = open_count
        self.evictable = evictable
        self.evict = evict
        self.queue_has_room = queue_has_room
        self.clock = clock
        self.evictions = 0
        """Idle connections closed to make room."""
        self.refused = 0
        """Connections closed at once after accept(): at the limit, none could be evicted."""
        self._refuse_log = RateLimitedLog(log, clock=clock)
        self._spare = 0  # room has_room() found last, for the make_room() after its accept()
        self._paused_total_s = 0.0
        self._paused_at: Optional[float] = None
        self._paused_by_emfile = False
        self._lock = threading.Lock()
        self._pause_log = RateLimitedLog(log, clock=clock)
        self._resume_log = RateLimitedLog(log, clock=clock)

    @property
    def paused_s(self) -> float:
        """Seconds the listeners spent not accepting, the current pause included."""
        paused_at = self._paused_at
        ongoing = self.clock() - paused_at if paused_at is not None else 0.0
        return self._paused_total_s + ongoing

    @property
    def paused(self) -> bool:
        """True while the listeners do not accept."""
        return self._paused_at is not None

    def has_room(self) -> bool:
        """May a listener accept now? At the limit only when an idle connection can go."""
        if not self.queue_has_room():
            return self._pause("the work queue is full (queue_size)")
        spare = self.max_connections - self.open_count()
        if spare <= 0 and not self.evictable():
            return self._pause(f"max_connections ({self.max_connections}) reached and no "
                               "connection is idle")
        self._spare = spare
        if self._paused_at is not None and not self._paused_by_emfile:
            self._resume()
        return True

    def make_room(self) -> bool:
        """A connection was just accepted: at the limit, close the longest-idle one. False
        when none could go: the listener then closes the new one.

        Right after :meth:`has_room` found room beyond this one connection, no count is
        taken again: only one non-blocking ``accept()`` came between (connections made
        meanwhile by other listeners' threads were never counted before they are passed on,
        with or without a count here); the count costs more than the rest of the check."""
        spare = self._spare
        self._spare = 0  # used once: a make_room() without has_room() before it counts
        if spare > 1 or self.open_count() < self.max_connections or self._evicted(1):
            return True
        with self._lock:
            self.refused += 1
        self._refuse_log.warning("max_connections (%d) reached and no connection is idle: a "
                                 "new connection was closed", self.max_connections)
        return False

    def out_of_descriptors(self, exc: OSError) -> bool:
        """``accept()`` failed with ``exc`` (EMFILE...): True when idle connections were
        closed, so accepting again at once may succeed; else the pause begins."""
        if self._evicted(EMFILE_EVICT):
            return True
        self._pause(f"out of descriptors ({exc.strerror or exc}) and no connection is idle",
                    by_emfile=True)
        return False

    def recovered(self) -> None:
        """An accept succeeded after a capacity error: the pause it began ends."""
        if self._paused_at is not None:
            self._resume()

    def _evicted(self, count: int) -> int:
        evicted = self.evict(count)
        if evicted:
            with self._lock:
                self.evictions += evicted
        return evicted

    def _pause(self, reason: str, by_emfile: bool = False) -> bool:
        with self._lock:
            if self._paused_at is not None:
                return False
            self._paused_at = self.clock()
            self._paused_by_emfile = by_emfile
        self._pause_log.warning("not accepting new connections: %s; %d open", reason,
                                self.open_count())
        return False

    def _resume(self) -> None:
        with self._lock:
            if self._paused_at is None:
                return
            paused_for = self.clock() - self._paused_at
            self._paused_total_s += paused_for
            self._paused_at = None
            self._paused_by_emfile = False
        self._resume_log.warning("accepting new connections again after %.2fs", paused_for)
