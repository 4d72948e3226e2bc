"""The ``profile`` setting: a server's threads run under cProfile; the stats go to a file on stop.

Every thread whose name starts with ``rocket-`` (pool workers, listeners, the monitor) and
that starts after :func:`start_profile` gets its own profiler (see
:class:`rocket.bench.profiling.ThreadProfiler`); :func:`finish_profile` merges them into one
``pstats`` file. ``python -m rocket.bench profile-report FILE`` prints its top functions.
``threading.setprofile`` is process-wide: one profiled server per process.
"""

from __future__ import annotations

import logging
import os
from typing import Any

THREAD_PREFIX = "rocket-"
"""Names of the server's own threads (``rocket-worker-3``, ``rocket-listener-8000``...)."""


def start_profile(path: str, per_process: bool = False) -> Any:
    """Profile the ``rocket-*`` threads started from now on; returns the ThreadProfiler.

    ``per_process`` (a forked worker process) writes ``PATH.PID`` so the workers do not
    overwrite one another. An unwritable directory raises ConfigError now, not at the stop.
    """
    from rocket.bench.profiling import ThreadProfiler
    from rocket.config.settings import ConfigError

    if per_process:
        path = f"{path}.{os.getpid()}"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"setting 'profile': cannot write {path!r} (is {folder!r} a "
                          "writable directory?)")
    profiler = ThreadProfiler(path)
    profiler.install(prefix=THREAD_PREFIX)
    return profiler


def finish_profile(profiler: Any, log: logging.Logger, write: bool = True) -> bool:
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
