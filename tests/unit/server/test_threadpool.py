"""ThreadPool: grows at once, stays within max, retires in bulk, survives thread-start
failures, stop() never hangs."""

from __future__ import annotations

import math
import queue
import threading
import time

import pytest

from rocket.server import threadpool
from rocket.server.threadpool import HandOffQueue, ThreadPool
from tests.unit.server.fakes import FailingThreadFactory


def wait_for(predicate, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


@pytest.fixture(autouse=True, params=["SimpleQueue", "HandOffQueue"])
def pool_queue(request, monkeypatch):
    """Every pool test runs on both queues: CPython's ``SimpleQueue`` and PyPy's
    ``HandOffQueue``."""
    monkeypatch.setattr(threadpool, "_QUEUE", queue.SimpleQueue if request.param == "SimpleQueue"
                        else HandOffQueue)
    return request.param


def test_the_hand_off_queue_keeps_order_and_wakes_the_latest_waiter(pool_queue):
    q = HandOffQueue()
    for item in (1, 2, 3):
        q.put(item)
    assert q.qsize() == 3 and [q.get(), q.get_nowait(), q.get()] == [1, 2, 3]
    with pytest.raises(queue.Empty):
        q.get_nowait()
    got = {}
    waiting = []

    def waiter(name):
        waiting.append(name)
        got[name] = q.get()

    threads = []
    for name in ("first", "second"):  # the second waits after the first
        thread = threading.Thread(target=waiter, args=(name,))
        thread.start()
        threads.append(thread)
        assert wait_for(lambda: len(q._waiters) == len(threads))
    q.put("a")
    assert wait_for(lambda: "second" in got) and got == {"second": "a"}
    assert q.qsize() == 0  # handed over, never queued
    q.put("b")
    for thread in threads:
        thread.join(2)
    assert got == {"second": "a", "first": "b"}

    def twice():  # one thread waits again: its lock is ready for the next wait
        got["once"] = q.get()
        got["twice"] = q.get()

    thread = threading.Thread(target=twice)
    thread.start()
    assert wait_for(lambda: len(q._waiters) == 1)
    q.put("c")
    assert wait_for(lambda: "once" in got and len(q._waiters) == 1)
    q.put("d")
    thread.join(2)
    assert (got["once"], got["twice"]) == ("c", "d") and not q._waiters


@pytest.fixture
def pools():
    made = []

    def make(*args, **kwargs):
        pool = ThreadPool(*args, **kwargs)
        made.append(pool)
        pool.start()
        return pool

    yield make
    for pool in made:
        pool.stop(timeout=2)


def test_runs_items_on_named_threads(pools):
    seen = []
    done = threading.Event()

    def handler(item):
        seen.append((item, threading.current_thread().name))
        if len(seen) == 50:
            done.set()

    pool = pools(handler, min_threads=2)
    for i in range(50):
        pool.submit(i)
    assert done.wait(3)
    assert sorted(i for i, _ in seen) == list(range(50))
    assert all(name.startswith("rocket-worker-") for _, name in seen)


def test_grows_at_once_when_all_threads_are_busy(pools):
    release = threading.Event()
    started = []
    pool = pools(lambda item: (started.append(item), release.wait(5)), min_threads=2)
    t0 = time.monotonic()
    for i in range(40):
        pool.submit(i)
    assert wait_for(lambda: len(started) == 40, 2)
    assert time.monotonic() - t0 < 1.5  # not one thread per second, as Rocket 1.x
    assert pool.stats()["threads"] >= 40 and pool.stats()["busy"] == 40
    release.set()


def test_max_threads_bounds_the_pool_and_work_waits(pools):
    release = threading.Event()
    done = []
    pool = pools(lambda item: (release.wait(5), done.append(item)), min_threads=1,
                 max_threads=4, queue_size=3)
    for i in range(10):
        pool.submit(i)
    assert wait_for(lambda: pool.stats()["busy"] == 4)
    time.sleep(0.15)  # the manager must not grow past max either
    stats = pool.stats()
    assert stats["threads"] == 4 and stats["queued"] == 6
    assert not pool.has_room() and pool.has_waiting
    release.set()
    assert wait_for(lambda: len(done) == 10)
    assert pool.has_room() and not pool.has_waiting


def test_idle_threads_retire_in_bulk_after_the_idle_period(pools):
    release = threading.Event()
    pool = pools(lambda item: release.wait(5), min_threads=2, idle_timeout_s=0.3)
    for i in range(40):
        pool.submit(i)
    assert wait_for(lambda: pool.stats()["threads"] == 40)
    release.set()
    released_at = time.monotonic()
    time.sleep(0.05)
    assert pool.stats()["threads"] > 2  # busy during the last window: not surplus yet
    # one thread per period, as before, would take 38 x 0.3 = 11.4 s
    assert wait_for(lambda: pool.stats()["threads"] == 2, 3)
    assert time.monotonic() - released_at < 1.5
    time.sleep(0.4)
    assert pool.stats()["threads"] == 2  # never below min_threads


def test_the_bound_holds_under_a_burst(pools):
    release = threading.Event()
    pool = pools(lambda item: release.wait(5), min_threads=1, max_threads=8, queue_size=0)
    burst = [threading.Thread(target=lambda: [pool.submit(i) for i in range(100)])
             for _ in range(5)]
    for thread in burst:
        thread.start()
    for thread in burst:
        thread.join(5)
    time.sleep(0.2)  # the manager ticks too
    stats = pool.stats()
    assert stats["threads"] == 8 and stats["queued"] == 492
    release.set()
    assert wait_for(lambda: pool.stats()["handled"] == 500)


def test_thread_start_failure_backs_off_logs_once_and_keeps_serving(pools, caplog):
    factory = FailingThreadFactory(allowed=2)
    done = []
    pool = pools(lambda item: (time.sleep(0.02), done.append(item)), min_threads=2,
                 thread_factory=factory)
    t0 = time.monotonic()
    for i in range(60):
        pool.submit(i)
    assert wait_for(lambda: len(done) == 60, 5)  # two threads, 20 ms each
    elapsed = time.monotonic() - t0
    assert pool.stats()["threads"] == 2
    # back-off 50 ms, 100 ms, 200 ms...: a handful of attempts, not one per submit or tick
    assert 1 <= pool.start_failures <= 2 + math.log2(elapsed / 0.05 + 1)
    lines = [r for r in caplog.records if "cannot start a worker thread" in r.getMessage()]
    assert len(lines) == 1 and "serving with" in lines[0].getMessage()


def test_stop_never_hangs_on_a_stuck_handler():
    aborted = []
    stuck = threading.Event()

    def handler(item):
        while not aborted:
            stuck.set()
            time.sleep(0.01)

    pool = ThreadPool(handler, min_threads=1, abort=aborted.append)
    pool.start()
    pool.submit("conn")
    assert stuck.wait(2)
    t0 = time.monotonic()
    alive = pool.stop(timeout=1.0)
    assert time.monotonic() - t0 < 1.5
    assert aborted == ["conn"] and alive == []


def test_stop_discards_queued_and_late_items():
    discarded = []
    handled = []
    pool = ThreadPool(lambda item: (handled.append(item), time.sleep(0.3)), min_threads=1,
                      max_threads=1, discard=discarded.append)
    pool.start()
    for i in range(4):
        pool.submit(i)
    pool.stop(timeout=2)
    pool.submit("late")
    assert len(handled) <= 1  # one thread, 0.3 s per item: the rest were still queued
    assert sorted(handled + discarded, key=str) == [0, 1, 2, 3, "late"]
    assert not [t for t in threading.enumerate() if t.name.startswith("rocket-worker")]


def test_handler_errors_are_logged_and_the_thread_survives(pools, caplog):
    done = threading.Event()

    def handler(item):
        if item == "boom":
            raise RuntimeError("boom")
        done.set()

    discarded = []
    pool = pools(handler, min_threads=1, max_threads=1, discard=discarded.append)
    pool.submit("boom")
    pool.submit("ok")
    assert done.wait(2)
    assert discarded == ["boom"]
    assert "unhandled error" in caplog.text


def test_min_greater_than_max_is_refused():
    with pytest.raises(ValueError):
        ThreadPool(lambda i: None, min_threads=5, max_threads=2)


class FakeCPU:
    """A process CPU clock the test steers: ``share`` of a CPU used per wall second."""

    def __init__(self, share):
        self.share = share
        self.used = 0.0
        self.at = time.monotonic()

    def __call__(self):
        now = time.monotonic()
        self.used += (now - self.at) * self.share
        self.at = now
        return self.used


def test_no_growth_past_min_threads_while_the_lock_is_saturated(pools):
    cpu = FakeCPU(1.0)
    release = threading.Event()
    pool = pools(lambda item: release.wait(5), min_threads=2, tick_s=0.02, process_time=cpu)
    assert wait_for(lambda: pool.cpu_bound)
    for i in range(20):
        pool.submit(i)
    time.sleep(0.2)  # ten ticks: more threads would only wait for the lock
    assert pool.stats()["threads"] == 2 and pool.stats()["queued"] == 18
    cpu.share = 0.1  # the work blocks after all: the CPU is free, threads help
    assert wait_for(lambda: pool.stats()["threads"] >= 20)
    assert not pool.cpu_bound
    release.set()


def thirty_threads_then_saturated(pools, hold_s):
    """A pool of min_threads 2 grown to 30 threads by work holding each ``hold_s`` while the
    CPU was free; the CPU then reads saturated. Returns (pool, release)."""
    cpu = FakeCPU(0.1)
    release = threading.Event()
    pool = pools(lambda item: release.wait(hold_s), min_threads=2, tick_s=0.02,
                 idle_timeout_s=60, process_time=cpu)
    for i in range(30):
        pool.submit(i)
    assert wait_for(lambda: pool.stats()["threads"] >= 30)
    cpu.share = 1.0
    return pool, release


def test_a_saturated_crowded_pool_retires_its_surplus_threads(pools):
    pool, _ = thirty_threads_then_saturated(pools, 0.05)
    for i in range(200):  # a crowd that keeps coming
        pool.submit(i)
    assert wait_for(lambda: pool.stats()["threads"] == 2, 5)


def test_a_burst_starts_at_most_grow_per_tick_threads_between_ticks(pools, monkeypatch):
    from rocket.server import threadpool

    monkeypatch.setattr(threadpool, "GROW_PER_TICK", 5)
    release = threading.Event()
    pool = pools(lambda item: release.wait(5), min_threads=2, tick_s=30)
    for i in range(40):
        pool.submit(i)
    time.sleep(0.1)
    assert pool.stats()["threads"] == 7  # min_threads, then 5 before the manager's next look
    release.set()


def test_retire_sentinels_do_not_pile_up_while_busy_threads_are_slow_to_take_them(pools):
    """Every tick of a saturated, crowded pool wants the surplus retired, but busy threads
    take the sentinels only when they come back: the queue holds at most one per surplus
    thread, never one more per tick."""
    pool, release = thirty_threads_then_saturated(pools, 5)
    assert wait_for(lambda: pool.cpu_bound)
    for i in range(20):  # crowded: 20 wait, every thread busy
        pool.submit(i)
    time.sleep(0.4)  # about 20 ticks
    assert pool.stats()["queued"] <= 20 + 28
    release.set()
    assert wait_for(lambda: pool.stats()["threads"] == 2, 5)
