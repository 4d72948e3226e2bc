"""The arbiter's supervision rule, request_stop() and figures, with fake worker processes and a
fake clock, so nothing is forked (its small parts: test_supervision; real forks: test_launch)."""

from __future__ import annotations

import os
import signal

import pytest

from rocket.config.settings import ConfigError
from rocket.process import arbiter as arbiter_module
from rocket.process.arbiter import Arbiter
from rocket.process.scoreboard import RETIRING, SERVING
from rocket.process.signals import Signals
from tests.unit.process.fakes import FakeArbiter, FakeClock, FakeWorker, unused


def serve(worker: FakeWorker, clock: FakeClock, state: int = SERVING) -> None:
    worker.slot.write(state=state, heartbeat_at=clock(), progress_at=clock())


def die(arb: FakeArbiter, worker: FakeWorker, status: int) -> None:
    """What reaping does for a worker that exited with ``status``."""
    del arb.workers[worker.pid]
    arb._exited(worker, status)


def reload_started(clock: FakeClock) -> tuple:
    """An arbiter whose two workers serve, just after SIGHUP: (arbiter, old, new workers)."""
    arb = FakeArbiter(clock)
    arb.maintain()
    old = list(arb.workers.values())
    for w in old:
        serve(w, clock)
    arb.maintain()
    arb.on_signal(signal.SIGHUP)
    arb.maintain()
    return arb, old, [w for w in arb.workers.values() if w not in old]


# -- construction ------------------------------------------------------------------------------
def test_without_fork_workers_are_refused_with_a_clear_error(monkeypatch):
    monkeypatch.setattr(arbiter_module, "fork_supported", lambda: False)
    with pytest.raises(ConfigError, match="workers > 1 needs os.fork"):
        Arbiter(lambda: None, {"workers": 2}, unused, unused)


# -- the supervision rule ----------------------------------------------------------------------
def test_spawns_the_target_and_nothing_more():
    clock = FakeClock()
    arb = FakeArbiter(clock)
    arb.maintain()
    arb.maintain()
    assert len(arb.workers) == 2


def test_reload_terminates_old_workers_only_once_the_new_ones_serve():
    clock = FakeClock()
    arb, old, new = reload_started(clock)
    assert len(new) == 2 and all(w.generation == 2 for w in new)
    assert all(w.sent == [] for w in old)          # still serving while the new ones boot
    serve(new[0], clock)
    arb.maintain()
    assert all(w.sent == [] for w in old)          # one new worker is not enough
    serve(new[1], clock)
    arb.maintain()
    assert all(w.sent == [signal.SIGTERM] for w in old)
    assert all(w.sent == [] for w in new)


def test_retiring_worker_is_replaced_then_terminated():
    clock = FakeClock()
    arb = FakeArbiter(clock, max_requests=50)
    arb.maintain()
    a, b = arb.workers.values()
    serve(a, clock)
    serve(b, clock)
    arb.maintain()
    serve(a, clock, RETIRING)
    arb.maintain()
    assert len(arb.workers) == 3 and a.sent == []
    serve(arb.spawned[-1], clock)
    arb.maintain()
    assert a.sent == [signal.SIGTERM] and b.sent == []


def test_hung_worker_is_killed_after_worker_timeout():
    clock = FakeClock()
    arb = FakeArbiter(clock, worker_timeout=5)
    arb.maintain()
    a, b = arb.workers.values()
    serve(a, clock)
    serve(b, clock)
    clock.now += 4.0
    serve(b, clock)                                # b keeps making progress, a does not
    arb.maintain()
    assert a.sent == []
    clock.now += 1.5
    arb.maintain()
    assert a.sent == [signal.SIGKILL] and b.sent == []
    assert "worker_timeout=5s" in a.killed


