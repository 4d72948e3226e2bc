"""The monitor's pollers: one-shot epoll on Linux, ``selectors`` elsewhere.

A watched descriptor is armed for one event, reading or writing (a TLS handshake may wait
for either); when it fires it is disarmed until armed again. With epoll, arming costs one
``epoll_ctl`` and firing disarms it in the kernel; elsewhere the descriptor is registered
when armed and unregistered when it fires. With either, an arm made from another thread
takes effect in a poll already waiting.
"""

from __future__ import annotations

import select
import selectors
import socket
from typing import Any, Callable, Dict, List

__all__ = ["make_poller"]

_ONE_SHOT = getattr(select, "EPOLLONESHOT", 0)
_EPOLL_EVENTS = (getattr(select, "EPOLLIN", 0) | _ONE_SHOT, getattr(select, "EPOLLOUT", 0) | _ONE_SHOT)


READ_ALWAYS = getattr(select, "EPOLLIN", 0)
"""Readable, reported at every poll until disarmed (``modify(fd, 0)``): for a connection
the monitor serves on its own thread, which needs no re-arming per request."""


class EpollPoller:
    """One-shot epoll: arming a watched descriptor costs one epoll_ctl, firing disarms it."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._armed_by: Dict[int, int] = {}  # fd -> id() of the connection last armed on it
        self.modify = self._epoll.modify
        """``modify(fd, events)`` of a descriptor this poller registered: ``READ_ALWAYS`` keeps
        it armed, ``0`` disarms it."""

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
    """Portable fallback: register when armed, unregister when it fires.

    ``select()`` and ``poll()`` watch only the descriptors registered when the call began, so
    an arm made from another thread while :meth:`poll` waits also wakes it (through a
    socketpair of its own, once per wait): the descriptor is watched from the next call on, as
    with epoll. ``SelectorKey.data`` holds the connection armed, so a descriptor number that a
    closed connection left registered is registered afresh for the new one."""

    def __init__(self, selector_class: Callable[[], selectors.BaseSelector] =
                 selectors.DefaultSelector) -> None:
        self._selector = selector_class()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._wake_fd = self._wake_r.fileno()
        self._selector.register(self._wake_fd, selectors.EVENT_READ)
        self._polling = False
        self._woken = False

    def watch(self, fd: int) -> None:
        """Watch ``fd`` for reading for good (the monitor's wake-up socket)."""
        self._selector.register(fd, selectors.EVENT_READ)

    def arm(self, fd: int, conn: Any, write: bool = False) -> None:
        """Report ``fd`` once when readable (writable with ``write``)."""
        events = selectors.EVENT_WRITE if write else selectors.EVENT_READ
        selector = self._selector
        key = selector.get_map().get(fd)
        if key is not None and key.data is conn:
            selector.modify(fd, events, conn)
        else:
            if key is not None:
                self.forget(fd)
            selector.register(fd, events, conn)
        if self._polling and not self._woken:
            self._woken = True
            try:
                self._wake_w.send(b"x")
            except OSError:  # full: a wake-up is pending already
                pass

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
        """Descriptors that fired within ``timeout`` seconds (none when an arm woke it)."""
        self._polling = True
        try:
            events = self._selector.select(timeout)
        finally:
            self._polling = False
        fds = []
        for key, _ in events:
            if key.fd == self._wake_fd:
                try:
                    self._wake_r.recv(4096)
                except OSError:
                    pass
                self._woken = False
            else:
                fds.append(key.fd)
        return fds

    def close(self) -> None:
        """Release the selector and the wake-up pair."""
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()


def make_poller() -> Any:
    """The fastest poller of this platform."""
    if hasattr(select, "epoll") and _ONE_SHOT:
        return EpollPoller()
    return SelectorPoller()
