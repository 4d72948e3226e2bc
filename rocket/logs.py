"""Logger names and the access-log line formats.

The channels keep Rocket's names so existing logging configs keep working:
``Rocket`` (everything), ``Rocket.Requests`` (access log, INFO), ``Rocket.Errors.<where>``
(errors and lifecycle) and ``Rocket.Monitor``. The library installs no output handler, only a
``NullHandler`` on ``Rocket``; applications and the CLI configure output.

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
monitor_log = logging.getLogger(ROOT_NAME + ".Monitor")

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
