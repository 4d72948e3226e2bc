"""The arbiter's metric sums (live workers' published counters + exited ones) and its
sd_notify sequence (READY, RELOADING, READY after the new generation serves)."""

from __future__ import annotations

import types

from rocket.metrics.recorder import SIZE, method_index, status_index
from rocket.process.observer import Observer, WorkerTotals
from rocket.process.scoreboard import Slot


def worker(pid: int, requests: int, received: int = 0) -> types.SimpleNamespace:
    slot = Slot()
    counters = [0.0] * SIZE
    counters[method_index(b"GET") + status_index(200)] = requests
    slot.publish(counters)
    slot.write(pid=pid, busy=1, threads=4, received=received)
    return types.SimpleNamespace(pid=pid, slot=slot)


def test_exited_workers_keep_counting():
    totals = WorkerTotals()
    first, second = worker(1, 10, received=3), worker(2, 5, received=2)
    totals.spawned(first)
    totals.spawned(second)
    key = method_index(b"GET") + status_index(200)
    sample = totals.sample()
    assert sample.counters[key] == 15 and sample.workers == 2
    assert sample.figures["busy"] == 2 and sample.figures["received"] == 5
    totals.exited(first, "max_requests")
    sample = totals.sample()
    assert sample.counters[key] == 15 and sample.workers == 1 and first.slot._map.closed
    assert sample.figures["busy"] == 1 and sample.figures["received"] == 5
    assert sample.restarts == {"max_requests": 1}
    totals.exited(second, None)  # the arbiter stopping: no restart counted
    assert totals.sample().restarts == {"max_requests": 1}


class FakeNotifier:
    watchdog_s = None

    def __init__(self):
        self.sent = []

    def ready(self):
        self.sent.append("READY")

    def reloading(self):
        self.sent.append("RELOADING")

    def stopping(self):
        self.sent.append("STOPPING")

    def close(self):
        pass


def test_arbiter_notification_sequence():
    notifier = FakeNotifier()
    observer = Observer(notifier=notifier)
    old = types.SimpleNamespace(generation=1, serving_since=1.0)
    arbiter = types.SimpleNamespace(ever_served=False, generation=1, workers={1: old})
    observer.tick(arbiter)
    arbiter.ever_served = True
    observer.tick(arbiter)
    arbiter.generation = 2  # SIGHUP
    new = types.SimpleNamespace(generation=2, serving_since=None)
    arbiter.workers[2] = new
    observer.tick(arbiter)
    new.serving_since = 2.0
    observer.tick(arbiter)  # the old one still runs
    del arbiter.workers[1]
    observer.tick(arbiter)
    observer.tick(arbiter)
    assert notifier.sent == ["READY", "RELOADING", "READY"]
