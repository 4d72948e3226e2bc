"""Per-request counters in one flat list of numbers per pool thread.

Each thread adds to its own list, so recording takes no lock and no two threads ever write
the same number; :meth:`Recorder.snapshot` sums the lists (a thread that ended leaves its
totals behind). The layout (:data:`SIZE` numbers) is the same in every process, so a worker
process can publish its snapshot as it is and the arbiter can add them up.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from typing import Dict, List, Tuple

__all__ = ["Recorder", "METHODS", "STATUS_CLASSES", "BUCKETS_S", "REQUESTS", "HISTOGRAM",
           "DURATION_SUM", "BYTES_IN", "BYTES_OUT", "STARTED", "SIZE", "method_index",
           "status_index", "bucket_index", "record"]

METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other")
"""The ``method`` label's values; any other method counts as ``other`` (bounded label set)."""
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx", "none")
"""The ``status`` label's values; ``none`` when no response was sent (the peer left)."""
BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds (seconds) of the request-duration histogram, plus +Inf: from a cached page
(1 ms) to a slow report (10 s)."""

REQUESTS = 0
"""requests[method][status class] start here, ``len(STATUS_CLASSES)`` per method."""
HISTOGRAM = REQUESTS + len(METHODS) * len(STATUS_CLASSES)
"""Duration bucket counts (not cumulative), ``len(BUCKETS_S) + 1`` of them (the last is +Inf)."""
DURATION_SUM = HISTOGRAM + len(BUCKETS_S) + 1
BYTES_IN = DURATION_SUM + 1
"""Request body bytes received."""
BYTES_OUT = BYTES_IN + 1
"""Response body bytes sent."""
STARTED = BYTES_OUT + 1
"""Requests started; minus the finished ones (the requests counters) = in flight."""
SIZE = STARTED + 1

_CLASSES = len(STATUS_CLASSES)
_OTHER = REQUESTS + (len(METHODS) - 1) * _CLASSES
_METHOD_INDEX: Dict[bytes, int] = {m.encode(): REQUESTS + i * _CLASSES
                                   for i, m in enumerate(METHODS[:-1])}
_STATUS_INDEX: Dict[int, int] = {code: code // 100 - 1 for code in range(100, 600)}
_NONE = _CLASSES - 1


def method_index(method: bytes) -> int:
    """The offset of ``method``'s requests counters."""
    return _METHOD_INDEX.get(method, _OTHER)


def status_index(status: object) -> int:
    """The status-class index of a status code (``none`` for anything else)."""
    return _STATUS_INDEX.get(status, _NONE)  # type: ignore[call-overload]


def bucket_index(seconds: float) -> int:
    """The histogram slot of a duration."""
    return HISTOGRAM + bisect_left(BUCKETS_S, seconds)


class Recorder:
    """The counters of one process; ``thread_counters()`` gives the calling thread its list."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._threads: List[Tuple[threading.Thread, List[float]]] = []
        self._ended = [0.0] * SIZE

    def thread_counters(self) -> List[float]:
        """A new list for the calling thread (keep it: the caller stores it per thread)."""
        counters = [0.0] * SIZE
        with self._lock:
            self._threads.append((threading.current_thread(), counters))
        return counters

    def snapshot(self) -> List[float]:
        """Every counter summed over the threads, those that ended included."""
        with self._lock:
            alive = []
            for thread, counters in self._threads:
                if thread.is_alive():
                    alive.append((thread, counters))
                else:
                    self._ended = [a + b for a, b in zip(self._ended, counters)]
            self._threads = alive
            total = list(self._ended)
            for _, counters in alive:
                total = [a + b for a, b in zip(total, counters)]
        return total


def record(counters: List[float], method: bytes, status: object, seconds: float,
           bytes_in: int, bytes_out: int) -> None:
    """Count one finished request in a thread's ``counters``."""
    counters[_METHOD_INDEX.get(method, _OTHER) + _STATUS_INDEX.get(status, _NONE)] += 1  # type: ignore[call-overload]
    counters[HISTOGRAM + bisect_left(BUCKETS_S, seconds)] += 1
    counters[DURATION_SUM] += seconds
    counters[BYTES_IN] += bytes_in
    counters[BYTES_OUT] += bytes_out
