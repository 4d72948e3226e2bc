"""Logger names and the access-log line formats.

The channels keep Rocket 1.x's names so existing logging configs keep working, and its rule:
``Rocket.Errors.*`` carries errors and warnings only, so grepping or alerting on "Errors"
finds problems, never routine lines.

- ``Rocket``: the server's lifecycle (``Starting``, ``Listening on sockets``, signals, stop);
- ``Rocket.<Part>`` (``Rocket.Arbiter``, ``Rocket.Worker``, ``Rocket.Server``,
  ``Rocket.Monitor``, ``Rocket.Reload``): that part's lifecycle, info and debug lines;
- ``Rocket.Errors.<Part>``: that part's warnings and errors (``Rocket.Errors.Arbiter``...,
  ``Rocket.Errors.Port8000`` for a listener, a thread's name for a request's error);
- ``Rocket.Requests``: the access log, INFO.

:func:`part_log` gives a part both at once. The library installs no output handler, only a
``NullHandler`` on ``Rocket``; applications and the CLI configure output (docs/logging.md).

A line that can repeat many times a second (accept failures, a thread that cannot start)
goes through :class:`RateLimitedLog`, so a flood of one failure writes one line per
``LOG_EVERY_S``, with a count, instead of filling the disk.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

NullHandler = logging.NullHandler

ROOT_NAME = "Rocket"
log = logging.getLogger(ROOT_NAME)
log.addHandler(NullHandler())
requests_log = logging.getLogger(ROOT_NAME + ".Requests")

ROCKET_FORMAT = '%(client_ip)s - "%(request_line)s" - %(status)s %(size)s'
"""Rocket 1.x access-log line, kept as the default of the ``Rocket(...)`` API."""

COMBINED_FORMAT = (
    '%(client_ip)s - - [%(time)s] "%(request_line)s" %(status)s %(size)s '
    '"%(referer)s" "%(user_agent)s"'
)
"""Apache combined format, the CLI default."""


def errors_log(where: str) -> logging.Logger:
    """The ``Rocket.Errors.<where>`` logger (``Port8000``, ``ThreadPool``, a thread name)."""
    return logging.getLogger(f"{ROOT_NAME}.Errors.{where}")


LOG_EVERY_S = 10.0
"""Interval of a :class:`RateLimitedLog`: one line at once, then at most one per 10 s, short
enough that an operator watching the log sees a failure persist, long enough that a failure
repeating 10,000 times a second writes 6 lines a minute."""


class RateLimitedLog:
    """One repeated log line, rate-limited: the first call logs at once, later calls within
    ``interval_s`` are only counted, and the first call after the interval logs with the
    number suppressed meanwhile (``... (1234 more like this in the last 10s)``).

    Thread-safe; a suppressed call costs a clock read and a locked increment.
    """

    def __init__(self, logger: logging.Logger, interval_s: float = LOG_EVERY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self.clock = clock
        self.suppressed = 0
        """Calls not logged since the last line."""
        self._next_at = float("-inf")
        self._lock = threading.Lock()

    def log(self, level: int, msg: str, *args: Any, **kwargs: Any) -> bool:
        """Log ``msg % args`` at ``level`` unless a line went out less than ``interval_s``
        ago; returns True when this call wrote a line."""
        now = self.clock()
        with self._lock:
            if now < self._next_at:
                self.suppressed += 1
                return False
            suppressed, self.suppressed = self.suppressed, 0
            self._next_at = now + self.interval_s
        if suppressed:
            msg += " (%d more like this in the last %gs)"
            args += (suppressed, self.interval_s)
        self.logger.log(level, msg, *args, **kwargs)
        return True

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> bool:
        """:meth:`log` at WARNING."""
        return self.log(logging.WARNING, msg, *args, **kwargs)

    def error(self, msg: str, *args: Any, **kwargs: Any) -> bool:
        """:meth:`log` at ERROR."""
        return self.log(logging.ERROR, msg, *args, **kwargs)

    def exception(self, msg: str, *args: Any) -> bool:
        """:meth:`log` at ERROR with the current exception's traceback."""
        return self.log(logging.ERROR, msg, *args, exc_info=True)


class PartLog:
    """One part's log: debug and info lines on ``Rocket.<part>``, warnings and errors on
    ``Rocket.Errors.<part>``; the methods of :class:`logging.Logger` that Rocket uses."""

    def __init__(self, part: str) -> None:
        self.lines = logging.getLogger(f"{ROOT_NAME}.{part}")
        self.errors = errors_log(part)

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - logging's name
        """True when a record of ``level`` would be handled on its channel."""
        logger = self.errors if level >= logging.WARNING else self.lines
        return logger.isEnabledFor(level)

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        """Log on the channel of ``level`` (the caller's file and line are recorded)."""
        logger = self.errors if level >= logging.WARNING else self.lines
        if logger.isEnabledFor(level):
            kwargs.setdefault("stacklevel", 3)
            logger.log(level, msg, *args, **kwargs)

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """A debug line on ``Rocket.<part>``."""
        self.log(logging.DEBUG, msg, *args, **kwargs)

    def info(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """An info (lifecycle) line on ``Rocket.<part>``."""
        self.log(logging.INFO, msg, *args, **kwargs)

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """A warning on ``Rocket.Errors.<part>``."""
        self.log(logging.WARNING, msg, *args, **kwargs)

    def error(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """An error on ``Rocket.Errors.<part>``."""
        self.log(logging.ERROR, msg, *args, **kwargs)

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """An error with the current traceback on ``Rocket.Errors.<part>``."""
        kwargs.setdefault("exc_info", True)
        self.log(logging.ERROR, msg, *args, **kwargs)

    def critical(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """A critical error on ``Rocket.Errors.<part>``."""
        self.log(logging.CRITICAL, msg, *args, **kwargs)


def part_log(part: str) -> PartLog:
    """The log of one part (``Arbiter``, ``Worker``...): see :class:`PartLog`."""
    return PartLog(part)


monitor_log = part_log("Monitor")
"""The monitor's log: its debug lines on ``Rocket.Monitor``, a failed dispatch on
``Rocket.Errors.Monitor``."""
