"""Process mode and the observer of a server (a base of
:class:`~rocket.server.lifecycle.Lifecycle`): ``start()`` hands the server to the launcher
(:func:`rocket.process.launch.launch`), each forked worker process serves with it, and the
observer (:mod:`rocket.process.observer`) serves the metrics and tells systemd the state.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional

from rocket.config.settings import ConfigError
from rocket.process.observer import Observer
from rocket.server.banner import announce_arbiter

__all__ = ["Processes"]


class Processes:
    """The process-mode and observer parts of the lifecycle."""

    _process_mode: str
    config: Any
    worker: Any
    observer: Any
    banner: bool
    interfaces: List[Any]
    sockets: Dict[int, Any]
    started_at: float
    in_worker_process: bool
    _arbiter: Any

    def metric_counters(self) -> Optional[List[float]]:
        """The worker's metrics counters (:mod:`rocket.metrics.recorder`); None: metrics off."""
        recorder = getattr(self.worker, "metrics", None)
        return recorder.snapshot() if recorder is not None else None

    def _observe(self) -> None:
        """Create the observer and start its metrics listener (never in a worker process)."""
        from rocket.metrics.exposition import Sample

        if not self.in_worker_process and self.observer is None:
            self.observer = Observer(self.config)
            self.observer.start_metrics(lambda: Sample(self.metric_counters() or [],
                                                       self.figures(), {}))

    def _stop_observer(self) -> None:
        observer, self.observer = self.observer, None
        if observer is not None:
            observer.stopping()
            observer.close()

    def _run_processes(self, background: bool) -> None:
        from rocket.process.launch import launch
        from rocket.server.info import arbiter_info

        if background:
            raise ConfigError(f"{self._process_mode} serves in the foreground: the arbiter "
                              "needs the main thread for its signals; use start()")
        self.started_at = time.time()
        code = launch(self._arbiter_settings(), self._as_worker_process, describe=arbiter_info,
                      ready=self._adopt_arbiter)
        self.interfaces = list(self._arbiter.interfaces) or self.interfaces
        if code:
            raise RuntimeError(f"the worker processes failed (exit code {code}); "
                               "see the Rocket.Errors log")

    def _adopt_arbiter(self, arbiter: Any) -> None:
        self._arbiter = arbiter
        if self.banner:
            announce_arbiter(arbiter)

    def _arbiter_settings(self) -> Dict[str, Any]:
        """The settings handed to the arbiter: those given explicitly and ``bind``, without
        ``handle_signals`` (the arbiter always handles its signals)."""
        config = self.config
        settings = {name: getattr(config, name) for name in config.explicit | {"bind"}}
        settings.pop("handle_signals", None)
        return settings

    def _as_worker_process(self, app: Any, settings: Dict[str, Any], sockets: List[Any]) -> Any:
        """``build_server`` in a forked worker process: this very server, on the arbiter's
        ``sockets``."""
        self.in_worker_process = True
        self.config.handle_signals = False
        self.sockets = dict(enumerate(sockets))
        self.interfaces = list(settings["bind"])
        return self
