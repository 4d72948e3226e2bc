"""A server object in process mode: the glue between ``Rocket.start()`` and ``rocket.process.arbiter``.

With ``workers`` > 1 (``concurrency='process'``, ``max_requests``) ``start()`` runs an
:class:`~rocket.process.arbiter.Arbiter` in the foreground; each forked worker process then serves
with the very server object that was started (``in_worker_process``), on the arbiter's
sockets. ``stop()`` from any thread asks the arbiter for a graceful stop.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List


def arbiter_settings(config: Any) -> Dict[str, Any]:
    """The settings handed to the arbiter: those given explicitly (``bind`` always is), without
    ``handle_signals`` (the arbiter always handles its signals)."""
    settings = {name: getattr(config, name) for name in config.explicit}
    settings.pop("handle_signals", None)
    return settings


def run_arbiter(arbiter: Any) -> None:
    """Run ``arbiter`` until it stops; a failure of the worker processes raises."""
    code = arbiter.run()
    if code:
        raise RuntimeError(f"the worker processes failed (exit code {code}); "
                           "see the Rocket.Errors log")


def ask_graceful_stop(arbiter: Any) -> None:
    """From any thread: have ``arbiter`` stop gracefully (once) and wake its loop."""
    if arbiter.stopping is None:
        arbiter.stopping = "graceful"
        if arbiter.signals is not None:
            arbiter.signals.handler(0, None)


def serve_in_processes(server: Any) -> None:
    """``server.start()`` in process mode: the arbiter forks workers that each run ``server``."""
    from rocket.process.arbiter import Arbiter

    def as_worker(app: Any, settings: Dict[str, Any], sockets: List[Any]) -> Any:
        # In a forked worker process: this very server, on the arbiter's sockets.
        server.in_worker_process = True
        server.config.handle_signals = False
        server.sockets = dict(enumerate(sockets))
        server.interfaces = list(settings["bind"])
        return server

    server._arbiter = Arbiter(lambda: None, arbiter_settings(server.config),
                              build_server=as_worker)
    server.started_at = time.time()
    run_arbiter(server._arbiter)
