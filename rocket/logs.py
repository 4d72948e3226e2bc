"""Logger names and the access-log line.

The channels keep Rocket's names so existing logging configs keep working:
``Rocket`` (everything), ``Rocket.Requests`` (access log, INFO), ``Rocket.Errors.<where>``
(errors and lifecycle) and ``Rocket.Monitor``. The library installs no output handler, only a
``NullHandler`` on ``Rocket``; applications and the CLI configure output.
"""

from __future__ import annotations

import logging
from typing import Any

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

_ACCESS_DEFAULTS = {"time": "-", "referer": "-", "user_agent": "-", "size": "-"}


def errors_log(where: str) -> logging.Logger:
    """The ``Rocket.Errors.<where>`` logger (``Port8000``, ``ThreadPool``, a thread name)."""
    return logging.getLogger(f"{ROOT_NAME}.Errors.{where}")


def format_access(fmt: str, fields: dict) -> str:
    """Render one access-log line; missing optional fields print as ``-``."""
    if len(fields) < 7:
        merged = dict(_ACCESS_DEFAULTS)
        merged.update(fields)
        fields = merged
    return fmt % fields


class AccessLog:
    """Writes one INFO line per request to ``Rocket.Requests``.

    ``enabled`` is checked by callers before building the fields, so a disabled access log
    costs one attribute read per request.
    """

    def __init__(self, fmt: str = ROCKET_FORMAT, enabled: bool = True,
                 logger: logging.Logger = requests_log) -> None:
        self.fmt = fmt
        self.logger = logger
        self._wanted = enabled

    @property
    def enabled(self) -> bool:
        """True when the setting is on and the logger would emit INFO records."""
        return self._wanted and self.logger.isEnabledFor(logging.INFO)

    def log(self, **fields: Any) -> None:
        """Emit the line for one finished request (``client_ip``, ``request_line``, ``status``, ``size``...)."""
        self.logger.info(format_access(self.fmt, fields))
