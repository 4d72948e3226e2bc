"""Per-thread metrics counters: recording, summing over threads, ended threads kept."""

from __future__ import annotations

import threading

from rocket.metrics.recorder import (
    BUCKETS_S,
    DURATION_SUM,
    HISTOGRAM,
    METHODS,
    SIZE,
    STATUS_CLASSES,
    Recorder,
    bucket_index,
    method_index,
    record,
    status_index,
)


def test_indexes():
    assert method_index(b"GET") == 0 and method_index(b"BREW") == method_index(b"other")
    assert status_index(204) == 1 and status_index(503) == 4
    assert status_index(None) == status_index(999) == len(STATUS_CLASSES) - 1
    assert bucket_index(0.0005) == HISTOGRAM and bucket_index(BUCKETS_S[-1] + 1) == \
        HISTOGRAM + len(BUCKETS_S)
    assert method_index(METHODS[-1].encode()) + len(STATUS_CLASSES) == HISTOGRAM < SIZE


def test_threads_sum_and_ended_threads_stay_counted():
    recorder = Recorder()

    def work(n):
        counters = recorder.thread_counters()
        for _ in range(n):
            record(counters, b"GET", 200, 0.002, 1, 10)

    threads = [threading.Thread(target=work, args=(n,)) for n in (3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    mine = recorder.thread_counters()
    record(mine, b"POST", 500, 2.0, 0, 0)
    for _ in range(2):  # the second snapshot sees the ended threads' folded totals
        total = recorder.snapshot()
        assert total[method_index(b"GET") + status_index(200)] == 7
        assert total[method_index(b"POST") + status_index(500)] == 1
        assert total[DURATION_SUM] == 7 * 0.002 + 2.0
