"""The monitor's pollers: one-shot epoll on Linux, ``selectors`` elsewhere.

A watched descriptor is armed for one event, reading or writing (a TLS handshake may wait
for either); when it fires it is disarmed until armed again. With epoll, arming costs one
``epoll_ctl`` and firing disarms it in the kernel; elsewhere the descriptor is registered
when armed and unregistered when it fires.
"""

from __future__ import annotations

import select
import selectors
from typing import Any, Dict, List

__all__ = ["make_poller"]

_ONE_SHOT = getattr(select, "EPOLLONESHOT", 0)
_EPOLL_EVENTS = (getattr(select, "EPOLLIN", 0) | _ONE_SHOT, getattr(select, "EPOLLOUT", 0) | _ONE_SHOT)


class EpollPoller:
    """One-shot epoll: arming a watched descriptor costs one epoll_ctl, firing disarms it."""

    rearm_reported = True
    """Arming from another thread takes effect in a poll already waiting."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._armed_by: Dict[int, int] = {}  # fd -> id() of the connection last armed on it

    def watch(self, fd: int) -> None:
        """Watch ``fd`` for reading for good (the monitor's wake-up socket)."""
        self._epoll.register(fd, select.EPOLLIN)

    def arm(self, fd: int, conn: Any, write: bool = False) -> None:
        """Report ``fd`` once when readable (writable with ``write``)."""
        events = _EPOLL_EVENTS[write]
        if self._armed_by.get(fd) == id(conn):
            try:
                self._epoll.modify(fd, events)
            except FileNotFoundError:  # the descriptor was closed and reused meanwhile
                self._epoll.register(fd, events)
        else:
            try:
                self._epoll.register(fd, events)
            except FileExistsError:
                self._epoll.modify(fd, events)
        self._armed_by[fd] = id(conn)

    def fired(self, fd: int) -> None:
        """The kernel disarmed it already (one-shot)."""

    def forget(self, fd: int) -> None:
        """Stop watching ``fd`` (before it is closed or handed on for good)."""
        self._armed_by.pop(fd, None)
        try:
            self._epoll.unregister(fd)
        except (OSError, ValueError):
            pass

    def poll(self, timeout: float) -> List[int]:
        """Descriptors that fired within ``timeout`` seconds."""
        return [fd for fd, _ in self._epoll.poll(timeout)]

    def close(self) -> None:
        """Release the epoll descriptor."""
        self._epoll.close()


class SelectorPoller:
    """Portable fallback: register when armed, unregister when it fires."""

    rearm_reported = False
    """A poll already waiting does not see descriptors armed meanwhile."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()

    def watch(self, fd: int) -> None:
        """Watch ``fd`` for reading for good (the monitor's wake-up socket)."""
        self._selector.register(fd, selectors.EVENT_READ)

    def arm(self, fd: int, conn: Any, write: bool = False) -> None:
        """Report ``fd`` once when readable (writable with ``write``)."""
        self._selector.register(fd, selectors.EVENT_WRITE if write else selectors.EVENT_READ)

    def fired(self, fd: int) -> None:
        """Disarm ``fd`` after it fired."""
        self.forget(fd)

    def forget(self, fd: int) -> None:
        """Stop watching ``fd``."""
        try:
            self._selector.unregister(fd)
        except (KeyError, ValueError, OSError):
            pass

    def poll(self, timeout: float) -> List[int]:
        """Descriptors that fired within ``timeout`` seconds."""
        return [key.fd for key, _ in self._selector.select(timeout)]

    def close(self) -> None:
        """Release the selector."""
        self._selector.close()


def make_poller() -> Any:
    """The fastest poller of this platform."""
    if hasattr(select, "epoll") and _ONE_SHOT:
        return EpollPoller()
    return SelectorPoller()
