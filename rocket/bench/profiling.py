"""cProfile for a threaded server: one profile per thread, merged into one stats file.

``cProfile`` only sees the thread that enabled it. Two ways to cover a server's threads:

- ``installed()``: every thread started while it is active gets its own profiler (through
  ``threading.setprofile``), with no change to the code that starts the threads; on exit the
  merged stats are written. This is what ``rocket --profile FILE`` needs::

      with ThreadProfiler("rocket.prof").installed(prefix="rocket-"):
          server.start()                      # blocks until stopped; threads start inside

- ``wrap(target)``: wrap one thread target explicitly, then ``dump()`` when done.

Threads that ended count in full; threads still running at ``dump()`` contribute what they
recorded so far (the call in progress is not counted). The file is a standard ``pstats``
file: ``python -m rocket.bench profile-report FILE`` prints the top functions.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import io
import pstats
import sys
import threading
from typing import Any, Callable, Dict, Iterator, List, Optional, TextIO

SORT_KEYS = ("tottime", "cumulative", "calls", "ncalls", "time")


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


def report(paths: List[str], sort: str = "tottime", limit: int = 30,
           strip_dirs: bool = True, out: Optional[TextIO] = None) -> str:
    """Print (and return) the top ``limit`` functions of one or more pstats files."""
    buf = io.StringIO()
    stats = pstats.Stats(paths[0], stream=buf)
    for p in paths[1:]:
        stats.add(p)
    if strip_dirs:
        stats.strip_dirs()
    buf.write(f"{', '.join(paths)}: {stats.total_calls} calls ({stats.prim_calls} primitive)"
              f" in {stats.total_tt:.3f} s of profiled thread time\n")
    stats.sort_stats(sort).print_stats(limit)
    text = buf.getvalue()
    (out or sys.stdout).write(text)
    return text


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``profile-report``."""
    p.add_argument("files", nargs="+", metavar="FILE", help="pstats file(s), e.g. rocket.prof")
    p.add_argument("--sort", choices=SORT_KEYS, default="tottime",
                   help="order: own time (tottime, default), cumulative, calls")
    p.add_argument("--limit", type=int, default=30, help="functions to show (30)")
    p.add_argument("--full-paths", action="store_true", help="keep directory names")


def main(a: argparse.Namespace) -> int:
    """Entry point of ``profile-report``."""
    try:
        report(a.files, a.sort, a.limit, not a.full_paths)
    except (OSError, EOFError, TypeError, ValueError) as e:
        print("profile-report: cannot read {}: {}".format(", ".join(a.files), e), file=sys.stderr)
        return 2
    return 0
