"""The ``profile`` setting: a server's threads run under cProfile; the stats go to a file on stop.

``cProfile`` only sees the thread that enabled it, so :class:`ThreadProfiler` gives each
thread its own profiler and merges them. Two ways to cover a server's threads:

- ``install(prefix)``: every thread started from then on whose name starts with ``prefix``
  gets a profiler (through ``threading.setprofile``), with no change to the code that starts
  the threads. :func:`start_profile` does this for the ``rocket-*`` threads (pool workers,
  listeners, the monitor) and :func:`finish_profile` writes the merged stats on stop.
- ``wrap(target)``: wrap one thread target explicitly, then ``dump()`` when done.

Threads that ended count in full; threads still running at ``dump()`` contribute what they
recorded so far (the call in progress is not counted). The file is a standard ``pstats``
file: ``python -m rocket.bench profile-report FILE`` prints its top functions.
``threading.setprofile`` is process-wide: one profiled server per process.
"""

from __future__ import annotations

import contextlib
import cProfile
import functools
import os
import pstats
import sys
import threading
from typing import Any, Callable, Dict, Iterator, Optional

from rocket.config.settings import ConfigError

THREAD_PREFIX = "rocket-"
"""Names of the server's own threads (``rocket-worker-3``, ``rocket-listener-8000``...)."""


class _Snapshot:
    """What ``pstats.Stats`` accepts: an object with ``stats`` and ``create_stats()``."""

    def __init__(self, stats: dict) -> None:
        self.stats = stats

    def create_stats(self) -> None:
        pass


class ThreadProfiler:
    """Profiles threads started under ``installed()``/``install()`` or run through ``wrap``
    (or ``run``), and merges them; thread-safe."""

    def __init__(self, path: Optional[str] = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._merged: Optional[pstats.Stats] = None
        self._active: Dict[int, cProfile.Profile] = {}
        self._prefix = ""
        self.threads = 0
        """How many threads were profiled."""

    def _start(self) -> cProfile.Profile:
        prof = cProfile.Profile()
        with self._lock:
            self._active[id(prof)] = prof
            self.threads += 1
        prof.enable()
        return prof

    def _thread_hook(self, frame: Any, event: str, arg: Any) -> None:
        sys.setprofile(None)  # runs once, as the first event of each new thread
        if threading.current_thread().name.startswith(self._prefix):
            self._start()

    def install(self, prefix: str = "") -> None:
        """Profile every thread started from now on whose name starts with ``prefix``."""
        self._prefix = prefix
        threading.setprofile(self._thread_hook)

    def uninstall(self) -> None:
        """Stop profiling new threads (those already profiled keep recording)."""
        threading.setprofile(None)

    @contextlib.contextmanager
    def installed(self, prefix: str = "") -> Iterator[ThreadProfiler]:
        """``install()`` for the duration of the block; on exit ``uninstall()`` and
        ``dump()`` (when a path was given)."""
        self.install(prefix)
        try:
            yield self
        finally:
            self.uninstall()
            if self.path:
                self.dump()

    def run(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``target`` under a profiler in this thread; merge the data when it returns."""
        prof = self._start()
        key = id(prof)
        try:
            return target(*args, **kwargs)
        finally:
            prof.disable()
            with self._lock:
                self._active.pop(key, None)
                self._add(pstats.Stats(prof))

    def wrap(self, target: Callable[..., Any]) -> Callable[..., Any]:
        """``target`` wrapped so that each call is profiled (use as a Thread target)."""
        @functools.wraps(target)
        def profiled(*args: Any, **kwargs: Any) -> Any:
            return self.run(target, *args, **kwargs)
        return profiled

    def _add(self, stats: pstats.Stats) -> None:
        if self._merged is None:
            self._merged = stats
        else:
            self._merged.add(stats)

    def stats(self) -> Optional[pstats.Stats]:
        """Everything recorded so far (finished and running threads), or None if nothing."""
        with self._lock:
            merged = None
            parts = [self._merged] if self._merged is not None else []
            for prof in list(self._active.values()):
                prof.snapshot_stats()  # reads the entries; does not stop the other thread
                parts.append(pstats.Stats(_Snapshot(dict(prof.stats))))
            for part in parts:
                if merged is None:
                    merged = pstats.Stats(_Snapshot(dict(part.stats)))
                else:
                    merged.add(part)
            return merged

    def dump(self, path: Optional[str] = None) -> bool:
        """Write the merged stats to ``path`` (default: the constructor's); False if empty."""
        path = path or self.path
        if not path:
            raise ValueError("no path to write the profile to")
        merged = self.stats()
        if merged is None:
            return False
        merged.dump_stats(path)
        return True

    def __enter__(self) -> ThreadProfiler:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.dump()


def start_profile(path: str, per_process: bool = False) -> ThreadProfiler:
    """Profile the ``rocket-*`` threads started from now on; returns the ThreadProfiler.

    ``per_process`` (a forked worker process) writes ``PATH.PID`` so the workers do not
    overwrite one another. An unwritable directory raises ConfigError now, not at the stop.
    """
    if per_process:
        path = f"{path}.{os.getpid()}"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"setting 'profile': cannot write {path!r} (is {folder!r} a "
                          "writable directory?)")
    profiler = ThreadProfiler(path)
    profiler.install(prefix=THREAD_PREFIX)
    return profiler


def finish_profile(profiler: ThreadProfiler, log: Any, write: bool = True) -> bool:
    """Stop profiling new threads and (``write``) write the merged stats; True when written.

    A failed write is logged, never raised: it happens while the server stops.
    """
    profiler.uninstall()
    if not write:
        return False
    try:
        written = bool(profiler.dump())
    except OSError as exc:
        log.error("Cannot write the profile to %s: %s", profiler.path, exc)
        return False
    if written:
        log.info("Wrote the profile of %d thread(s) to %s", profiler.threads, profiler.path)
    return written
