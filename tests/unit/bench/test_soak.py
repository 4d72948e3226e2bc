"""The soak's verdict: the second quarter of the samples against the last quarter."""

from __future__ import annotations

from rocket.bench.soak import verdict


def _samples(rss, fds, threads):
    return [(float(i), rss(i), fds(i), threads(i), 3) for i in range(40)]


def test_a_flat_run_with_noise_and_a_warm_up_is_flat():
    flat, lines = verdict(_samples(lambda i: 50.0 + (i % 3) if i > 5 else 20.0 + i,
                                   lambda i: 30 + (i % 7),          # connections come and go
                                   lambda i: 20 + (i % 5)))
    assert flat, lines


def test_rising_memory_or_a_rising_floor_of_fds_is_growing():
    flat, lines = verdict(_samples(lambda i: 50.0 + i, lambda i: 30, lambda i: 20))
    assert not flat and "GROWING" in lines[0]
    flat, lines = verdict(_samples(lambda i: 50.0, lambda i: 30 + i, lambda i: 20))
    assert not flat and "GROWING" in lines[1]


def test_too_few_samples_give_no_verdict():
    assert verdict(_samples(lambda i: i, lambda i: i, lambda i: i)[:5])[0]
