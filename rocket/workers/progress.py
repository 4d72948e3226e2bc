"""Whether each request in flight is moving: the evidence behind ``worker_timeout``.

How it works:
- Every pool thread that serves connections owns one :class:`ThreadProgress` record, made on
  its first hand-off and found again through a thread-local. Only that thread writes it.
- The request loops add 1 to ``serial`` when a request (or a SocketServer message) starts and
  1 when it finishes, so ``serial`` is odd while one is in flight. Body bytes read and sent
  are added to ``bytes_moved``; ``waiting`` is True while the thread waits on its client
  (a send the client does not read, a body piece not yet arrived). Those waits are the
  client's doing and each is bounded by the connection's own limits (``body_timeout``,
  ``body_min_rate``, ``send_min_rate``), so they never count against the application.
- :meth:`ProgressTracker.stalled_since` looks at every record: a request in flight, not
  waiting, whose ``(serial, bytes_moved)`` has not changed since time T has made no progress
  since T. It returns the earliest such T (``now`` when there is none). The heartbeat of a
  worker process publishes it as ``progress_at``; the arbiter kills the process once
  ``now - progress_at`` exceeds ``worker_timeout`` (per request, as uWSGI's harakiri, but a
  request that keeps moving bytes is never cut; see docs/reliability.md).
- Records of threads that ended are dropped when a new thread registers and at each look.
"""

from __future__ import annotations

import threading
from typing import Dict, List, Tuple

__all__ = ["ThreadProgress", "ProgressTracker"]


class ThreadProgress:
    """One pool thread's request serial (odd: a request in flight), body bytes it moved and
    whether it waits on its client now."""

    __slots__ = ("serial", "bytes_moved", "waiting", "thread")

    def __init__(self, thread: threading.Thread) -> None:
        self.serial = 0
        self.bytes_moved = 0
        self.waiting = False
        self.thread = thread

    def settle(self) -> None:
        """The thread leaves the connection: no request in flight, not waiting (also after
        an exception cut a request short)."""
        if self.serial & 1:
            self.serial += 1
        self.waiting = False


class ProgressTracker:
    """The :class:`ThreadProgress` of every thread of one worker (see the module docstring)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._records: List[ThreadProgress] = []
        self._seen: Dict[ThreadProgress, Tuple[int, int, float]] = {}

    def mine(self) -> ThreadProgress:
        """The calling thread's record (made on its first call)."""
        record = getattr(self._local, "record", None)
        if record is None:
            record = self._local.record = ThreadProgress(threading.current_thread())
            with self._lock:
                self._records = [r for r in self._records if r.thread.is_alive()] + [record]
        return record

    def stalled_since(self, now: float) -> float:
        """The earliest time since which a request in flight has made no progress; ``now``
        when every one moved since the last look, or none is in flight. Call it at least
        once per heartbeat: a stall is dated from the first look that saw it."""
        with self._lock:
            records = self._records = [r for r in self._records if r.thread.is_alive()]
            seen = self._seen
            earliest = now
            for record in records:
                serial, moved = record.serial, record.bytes_moved
                last = seen.get(record)
                moving = record.waiting or last is None or last[:2] != (serial, moved)
                since = now if moving else last[2]
                seen[record] = (serial, moved, since)
                if serial & 1 and since < earliest:
                    earliest = since
            for gone in set(seen).difference(records):
                del seen[gone]
            return earliest
