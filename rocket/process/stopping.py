"""The arbiter's stop, in two steps, each bounded.

1. :func:`begin_stop`: notify systemd (``STOPPING=1``); for a graceful stop with
   ``drain_grace``, the workers fail their health checks (SIGUSR2) and keep serving that long
   so that a balancer takes them out before they stop accepting.
2. :func:`stop_workers`: SIGTERM (graceful) or SIGINT (quick) to every worker, a wait of
   ``graceful_timeout`` + :data:`KILL_MARGIN_S` (graceful) or :data:`QUICK_STOP_S` (quick), a
   second SIGINT or SIGQUIT turning a graceful stop quick, then SIGKILL for the rest.

Both take the :class:`~rocket.process.arbiter.Arbiter` and use only its public members.
"""

from __future__ import annotations

import signal
import time
from typing import Any, Optional

from rocket.logs import part_log

__all__ = ["begin_stop", "stop_workers", "QUICK_STOP_S", "KILL_MARGIN_S", "REAP_S"]

log = part_log("Arbiter")

QUICK_STOP_S = 7.0
"""How long a quick stop (SIGINT) waits for workers: the server's own stop bound (5 s) + margin."""

KILL_MARGIN_S = 1.0
"""Extra time after graceful_timeout before a stopping worker is SIGKILLed."""

REAP_S = 2.0
"""How long the arbiter waits to reap the workers it SIGKILLed at the end of a stop."""


def begin_stop(arbiter: Any, tick_s: float = 0.1) -> None:
    """The start of the arbiter's stop: ``STOPPING=1``, then for a graceful stop with
    ``drain_grace`` the grace itself: the workers fail their health checks (SIGUSR2) and keep
    serving that long, unless a quick stop (SIGINT) cuts it short."""
    arbiter.observer.stopping()
    grace = float(getattr(arbiter.config, "drain_grace", 0.0) or 0.0)
    if arbiter.stopping != "graceful" or not grace:
        return
    for worker in arbiter.workers.values():
        worker.send(signal.SIGUSR2)
    end = arbiter.clock() + grace
    while arbiter.clock() < end and arbiter.stopping == "graceful":
        arbiter.signals.wait(min(tick_s, max(0.0, end - arbiter.clock())))
        for signum in arbiter.signals.drain():
            arbiter.on_signal(signum)
        arbiter.reap()



def stop_workers(arbiter: Any, how: Optional[str], tick_s: float = 0.1) -> None:
    """Stop every worker, gracefully (``how='graceful'``) or quickly, within the bounds of
    the module docstring; workers still running then are SIGKILLed and reaped."""
    graceful = how == "graceful"
    clock = arbiter.clock
    limit = (arbiter.config.graceful_timeout + KILL_MARGIN_S) if graceful else QUICK_STOP_S
    deadline = clock() + limit
    for w in arbiter.workers.values():
        if w.killed is None:
            w.send(signal.SIGTERM if graceful else signal.SIGINT)
            w.term_at = w.term_at or clock()
    while arbiter.workers and clock() < deadline:
        arbiter.signals.wait(tick_s)
        for signum in arbiter.signals.drain():
            if signum in (signal.SIGINT, signal.SIGQUIT) and graceful:
                log.info("second signal: stopping now")
                graceful = False
                deadline = min(deadline, clock() + QUICK_STOP_S)
                for w in arbiter.workers.values():
                    w.send(signal.SIGINT)
        arbiter.reap()
    for w in list(arbiter.workers.values()):
        arbiter.kill(w, f"did not stop within {limit:g}s")
    end = clock() + REAP_S
    while arbiter.workers and clock() < end:
        arbiter.reap()
        time.sleep(0.01)
    log.info("Arbiter %d stopped", arbiter.pid)
