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


def test_a_sawtooth_heap_is_judged_by_its_floor():
    """A garbage-collected heap climbs between collections and drops at each: its floor is
    what stays. A late window caught mostly high on its saw (median +15 %) is flat; a floor
    that rises is growing."""
    def saw(i):
        if i < 30:
            return 800.0 + 50.0 * (i % 10)  # collected every 10 samples
        return 800.0 if i == 30 else 950.0 + 50.0 * (i - 30)  # the last saw climbs higher

    flat, lines = verdict(_samples(saw, lambda i: 30, lambda i: 20))
    assert flat, lines
    flat, lines = verdict(_samples(lambda i: saw(i) + 8.0 * i, lambda i: 30, lambda i: 20))
    assert not flat and "GROWING" in lines[0]
