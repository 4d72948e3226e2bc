"""The one signal class, with real signals sent to this process: a handler only queues the
number and wakes the waiter; install() and restore() swap the handlers in and out."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from rocket.process.signals import Signals

pytestmark = [
    pytest.mark.skipif(not hasattr(signal, "SIGUSR2"), reason="POSIX signals"),
    pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                       reason="signal handlers need the main thread"),
]


@pytest.fixture
def signals():
    taken = Signals()
    try:
        yield taken
    finally:
        taken.restore()
        taken.close()


def test_a_signal_is_queued_and_wakes_the_waiter_at_once(signals):
    signals.install(["SIGUSR2"])
    assert signals.installed and signal.getsignal(signal.SIGUSR2) == signals.handler
    os.kill(os.getpid(), signal.SIGUSR2)
    started = time.monotonic()
    signals.wait(5.0)
    assert time.monotonic() - started < 1.0
    assert signals.drain() == [signal.SIGUSR2]
    assert signals.drain() == []
    started = time.monotonic()
    signals.wait(0.05)                             # nothing pending: the full timeout
    assert time.monotonic() - started >= 0.04


def test_restore_puts_back_every_previous_disposition(signals):
    def mine(signum, frame):
        raise AssertionError("not called")

    old = signal.signal(signal.SIGUSR2, mine)
    try:
        signals.install(["SIGUSR2"], ignore=["SIGUSR1"], default=["SIGWINCH"])
        assert signal.getsignal(signal.SIGUSR1) == signal.SIG_IGN
        assert signal.getsignal(signal.SIGWINCH) == signal.SIG_DFL
        signals.install(["SIGUSR2"])               # again: the first previous one is kept
        signals.restore()
        assert not signals.installed
        assert signal.getsignal(signal.SIGUSR2) is mine
        assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGUSR2, old)


def test_wake_from_another_thread_wakes_without_a_signal(signals):
    timer = threading.Timer(0.1, signals.wake)
    timer.start()
    started = time.monotonic()
    signals.wait(5.0)
    timer.join()
    assert time.monotonic() - started < 2.0 and signals.drain() == []


def test_the_dispatch_thread_acts_on_each_signal_in_order_and_ends_at_close(signals):
    seen = []
    acted = threading.Event()

    def act(signum: int) -> None:
        seen.append(signum)
        if len(seen) == 2:
            acted.set()

    signals.install(["SIGUSR1", "SIGUSR2"])
    signals.dispatch_in_thread(act, "test-signals")
    os.kill(os.getpid(), signal.SIGUSR2)
    os.kill(os.getpid(), signal.SIGUSR1)
    assert acted.wait(5.0)
    assert seen == [signal.SIGUSR2, signal.SIGUSR1]
    signals.restore()
    signals.close()
    assert "test-signals" not in [t.name for t in threading.enumerate()]
    assert signals.fds == ()
    signals.wake()                                 # closed: a late wake is harmless
    signals.wait(0.0)


def test_many_signals_are_each_queued_once():
    signals = Signals()
    for _ in range(2000):                          # more than the pipe holds: never blocks
        signals.handler(signal.SIGUSR2, None)
    signals.wait(0.0)
    assert signals.drain() == [signal.SIGUSR2] * 2000
    signals.close()


def test_a_dispatch_thread_outliving_close_closes_the_pipe_itself():
    signals = Signals(join_s=0.05)
    busy, release = threading.Event(), threading.Event()

    def act(signum: int) -> None:
        busy.set()
        release.wait(5.0)  # an act slower than close() waits for

    signals.install(["SIGUSR1"])
    try:
        signals.dispatch_in_thread(act, "test-slow-signals")
        os.kill(os.getpid(), signal.SIGUSR1)
        assert busy.wait(5.0)
        read_fd, write_fd = signals.fds
        signals.close()
        # The thread may still read the pipe: its descriptors stay open (never reused under it).
        assert signals.fds == (read_fd, write_fd)
        os.fstat(read_fd)
        release.set()
        deadline = time.monotonic() + 5
        while signals.fds and time.monotonic() < deadline:
            time.sleep(0.01)
        assert signals.fds == ()  # closed by the thread as it ended
    finally:
        release.set()
        signals.restore()
        signals.close()
