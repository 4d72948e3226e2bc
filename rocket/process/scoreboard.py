"""A per-worker-process record in shared memory: heartbeat, progress and live figures.

The arbiter maps one small anonymous ``MAP_SHARED`` page per worker before forking it; the
child writes its record a few times a second and the arbiter reads it without any system
call. One mechanism thus gives both the heartbeat (is the child alive and making progress?)
and the per-worker figures of ``server.info()``. A record is written under a sequence number
(odd while a write is under way), so a reader never sees a half-written record. Times are
``time.monotonic()`` seconds, a system-wide clock on Linux and macOS, so parent and child can
compare them.
"""

from __future__ import annotations

import mmap
import struct
import time
from typing import Callable, Dict, List, Optional, Sequence

__all__ = ["Slot", "Board", "BOOTING", "SERVING", "RETIRING", "DRAINING", "STATE_NAMES"]

BOOTING, SERVING, RETIRING, DRAINING = 0, 1, 2, 3
"""Worker states: importing the app; accepting; asking to be replaced; finishing and exiting."""

STATE_NAMES = {BOOTING: "booting", SERVING: "serving", RETIRING: "retiring",
               DRAINING: "draining"}

_INT_FIELDS = ("pid", "state", "requests", "connections", "busy", "threads", "queued",
               "received", "idle", "parks", "max_connections", "evictions", "paused_ms", "bytes_moved", "evicted",
               "streams")
_TIME_FIELDS = ("heartbeat_at", "progress_at")
_LAYOUT = struct.Struct("=Q" + "q" * len(_INT_FIELDS) + "d" * len(_TIME_FIELDS))
_SEQ = struct.Struct("=Q")
_READ_ATTEMPTS = 100
_COUNTERS_AT = 1024
"""Offset in the page of the published counters (after the record, well clear of it)."""
_COUNTERS_MAX = (mmap.PAGESIZE - _COUNTERS_AT - 2 * _SEQ.size) // 8


class Slot:
    """One worker's shared record; create it in the parent before ``fork()``.

    ``write(**fields)`` (child) updates some fields; ``read()`` (either side) returns them all.
    Integer fields: pid, state, requests, connections, busy, threads, queued, received
    (connections accepted), idle (connections parked in the monitor now), parks (times a
    connection was parked), max_connections, evictions (connections closed to make room),
    paused_ms, bytes_moved (body bytes read and sent), evicted (idle connections closed by the
    keep-alive timeout), streams (HTTP/2 streams open); time fields: heartbeat_at, progress_at. ``publish(values)`` /
    ``published()`` carry a list of numbers beside it (the metrics counters of
    :mod:`rocket.metrics.recorder`).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._map = mmap.mmap(-1, mmap.PAGESIZE)
        now = clock()
        self._values: Dict[str, float] = dict.fromkeys(_INT_FIELDS, 0)
        self._values.update(heartbeat_at=now, progress_at=now)
        self._seq = 0
        self._store()
        self._counter_seq = 0

    def write(self, **fields: float) -> None:
        """Update the given fields (unknown names raise KeyError) and publish the record."""
        values = self._values
        for name, value in fields.items():
            if name not in values:
                raise KeyError(f"no field {name!r} in a worker slot")
            values[name] = value
        self._store()

    def _store(self) -> None:
        values = self._values
        self._seq += 1  # odd: a write is under way
        _SEQ.pack_into(self._map, 0, self._seq)
        packed = _LAYOUT.pack(self._seq + 1, *(int(values[n]) for n in _INT_FIELDS),
                              *(float(values[n]) for n in _TIME_FIELDS))
        self._map[_SEQ.size:_SEQ.size + _LAYOUT.size] = packed
        self._seq += 1
        _SEQ.pack_into(self._map, 0, self._seq)

    def read(self) -> Dict[str, float]:
        """A consistent copy of every field (the last complete write).

        A writer killed in the middle of a write leaves the sequence odd forever; after a
        bounded number of attempts the record is returned as it stands.
        """
        record = _LAYOUT.unpack_from(self._map, _SEQ.size)
        for attempt in range(_READ_ATTEMPTS):
            (before,) = _SEQ.unpack_from(self._map, 0)
            record = _LAYOUT.unpack_from(self._map, _SEQ.size)
            (after,) = _SEQ.unpack_from(self._map, 0)
            if not before & 1 and before == after == record[0]:
                break
            if attempt > 10:
                time.sleep(0.0001)
        return dict(zip(_INT_FIELDS + _TIME_FIELDS, record[1:]))

    def publish(self, values: Sequence[float]) -> None:
        """Publish a list of numbers (at most a page's worth), under its own sequence number."""
        count = min(len(values), _COUNTERS_MAX)
        self._counter_seq += 1
        _SEQ.pack_into(self._map, _COUNTERS_AT, self._counter_seq)
        struct.pack_into(f"=Q{count}d", self._map, _COUNTERS_AT + _SEQ.size, count,
                         *values[:count])
        self._counter_seq += 1
        _SEQ.pack_into(self._map, _COUNTERS_AT, self._counter_seq)

    def published(self) -> List[float]:
        """The last complete :meth:`publish` (empty before the first one)."""
        values: List[float] = []
        for _ in range(_READ_ATTEMPTS):
            (before,) = _SEQ.unpack_from(self._map, _COUNTERS_AT)
            (count,) = _SEQ.unpack_from(self._map, _COUNTERS_AT + _SEQ.size)
            count = min(count, _COUNTERS_MAX)
            values = list(struct.unpack_from(f"={count}d", self._map,
                                             _COUNTERS_AT + 2 * _SEQ.size))
            (after,) = _SEQ.unpack_from(self._map, _COUNTERS_AT)
            if not before & 1 and before == after:
                break
        return values

    def close(self) -> None:
        """Unmap the page (in the parent, once the worker has been reaped)."""
        if not self._map.closed:
            self._map.close()


BOARD_ENTRIES = 128
"""Workers whose connection counts are shared for accept balancing; more are served unbalanced."""

_ENTRY = struct.Struct("=q")


class Board:
    """Every worker's open-connection count in one shared page, mapped before the first fork
    so that all workers, even ones forked later, see each other. Entry -1 means "no worker".

    Workers sharing one listening socket use it to take turns accepting (see
    ``rocket.process.child.AcceptBalancer``); each entry is one aligned 8-byte word, so a
    reader sees either the old or the new count.
    """

    def __init__(self, entries: int = BOARD_ENTRIES) -> None:
        self.entries = entries
        self._all = struct.Struct(f"={entries}q")
        self._map = mmap.mmap(-1, self._all.size)
        self._all.pack_into(self._map, 0, *([-1] * entries))

    def set(self, index: int, count: int) -> None:
        """Publish worker ``index``'s count (-1 frees the entry)."""
        _ENTRY.pack_into(self._map, index * _ENTRY.size, count)

    def counts(self) -> tuple:
        """Every entry, -1 for free ones."""
        return self._all.unpack_from(self._map, 0)

    def claim(self) -> Optional[int]:
        """A free entry, set to 0 (called by the arbiter before forking); None when full."""
        for index, count in enumerate(self.counts()):
            if count < 0:
                self.set(index, 0)
                return index
        return None

    def close(self) -> None:
        """Unmap the page."""
        if not self._map.closed:
            self._map.close()
