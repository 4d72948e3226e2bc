"""The ``handle_signals`` setting of a single-process server: SIGTERM stops it gracefully,
SIGINT quickly (and cuts a graceful stop short), SIGUSR1 and SIGHUP restart it gracefully
(the arbiter and its worker processes give the same
:class:`~rocket.process.signals.Signals` their own meanings).

Handlers are installed from the main thread only (Python's rule; elsewhere nothing happens),
before the listeners bind, and the previous ones are put back at stop. ``stop()`` and
``restart()`` take the server's lock, which the interrupted main thread may be holding, so
they run on the ``rocket-signals`` thread, never in the handler.
"""

from __future__ import annotations

import signal
import threading
from typing import Callable, Optional

from rocket.logs import log
from rocket.process.signals import Signals

__all__ = ["STOP_SIGNALS", "QUICK_STOP_SIGNALS", "RESTART_SIGNALS", "watch", "unwatch",
           "quick_stop_pending"]

STOP_SIGNALS = ("SIGTERM", "SIGINT")
QUICK_STOP_SIGNALS = ("SIGINT",)
"""The stop signals that mean "now" (``quick_stop``), and cut a graceful stop short."""
RESTART_SIGNALS = ("SIGUSR1", "SIGHUP")


def _numbers(names: tuple) -> set:
    return {getattr(signal, name) for name in names if hasattr(signal, name)}


def watch(stop: Callable[[], None], restart: Callable[[], None],
          quick_stop: Optional[Callable[[], None]] = None,
          terminate: Optional[Callable[[], None]] = None) -> Optional[Signals]:
    """Route the stop and restart signals to ``stop()`` and ``restart()`` (SIGINT to
    ``quick_stop()`` and SIGTERM to ``terminate()``, the graceful stop, when given); None
    (and nothing installed) off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return None
    stops = _numbers(STOP_SIGNALS)
    quick = _numbers(QUICK_STOP_SIGNALS) if quick_stop is not None else set()

    def act(signum: int) -> None:
        if signum in quick:
            log.info("Received signal %s: stopping now", signum)
            quick_stop()  # type: ignore[misc]
        elif signum in stops:
            log.info("Received signal %s: stopping", signum)
            graceful = terminate is not None and signum == getattr(signal, "SIGTERM", None)
            (terminate if graceful else stop)()  # type: ignore[misc]
        else:
            log.info("Received signal %s: restarting", signum)
            restart()

    signals = Signals()
    try:
        signals.install(STOP_SIGNALS + RESTART_SIGNALS)
    except BaseException:
        signals.restore()
        signals.close()
        raise
    signals.dispatch_in_thread(act, "rocket-signals")
    return signals


def unwatch(signals: Optional[Signals]) -> None:
    """Put the previous handlers back and end the thread (main thread only; elsewhere, such
    as on the ``rocket-signals`` thread itself, it does nothing)."""
    if signals is None or threading.current_thread() is not threading.main_thread():
        return
    signals.restore()
    signals.close()


def quick_stop_pending(signals: Optional[Signals]) -> bool:
    """True when a quick-stop signal waits in the queue: it arrived while the ``rocket-signals``
    thread is busy with a graceful stop or restart, which it then cuts short."""
    if signals is None:
        return False
    quick = _numbers(QUICK_STOP_SIGNALS)
    return any(signum in quick for signum in list(signals.pending))
