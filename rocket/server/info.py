"""``server.info()``: one shape for the WSGI server, the SocketServer and the arbiter.

Every key of :data:`INFO_KEYS` is present in every answer, so monitoring code reads the same
dict whatever serves: one process (``workers`` is then ``[]``) or an arbiter, whose figures
are the sums over its worker processes (each one also listed under ``workers``). ``requests``
counts HTTP requests, or messages for a SocketServer. The ``connections_*`` and ``listen``
keys are Rocket's earlier names of the same figures, kept for existing users.
"""

from __future__ import annotations

import os
import time
from typing import Any, Dict, List

__all__ = ["INFO_KEYS", "SUMMED_KEYS", "process_info", "arbiter_info"]

SUMMED_KEYS = ("received_connections", "active_connections", "idle_connections", "parks",
               "requests", "threads", "threads_busy", "threads_idle", "queue_depth")
"""Figures that add up across worker processes."""

INFO_KEYS = ("software", "pid", "running", "listen_on", "read_timeout", "keep_alive_timeout",
             *SUMMED_KEYS, "uptime_s", "workers_wanted", "generation", "workers",
             "listen", "connections_received", "connections_active", "connections_idle")
"""The keys of every ``info()`` answer."""


def _with_old_names(info: Dict[str, Any]) -> Dict[str, Any]:
    info["listen"] = info["listen_on"]
    info["connections_received"] = info["received_connections"]
    info["connections_active"] = info["active_connections"]
    info["connections_idle"] = info["idle_connections"]
    return info


def process_info(server: Any) -> Dict[str, Any]:
    """The figures of a single-process server (``rocket.server.wsgi.Rocket`` or a subclass)."""
    pool = server.pool.stats() if server.pool is not None else {}
    parked = len(server.monitor) if server.monitor is not None else 0
    busy, queued = pool.get("busy", 0), pool.get("queued", 0)
    running = bool(server.running)
    return _with_old_names({
        "software": server.software,
        "pid": os.getpid(),
        "running": running,
        "listen_on": [i.describe() for i in server.interfaces],
        "read_timeout": server.config.header_timeout,
        "keep_alive_timeout": server.config.keep_alive,
        "received_connections": server.connections_received,
        "active_connections": parked + busy + queued,
        "idle_connections": parked,
        "parks": getattr(server.monitor, "parks", 0),
        "requests": int(getattr(server.worker, "requests", 0) or 0),
        "threads": pool.get("threads", 0),
        "threads_busy": busy,
        "threads_idle": pool.get("idle", 0),
        "queue_depth": queued,
        "uptime_s": time.time() - server.started_at if running else 0.0,
        "workers_wanted": 0,
        "generation": 0,
        "workers": [],
    })


def arbiter_info(software: str, running: bool, listen_on: List[str], config: Any,
                 workers_wanted: int, generation: int, started_at: float,
                 per_worker: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The arbiter's answer: ``per_worker`` entries (each with the :data:`SUMMED_KEYS`) summed."""
    info: Dict[str, Any] = {
        "software": software,
        "pid": os.getpid(),
        "running": running,
        "listen_on": list(listen_on),
        "read_timeout": config.header_timeout,
        "keep_alive_timeout": config.keep_alive,
    }
    for key in SUMMED_KEYS:
        info[key] = sum(int(w.get(key, 0)) for w in per_worker)
    info["uptime_s"] = time.time() - started_at if running and started_at else 0.0
    info["workers_wanted"] = workers_wanted
    info["generation"] = generation
    info["workers"] = per_worker
    return _with_old_names(info)
