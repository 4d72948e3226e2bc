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
from typing import Any, Dict, List, Mapping

from rocket._version import SERVER_SOFTWARE

__all__ = ["INFO_KEYS", "SUMMED_KEYS", "summed_figures", "process_info", "arbiter_info"]

SUMMED_KEYS = ("received_connections", "active_connections", "idle_connections", "parks",
               "requests", "threads", "threads_busy", "threads_idle", "queue_depth",
               "max_connections", "evictions", "accept_paused_s", "open_streams")
"""Figures that add up across worker processes (``max_connections``: each process's limit;
``accept_paused_s``: seconds a process did not accept, summed over the processes;
``open_streams``: HTTP/2 streams open)."""

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


def summed_figures(figures: Mapping[str, float]) -> Dict[str, float]:
    """The :data:`SUMMED_KEYS` of one process's figures (its server's ``figures()``, or the
    copy its heartbeat publishes to the arbiter)."""
    threads, busy = int(figures["threads"]), int(figures["busy"])
    return {"received_connections": int(figures["received"]),
            "active_connections": int(figures["connections"]),
            "idle_connections": int(figures["idle"]), "parks": int(figures["parks"]),
            "requests": int(figures["requests"]), "threads": threads, "threads_busy": busy,
            "threads_idle": max(0, threads - busy), "queue_depth": int(figures["queued"]),
            "max_connections": int(figures["max_connections"]),
            "evictions": int(figures["evictions"]),
            "accept_paused_s": figures["paused_ms"] / 1000,
            "open_streams": int(figures.get("streams", 0))}


def process_info(server: Any) -> Dict[str, Any]:
    """The answer of a single-process server (a :class:`~rocket.server.lifecycle.Lifecycle`)."""
    running = bool(server.running)
    info = _head(server.software, running, [i.describe() for i in server.interfaces],
                 server.config)
    info.update(summed_figures(server.figures()))
    info["uptime_s"] = time.time() - server.started_at if running else 0.0
    info["workers_wanted"] = 0
    info["generation"] = 0
    info["workers"] = []
    return _with_old_names(info)


def arbiter_info(arbiter: Any) -> Dict[str, Any]:
    """The answer of a :class:`~rocket.process.arbiter.Arbiter`: the figures of its worker
    processes summed, and each one listed under ``workers``."""
    per_worker = [{"pid": r["pid"], "generation": r["generation"], "state": r["state"],
                   **summed_figures(r), "uptime_s": r["uptime_s"],
                   "heartbeat_age_s": r["heartbeat_age_s"]} for r in arbiter.worker_records()]
    running = not arbiter.stopping
    info = _head(SERVER_SOFTWARE, running, [i.describe() for i in arbiter.interfaces],
                 arbiter.config)
    for key in SUMMED_KEYS:
        info[key] = sum(w[key] for w in per_worker)
    started_at = arbiter.started_at
    info["uptime_s"] = time.time() - started_at if running and started_at else 0.0
    info["workers_wanted"] = arbiter.target
    info["generation"] = arbiter.generation
    info["workers"] = per_worker
    return _with_old_names(info)


def _head(software: str, running: bool, listen_on: List[str], config: Any) -> Dict[str, Any]:
    return {"software": software, "pid": os.getpid(), "running": running,
            "listen_on": listen_on, "read_timeout": config.header_timeout,
            "keep_alive_timeout": config.keep_alive}
