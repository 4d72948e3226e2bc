"""``handle_signals`` of a single-process server, with real signals sent to this process:
SIGTERM/SIGINT call stop(), SIGUSR1/SIGHUP restart(), on the rocket-signals thread."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from rocket.server.signals import unwatch, watch

pytestmark = [
    pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="POSIX signals"),
    pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                       reason="signal handlers need the main thread"),
]


class Calls:
    def __init__(self) -> None:
        self.made: list = []
        self.event = threading.Event()

    def recorder(self, name: str):
        def record() -> None:
            self.made.append((name, threading.current_thread().name))
            self.event.set()
        return record

    def wait(self) -> tuple:
        assert self.event.wait(5.0)
        self.event.clear()
        return self.made[-1]


def test_stop_and_restart_signals_run_on_the_signals_thread_until_unwatched():
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    calls = Calls()
    signals = watch(calls.recorder("stop"), calls.recorder("restart"))
    assert signals is not None
    try:
        assert signal.getsignal(signal.SIGTERM) == signals.handler
        os.kill(os.getpid(), signal.SIGUSR1)
        assert calls.wait() == ("restart", "rocket-signals")
        os.kill(os.getpid(), signal.SIGHUP)
        assert calls.wait() == ("restart", "rocket-signals")
        os.kill(os.getpid(), signal.SIGTERM)
        assert calls.wait() == ("stop", "rocket-signals")
        os.kill(os.getpid(), signal.SIGINT)
        assert calls.wait() == ("stop", "rocket-signals")
    finally:
        unwatch(signals)
    assert {s: signal.getsignal(s) for s in before} == before
    assert "rocket-signals" not in [t.name for t in threading.enumerate()]
    unwatch(signals)                               # twice: nothing left to do
    unwatch(None)


def test_off_the_main_thread_nothing_is_installed():
    before = signal.getsignal(signal.SIGTERM)
    result = []
    thread = threading.Thread(target=lambda: result.append(watch(lambda: None, lambda: None)))
    thread.start()
    thread.join(5)
    assert result == [None] and signal.getsignal(signal.SIGTERM) is before
