"""rocket.logs: lifecycle and info lines on ``Rocket.<Part>``, warnings and errors on
``Rocket.Errors.<Part>`` (Rocket 1.x's rule: the Errors channels carry problems only)."""

from __future__ import annotations

import logging

from rocket.logs import part_log


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
