"""The ``profile`` setting: a server's threads run under a profiler; the stats go to a file on stop.

Each profiled thread gets its own profiler and :class:`ThreadProfiler` merges them. Which
profiler depends on the interpreter (see :data:`PER_THREAD_CPROFILE`):

- CPython 3.11 and older: ``cProfile``, which only sees the thread that enabled it and can
  be read while that thread runs.
- CPython 3.12+: ``cProfile`` is built on ``sys.monitoring``, which is interpreter-wide: one
  enabled profiler records every thread and a second ``enable()`` raises ValueError ("Another
  profiling tool is already active"). One shared profiler cannot tell the ``rocket-*`` threads
  from the application's, so these get the pure-Python ``profile`` module instead, driven by
  the per-thread ``sys.setprofile`` hook (slower, same pstats data).
- PyPy: its ``cProfile`` refuses to give the stats of an enabled profiler, so a thread still
  running at ``dump()`` could not be read; it gets the ``profile`` module too.

Two ways to cover a server's threads:

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
import platform
import profile
import pstats
import sys
import threading
import time
from typing import Any, Callable, Dict, Iterator, Optional

from rocket.config.settings import ConfigError

THREAD_PREFIX = "rocket-"
"""Names of the server's own threads (``rocket-worker-3``, ``rocket-listener-8000``...)."""


PER_THREAD_CPROFILE = (platform.python_implementation() == "CPython"
                       and sys.version_info < (3, 12))
"""Whether ``cProfile`` is per thread and readable while enabled (else: ``profile``)."""

_ROOT = ("profile", 0, "profiler")  # the ``profile`` module's fake bottom frame


class _PyProfile(profile.Profile):
    """``profile.Profile`` run through this thread's ``sys.setprofile``, with the wall clock
    of ``cProfile``; returns of frames entered before ``enable()`` are ignored."""

    def __init__(self) -> None:
        super().__init__(timer=time.perf_counter)

    def enable(self) -> None:
        sys.setprofile(self.dispatcher)

    def disable(self) -> None:
        sys.setprofile(None)

    def trace_dispatch_call(self, frame: Any, t: Any) -> int:
        try:
            return super().trace_dispatch_call(frame, t)  # type: ignore[no-any-return]
        except AssertionError:  # "Bad call": a gc callback ran where profile expected none
            return 0  # (CPython 3.13); not counted, and its return is ignored below

    def trace_dispatch_return(self, frame: Any, t: Any) -> int:
        parent = self.cur[-2]
        if frame is not parent and frame is not parent.f_back:
            return 0  # a frame entered before enable(): not on our stack
        return super().trace_dispatch_return(frame, t)

    dispatch = dict(profile.Profile.dispatch, **{
        "call": trace_dispatch_call, "return": trace_dispatch_return, "c_return": trace_dispatch_return,
        "c_exception": trace_dispatch_return})


def _new_profiler() -> Any:
    return cProfile.Profile() if PER_THREAD_CPROFILE else _PyProfile()


def _read(prof: Any) -> dict:
    """The entries of ``prof`` so far, without stopping the thread that records them."""
    for _ in range(100):
        try:
            prof.snapshot_stats()
            break
        except RuntimeError:  # the profiled thread added an entry meanwhile: read again
            continue
    return {k: v for k, v in prof.stats.items() if k != _ROOT}


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
        self._active: Dict[int, Any] = {}
        self._prefix = ""
        self.threads = 0
        """How many threads were profiled."""

    def _start(self) -> Any:
        prof = _new_profiler()
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
            entries = _read(prof)
            with self._lock:
                self._active.pop(key, None)
                if entries:
                    self._add(pstats.Stats(_Snapshot(entries)))

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
                entries = _read(prof)
                if entries:
                    parts.append(pstats.Stats(_Snapshot(entries)))
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
