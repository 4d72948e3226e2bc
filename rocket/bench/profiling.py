"""cProfile for a threaded server: one profile per thread, merged into one stats file.

``cProfile`` only sees the thread that enabled it, so the server wraps each thread's target::

    profiler = ThreadProfiler("rocket.prof")             # when --profile FILE is set
    t = threading.Thread(target=profiler.wrap(worker_loop), name="rocket-worker-3")
    ...
    profiler.dump()                                       # on exit, after joining threads

Threads that ended merged their data when they returned; threads still running at ``dump()``
contribute what they recorded so far (the call in progress is not counted). The file is a
standard ``pstats`` file: ``python -m rocket.bench profile-report FILE`` prints the top
functions, and ``snakeviz``/``pstats`` read it as well.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import pstats
import sys
import threading
from typing import Any, Callable, Dict, List, Optional, TextIO

SORT_KEYS = ("tottime", "cumulative", "calls", "ncalls", "time")


class _Snapshot:
    """What ``pstats.Stats`` accepts: an object with ``stats`` and ``create_stats()``."""

    def __init__(self, stats: dict) -> None:
        self.stats = stats

    def create_stats(self) -> None:
        pass


class ThreadProfiler:
    """Profiles every thread whose target goes through ``wrap`` (or ``run``); thread-safe."""

    def __init__(self, path: Optional[str] = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._merged: Optional[pstats.Stats] = None
        self._active: Dict[int, cProfile.Profile] = {}
        self.threads = 0

    def run(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``target`` under a profiler in this thread; merge the data when it returns."""
        prof = cProfile.Profile()
        key = id(prof)
        with self._lock:
            self._active[key] = prof
        prof.enable()
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
        self.threads += 1
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
