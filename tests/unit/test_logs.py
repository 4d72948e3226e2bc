"""RateLimitedLog: the first line at once, then one line per interval with the count."""

from __future__ import annotations

import logging
import threading

from rocket.logs import LOG_EVERY_S, RateLimitedLog


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_first_line_at_once_then_one_per_interval_with_the_count(caplog):
    clock = FakeClock()
    limited = RateLimitedLog(logging.getLogger("Rocket.Errors.Test"), 10.0, clock)
    with caplog.at_level(logging.WARNING, "Rocket.Errors.Test"):
        assert limited.warning("accept() failed: %s", "EMFILE")
        for _ in range(999):
            clock.now += 0.001
            assert not limited.warning("accept() failed: %s", "EMFILE")
        assert limited.suppressed == 999
        clock.now += 10.0
        assert limited.warning("accept() failed: %s", "EMFILE")
        clock.now += 10.0
        assert limited.warning("accept() failed: %s", "EMFILE")
    assert [r.getMessage() for r in caplog.records] == [
        "accept() failed: EMFILE",
        "accept() failed: EMFILE (999 more like this in the last 10s)",
        "accept() failed: EMFILE",
    ]
    assert limited.suppressed == 0


def test_a_flood_from_many_threads_writes_one_line(caplog):
    limited = RateLimitedLog(logging.getLogger("Rocket.Errors.Test"))
    assert limited.interval_s == LOG_EVERY_S

    def flood() -> None:
        for _ in range(2000):
            limited.error("cannot start a worker thread")

    threads = [threading.Thread(target=flood) for _ in range(4)]
    with caplog.at_level(logging.ERROR, "Rocket.Errors.Test"):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert len(caplog.records) == 1 and limited.suppressed == 7999


def test_exception_keeps_the_traceback(caplog):
    limited = RateLimitedLog(logging.getLogger("Rocket.Errors.Test"))
    try:
        raise ValueError("bad")
    except ValueError:
        limited.exception("cannot set up a connection from %s", "1.2.3.4")
    assert caplog.records[0].exc_info[0] is ValueError
