"""Logger names and the access-log line formats.

The channels keep Rocket's names so existing logging configs keep working:
``Rocket`` (everything), ``Rocket.Requests`` (access log, INFO), ``Rocket.Errors.<where>``
(errors and lifecycle) and ``Rocket.Monitor``. The library installs no output handler, only a
``NullHandler`` on ``Rocket``; applications and the CLI configure output.
"""

from __future__ import annotations

import logging

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
