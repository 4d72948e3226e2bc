"""rocket.logs: lifecycle and info lines on ``Rocket.<Part>``, warnings and errors on
``Rocket.Errors.<Part>`` (Rocket 1.x's rule: the Errors channels carry problems only), and
RateLimitedLog: the first line at once, then one line per interval with the count."""

from __future__ import annotations

import logging
import threading

from rocket.logs import LOG_EVERY_S, RateLimitedLog, part_log


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



def test_a_parts_lines_go_to_its_channel_and_its_problems_to_errors(caplog):
    log = part_log("Tested")
    with caplog.at_level(logging.DEBUG, logger="Rocket"):
        log.debug("d %d", 1)
        log.info("i %d", 2)
        log.warning("w")
        log.error("e")
        try:
            raise ValueError("x")
        except ValueError:
            log.exception("boom")
        log.critical("c")
    got = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert got == [("Rocket.Tested", "DEBUG", "d 1"), ("Rocket.Tested", "INFO", "i 2"),
                   ("Rocket.Errors.Tested", "WARNING", "w"),
                   ("Rocket.Errors.Tested", "ERROR", "e"),
                   ("Rocket.Errors.Tested", "ERROR", "boom"),
                   ("Rocket.Errors.Tested", "CRITICAL", "c")]
    assert caplog.records[4].exc_info is not None
    assert {r.funcName for r in caplog.records} == {
        "test_a_parts_lines_go_to_its_channel_and_its_problems_to_errors"}  # the caller's


def test_is_enabled_for_follows_the_channel_of_the_level(caplog):
    log = part_log("Tested2")
    logging.getLogger("Rocket.Tested2").setLevel(logging.WARNING)
    try:
        assert not log.isEnabledFor(logging.INFO)
        assert log.isEnabledFor(logging.ERROR)
    finally:
        logging.getLogger("Rocket.Tested2").setLevel(logging.NOTSET)
