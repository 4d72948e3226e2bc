"""``Serving on http://127.0.0.1:8000``: the line ``serve()`` and the ``rocket`` command print
per listener once the sockets are bound, as waitress's ``serve()`` does.

The URL is the one to click: ``http://`` or ``https://`` (TLS), IPv6 hosts in brackets, the
port the system chose for port 0, ``unix:PATH`` for a unix socket. The lines go to standard
error, where the logs go (standard output may carry the access log). ``serve()`` prints them
only when logging is not configured (no handler on ``Rocket`` or the root logger): a
configured log already says ``Listening on sockets``. ``Rocket(...)`` stays silent, as
Rocket 1.x was.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Iterable, List, Optional, TextIO

from rocket.logs import ROOT_NAME

__all__ = ["serving_urls", "announce", "announce_arbiter", "logging_configured"]


def serving_urls(interfaces: Iterable[Any]) -> List[str]:
    """One URL per bound interface: ``http://[::1]:8000``, ``https://...``, ``unix:PATH``."""
    urls = []
    for interface in interfaces:
        if interface.unix_path is not None:
            urls.append("unix:" + interface.unix_path)
        elif interface.fd is not None:
            urls.append(f"fd://{interface.fd}")
        else:
            host = f"[{interface.host}]" if ":" in interface.host else interface.host
            scheme = "https" if interface.secure else "http"
            urls.append(f"{scheme}://{host}:{interface.port}")
    return urls


def announce(interfaces: Iterable[Any], stream: Optional[TextIO] = None) -> None:
    """Print ``Serving on URL`` for each interface (to standard error by default)."""
    out = stream if stream is not None else sys.stderr
    for url in serving_urls(interfaces):
        print(f"Serving on {url}", file=out, flush=True)


def announce_arbiter(arbiter: Any) -> None:
    """The ``ready`` hook of :func:`rocket.process.launch.launch` that announces: bind the
    arbiter's sockets now (it would bind them first thing anyway) and print their URLs."""
    arbiter.bind()
    announce(arbiter.interfaces)


def logging_configured() -> bool:
    """True when a handler other than the library's ``NullHandler`` would show Rocket's log."""
    rocket = logging.getLogger(ROOT_NAME)
    own = [h for h in rocket.handlers if not isinstance(h, logging.NullHandler)]
    return bool(own or logging.getLogger().handlers)
