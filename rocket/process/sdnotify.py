"""systemd's notification protocol (``sd_notify(3)``) in pure Python.

When systemd starts Rocket as a ``Type=notify`` (or ``notify-reload``) service it sets
``NOTIFY_SOCKET`` to a unix datagram socket (a path, or ``@name`` in the abstract namespace).
Rocket sends ``READY=1`` once it serves, ``RELOADING=1`` (with ``MONOTONIC_USEC``, which
``notify-reload`` requires) when a reload begins and ``READY=1`` again when it is done,
``STOPPING=1`` when it stops, and ``WATCHDOG=1`` every half ``WATCHDOG_USEC`` when the unit
sets ``WatchdogSec=``. Without ``NOTIFY_SOCKET`` every call does nothing.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Mapping, Optional

__all__ = ["Notifier", "watchdog_interval_s"]


def watchdog_interval_s(environ: Mapping[str, str]) -> Optional[float]:
    """Seconds between ``WATCHDOG=1`` pings: half of ``WATCHDOG_USEC`` (as sd_watchdog_enabled
    advises), or None when the watchdog is off or meant for another process."""
    usec = environ.get("WATCHDOG_USEC", "")
    pid = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2e6


class Notifier:
    """Sends notifications to ``NOTIFY_SOCKET`` (read from ``environ`` once, at creation)."""

    def __init__(self, environ: Optional[Mapping[str, str]] = None) -> None:
        env = os.environ if environ is None else environ
        path = env.get("NOTIFY_SOCKET", "")
        self.address: Optional[str] = None
        if path.startswith("@"):
            self.address = "\0" + path[1:]
        elif path.startswith("/"):
            self.address = path
        self.watchdog_s = watchdog_interval_s(env) if self.address else None
        self._sock: Optional[socket.socket] = None

    @property
    def enabled(self) -> bool:
        """True when there is a socket to notify."""
        return self.address is not None

    def notify(self, message: str) -> bool:
        """Send ``message`` (``KEY=VALUE`` lines); False when off or the send failed."""
        if self.address is None:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.sendto(message.encode("utf-8"), self.address)
            return True
        except OSError:
            return False  # systemd gone or the socket unusable: never fail the server for it

    def ready(self) -> bool:
        """``READY=1``: serving."""
        return self.notify(f"READY=1\nMAINPID={os.getpid()}")

    def reloading(self) -> bool:
        """``RELOADING=1`` with the ``MONOTONIC_USEC`` timestamp systemd matches it by."""
        usec = int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6)
        return self.notify(f"RELOADING=1\nMONOTONIC_USEC={usec}")

    def stopping(self) -> bool:
        """``STOPPING=1``: the stop has begun."""
        return self.notify("STOPPING=1")

    def watchdog(self) -> bool:
        """``WATCHDOG=1``: still alive."""
        return self.notify("WATCHDOG=1")

    def close(self) -> None:
        """Close the socket (sending again reopens it)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
