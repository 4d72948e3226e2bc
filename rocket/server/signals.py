"""The ``handle_signals`` setting of a single-process server: SIGTERM and SIGINT stop it,
SIGUSR1 and SIGHUP restart it (the arbiter has its own queue: ``rocket.process.supervision``).

Handlers are installed from the main thread only (Python's rule; elsewhere this does nothing),
before the listeners bind, and the previous ones are put back at stop. A handler only starts
a thread: ``stop()`` and ``restart()`` take the server's lock, which the interrupted main
thread may be holding.
"""

from __future__ import annotations

import signal
import threading
from typing import Any, Callable, Dict

from rocket.logs import log

STOP_SIGNALS = ("SIGTERM", "SIGINT")
RESTART_SIGNALS = ("SIGUSR1", "SIGHUP")


class ServerSignals:
    """Routes the stop and restart signals to ``stop()`` and ``restart()`` while installed."""

    def __init__(self, stop: Callable[[], None], restart: Callable[[], None]) -> None:
        self.stop = stop
        self.restart = restart
        self._old: Dict[int, Any] = {}

    def install(self) -> None:
        """Install the handlers (main thread only), remembering the ones they replace."""
        if threading.current_thread() is not threading.main_thread():
            return
        for names, handler in ((STOP_SIGNALS, self.on_stop), (RESTART_SIGNALS, self.on_restart)):
            for name in names:
                signum = getattr(signal, name, None)
                if signum is None:
                    continue
                try:
                    self._old[signum] = signal.signal(signum, handler)
                except (ValueError, OSError):
                    pass

    def restore(self) -> None:
        """Put the previous handlers back; safe to call when nothing is installed."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum, handler in self._old.items():
            try:
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
            except (ValueError, OSError, TypeError):
                pass
        self._old.clear()

    def on_stop(self, signum: int, frame: Any) -> None:
        log.info("Received signal %s: stopping", signum)
        threading.Thread(target=self.stop, name="rocket-stop", daemon=True).start()

    def on_restart(self, signum: int, frame: Any) -> None:
        log.info("Received signal %s: restarting", signum)
        threading.Thread(target=self.restart, name="rocket-restart", daemon=True).start()
