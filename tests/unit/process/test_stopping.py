"""The arbiter's bounded stop (stop_workers), with fake workers and a clock that moves on by
itself, so nothing is forked and no test waits for real seconds."""

from __future__ import annotations

import signal

from rocket.process.signals import Signals
from rocket.process.stopping import KILL_MARGIN_S, QUICK_STOP_S, stop_workers
from tests.unit.process.fakes import FakeArbiter, TickingClock


def stopping_arbiter(**settings) -> FakeArbiter:
    arb = FakeArbiter(TickingClock(0.5), **settings)
    arb.maintain()
    arb.signals = Signals()
    return arb


def test_graceful_stop_sends_sigterm_then_kills_what_is_left_after_graceful_timeout():
    arb = stopping_arbiter(graceful_timeout=3)
    quick_to_exit, stuck = arb.spawned
    quick_to_exit.exits_on = {signal.SIGTERM}
    try:
        stop_workers(arb, "graceful", tick_s=0.001)
    finally:
        arb.signals.close()
    assert quick_to_exit.sent == [signal.SIGTERM] and quick_to_exit.killed is None
    assert stuck.sent == [signal.SIGTERM, signal.SIGKILL]
    assert stuck.killed == f"did not stop within {3 + KILL_MARGIN_S:g}s"


def test_a_second_sigint_turns_a_graceful_stop_quick():
    arb = stopping_arbiter(graceful_timeout=60)
    arb.signals.pending.append(signal.SIGINT)
    for worker in arb.spawned:
        worker.exits_on = {signal.SIGINT}
    started = arb.clock.now
    try:
        stop_workers(arb, "graceful", tick_s=0.001)
    finally:
        arb.signals.close()
    assert all(w.sent == [signal.SIGTERM, signal.SIGINT] for w in arb.spawned)
    assert all(w.killed is None for w in arb.spawned) and not arb.workers
    assert arb.clock.now - started < QUICK_STOP_S


def test_quick_stop_sends_sigint_and_kills_after_quick_stop_s():
    arb = stopping_arbiter()
    try:
        stop_workers(arb, "quick", tick_s=0.001)
    finally:
        arb.signals.close()
    assert all(w.sent == [signal.SIGINT, signal.SIGKILL] for w in arb.spawned)
    assert all(w.killed == f"did not stop within {QUICK_STOP_S:g}s" for w in arb.spawned)