def test_stopping_worker_is_killed_after_graceful_timeout():
    clock = FakeClock()
    arb = FakeArbiter(clock, graceful_timeout=2, worker_timeout=0)
    arb.maintain()
    for w in arb.workers.values():
        serve(w, clock)
    arb.on_signal(signal.SIGTTOU)
    arb.maintain()
    stopping = [w for w in arb.workers.values() if w.sent == [signal.SIGTERM]]
    assert len(stopping) == 1 and arb.target == 1
    clock.now += 2.0
    arb.maintain()
    assert stopping[0].sent == [signal.SIGTERM]
    clock.now += 1.5
    arb.maintain()
    assert stopping[0].sent == [signal.SIGTERM, signal.SIGKILL]


def test_ttin_adds_a_worker_and_ttou_never_goes_below_one():
    clock = FakeClock()
    arb = FakeArbiter(clock, workers=1)
    arb.maintain()
    arb.on_signal(signal.SIGTTIN)
    arb.maintain()
    assert len(arb.workers) == 2
    arb.on_signal(signal.SIGTTOU)
    arb.on_signal(signal.SIGTTOU)
    assert arb.target == 1


def test_crash_loop_backs_off_and_stable_workers_reset_it():
    clock = FakeClock()
    arb = FakeArbiter(clock, workers=1)
    arb.maintain()
    for expected in (0.0, 0.1, 0.2):
        worker = arb.spawned[-1]
        die(arb, worker, 1 << 8)
        assert arb.backoff.next_at - clock.now == pytest.approx(expected)
        clock.now += expected
        arb.maintain()
    count = len(arb.spawned)
    worker = arb.spawned[-1]
    die(arb, worker, 1 << 8)                       # 4th death: wait 0.4 s
    arb.maintain()
    assert len(arb.spawned) == count
    clock.now += 0.4
    arb.maintain()
    assert len(arb.spawned) == count + 1
    serve(arb.spawned[-1], clock)
    arb.maintain()
    clock.now += arbiter_module.STABLE_S
    arb.maintain()
    assert arb.backoff.failures == 0


def test_boot_failure_before_anything_served_stops_the_arbiter():
    clock = FakeClock()
    arb = FakeArbiter(clock)
    arb.maintain()
    worker = arb.spawned[0]
    die(arb, worker, 3 << 8)
    assert arb.stopping == "quick" and arb.exit_code == 3


def test_boot_failure_during_reload_keeps_the_old_generation():
    clock = FakeClock()
    arb, old, new = reload_started(clock)
    die(arb, new[0], 3 << 8)
    assert arb.generation == 1 and arb.stopping is None
    arb.maintain()
    assert all(w.sent == [] for w in old)
    assert new[1].sent == [signal.SIGTERM]         # the rest of the abandoned generation


def test_worker_records_carry_each_workers_published_figures():
    clock = FakeClock()
    arb = FakeArbiter(clock)
    arb.maintain()
    for n, w in enumerate(arb.workers.values()):
        w.slot.write(pid=w.pid, state=SERVING, requests=10 + n, connections=2, busy=1,
                     threads=10, queued=n, heartbeat_at=clock())
    clock.now += 1.5
    first, second = arb.spawned
    arb._terminate(second, "a test")
    records = arb.worker_records()
    assert [r["pid"] for r in records] == [first.pid, second.pid]
    assert [r["requests"] for r in records] == [10, 11] and records[1]["queued"] == 1
    assert [r["state"] for r in records] == ["serving", "stopping"]
    assert records[0]["uptime_s"] == records[0]["heartbeat_age_s"] == 1.5


def test_info_is_the_shape_it_was_handed():
    arb = FakeArbiter(FakeClock())
    arb.describe = lambda arbiter: {"arbiter": arbiter}
    assert arb.info() == {"arbiter": arb}


def test_request_stop_is_graceful_once_and_wakes_the_loop():
    arb = FakeArbiter(FakeClock())
    arb.request_stop()                             # before run(): no loop to wake yet
    assert arb.stopping == "graceful"
    arb.stopping = "quick"
    arb.request_stop()
    assert arb.stopping == "quick"                 # never downgrades a quick stop
    arb.signals = Signals()
    try:
        arb.request_stop()
        assert not arb.signals.pending               # a wake, not a signal
        assert os.read(arb.signals.fds[0], 16) == b"!"
    finally:
        arb.signals.close()
