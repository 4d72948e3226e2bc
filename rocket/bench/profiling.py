"""``profile-report``: the top functions of the ``pstats`` files a profiled server wrote.

The profiler itself is the runtime's (:class:`rocket.server.profile.ThreadProfiler`, re-exported
here for the load tools)::

    with ThreadProfiler("rocket.prof").installed(prefix="rocket-"):
        server.start()                      # blocks until stopped; threads start inside
"""

from __future__ import annotations

import argparse
import io
import pstats
import sys
from typing import List, Optional, TextIO

from rocket.server.profile import ThreadProfiler

__all__ = ["ThreadProfiler", "report", "add_arguments", "main", "SORT_KEYS"]

SORT_KEYS = ("tottime", "cumulative", "calls", "ncalls", "time")


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
