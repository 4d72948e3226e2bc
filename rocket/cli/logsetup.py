"""Logging for the ``rocket`` command (the library itself installs no handler).

By default the ``Rocket`` channel goes to standard error at ``--log-level`` and the access log
to ``--access-log`` (a file, or ``-`` for standard output) through the buffered
:class:`rocket.accesslog.AccessLogWriter`, not through logging (``Rocket.Requests`` stays
quiet). ``--log-config FILE`` hands the whole setup to :func:`logging.config.dictConfig`
with the JSON or TOML document in FILE instead.
"""

from __future__ import annotations

import json
import logging
import logging.config
import sys
from typing import Any, Dict, Optional

from rocket import accesslog
from rocket.accesslog import AccessLogWriter
from rocket.config.sources import Resolved, SourceError, level_number, read_toml
from rocket.logs import ROOT_NAME

LOG_FORMAT = "[%(asctime)s] %(levelname)s %(name)s: %(message)s"
"""Error/lifecycle line of the CLI: time, level, channel, message."""


class LogSetupError(Exception):
    """The logging settings cannot be applied; ``str()`` is one line naming the option."""


def load_log_config(path: str, label: str) -> Dict[str, Any]:
    """The dictConfig document in ``path`` (``.toml`` read as TOML, anything else as JSON)."""
    if path.endswith(".toml"):
        try:
            return read_toml(path)
        except SourceError as exc:
            raise LogSetupError(f"{label}: {exc}") from None
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as exc:
        raise LogSetupError(f"{label}: cannot read {path!r}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise LogSetupError(f"{label}: {path!r} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise LogSetupError(f"{label}: {path!r} must hold a JSON object")
    return doc


def setup_logging(resolved: Resolved) -> None:
    """Install the CLI's handlers (or the ``log_config`` file's) for these settings."""
    values, origin = resolved.values, resolved.origin
    if values["log_config"]:
        label = origin.get("log_config", "--log-config")
        doc = load_log_config(values["log_config"], label)
        doc.setdefault("version", 1)
        doc.setdefault("disable_existing_loggers", False)
        try:
            logging.config.dictConfig(doc)
        except (ValueError, TypeError, AttributeError, ImportError) as exc:
            message = " ".join(str(exc).split())
            raise LogSetupError(f"{label}: {values['log_config']!r}: {message}") from None
        return
    access = logging.getLogger(ROOT_NAME + ".Requests")
    target = values["access_log"]
    writer: Optional[AccessLogWriter] = None
    if target == "-":
        writer = AccessLogWriter(sys.stdout)
    elif target is not None:
        try:
            stream = open(target, "a", encoding="utf-8", buffering=1 << 16)  # noqa: SIM115
        except OSError as exc:
            label = origin.get("access_log", "--access-log")
            raise LogSetupError(f"{label}: cannot open {target!r}: "
                                f"{exc.strerror or exc}") from None
        writer = AccessLogWriter(stream, close_stream=True)
    root = logging.getLogger(ROOT_NAME)
    root.setLevel(level_number(values["log_level"]))
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    # The access log bypasses logging (see rocket.accesslog): the channel stays quiet.
    access.propagate = False
    access.disabled = True
    if writer is not None:
        accesslog.install(writer)
