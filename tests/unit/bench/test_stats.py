"""The latency histogram and the number formatting of the load reports."""

from __future__ import annotations

import random

import pytest

from rocket.bench.stats import (
    LatencyHistogram,
    fairness,
    fmt_bytes,
    fmt_ms,
    fmt_rate,
    markdown_table,
    merge_counts,
    percentile_key,
)


def exact_percentile(samples_us, pct):
    ordered = sorted(samples_us)
    rank = max(1, int(-(-pct / 100.0 * len(ordered) // 1)))  # ceil, at least the first
    return ordered[rank - 1]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_within_a_tenth_of_a_percent(seed):
    rng = random.Random(seed)
    samples_us = [int(rng.lognormvariate(7, 1.5)) + 1 for _ in range(20000)]
    h = LatencyHistogram()
    for us in samples_us:
        h.add(us / 1e6)
    for pct in (50, 90, 99, 99.9):
        want_ms = exact_percentile(samples_us, pct) / 1000.0
        got_ms = h.percentile(pct)
        assert got_ms <= want_ms + 1e-9
        assert got_ms >= want_ms * (1 - 0.001) - 0.001
    assert h.max_us == max(samples_us)
    assert h.count == len(samples_us)
    assert h.mean_ms() == pytest.approx(sum(samples_us) / len(samples_us) / 1000.0)


def test_small_latencies_are_exact_to_the_microsecond():
    h = LatencyHistogram()
    for us in (5, 6, 7, 1500):
        h.add(us / 1e6 + 1e-9)
    assert h.percentile(25) == 0.005
    assert h.percentile(75) == 0.007
    assert h.percentile(100) == 1.5


def test_merge_equals_recording_everything_in_one():
    rng = random.Random(7)
    a, b, both = LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    for i in range(5000):
        s = rng.random() / 10
        (a if i % 3 else b).add(s)
        both.add(s)
    a.merge(b)
    assert a.buckets == both.buckets
    assert (a.count, a.total_us, a.max_us) == (both.count, both.total_us, both.max_us)
    assert a.summary() == both.summary()


def test_dict_round_trip_and_empty_histogram():
    h = LatencyHistogram()
    assert h.percentile(50) is None
    assert h.summary()["max_ms"] is None
    for s in (0.001, 0.002, 0.5):
        h.add(s)
    again = LatencyHistogram.from_dict(h.to_dict())
    assert again.buckets == h.buckets
    assert again.summary() == h.summary()


def test_percentile_keys_and_counts():
    assert [percentile_key(p) for p in (50, 90, 99, 99.9)] == [
        "p50_ms", "p90_ms", "p99_ms", "p999_ms"]
    assert merge_counts([{"read": 1, "timeout": 0}, {"read": 2, "connect": 4}]) == {
        "connect": 4, "read": 3}


def test_formatting():
    assert fmt_rate(None) == "-"
    assert fmt_rate(512.4) == "512"
    assert fmt_rate(1234.0) == "1.23k"
    assert fmt_rate(12345.0) == "12.3k"
    assert fmt_rate(2_500_000.0) == "2.50M"
    assert fmt_ms(0.1234) == "0.12"
    assert fmt_ms(12.34) == "12.3"
    assert fmt_ms(1234.5) == "1234"
    assert fmt_bytes(100) == "100 B"
    assert fmt_bytes(1536) == "1.50 KiB"
    assert fmt_bytes(3 * 1024 ** 3) == "3.00 GiB"
    table = markdown_table(["server", "a"], [["rocket", "1"]])
    assert table.splitlines() == ["| server | a |", "|---|---:|", "| rocket | 1 |"]


def test_fairness():
    even = fairness([10, 10, 10, 10])
    assert even == {"connections": 4, "served": 4, "min": 10, "median": 10.0, "max": 10,
                    "jain": 1.0}
    starved = fairness([0, 0, 0, 40])
    assert starved["served"] == 1 and starved["jain"] == 0.25 and starved["median"] == 0
    assert fairness([])["connections"] == 0
    assert fairness([1, 2, 3])["median"] == 2
