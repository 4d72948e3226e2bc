"""The monitor: one thread watching idle keep-alive connections.

How it works:
- A worker that has served a connection and found no next request within ``linger`` calls
  ``park(conn)``. Under a lock, directly from the worker's thread (no wake-up needed), the
  connection goes into ``_parked`` (fd -> connection) and its descriptor is armed in the
  poller. On Linux that is a one-shot epoll registration, re-armed by one ``epoll_ctl`` per
  park and disarmed by the kernel when it fires; elsewhere ``selectors.DefaultSelector``
  registers and unregisters it.
- The monitor thread waits in ``poll()``. A readable connection (a new request, or EOF)
  leaves ``_parked`` and goes to ``dispatch`` (the thread pool), which serves it or sees it close.
- Every ``sweep_s`` (at most once a second) connections idle for longer than ``timeout``
  seconds are closed; ``timeout`` 0 keeps them forever.
- A socketpair wakes the thread for ``stop()``, which closes every parked connection. A
  connection parked after stop is closed at once.

Thousands of idle clients thus cost one selector entry each, never a thread.
"""

from __future__ import annotations

import itertools
import select
import selectors
import socket
import threading
import time
from typing import Any, Callable, Dict, List, Optional

from rocket.logs import monitor_log as log

_ONE_SHOT_READ = getattr(select, "EPOLLIN", 0) | getattr(select, "EPOLLONESHOT", 0)


class _EpollPoller:
    """One-shot epoll: arming a parked descriptor costs one epoll_ctl, firing disarms it."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._armed_by: Dict[int, int] = {}  # fd -> id() of the connection last armed on it

    def watch(self, fd: int) -> None:
        self._epoll.register(fd, select.EPOLLIN)

    def arm(self, fd: int, conn: Any) -> None:
        if self._armed_by.get(fd) == id(conn):
            try:
                self._epoll.modify(fd, _ONE_SHOT_READ)
            except FileNotFoundError:  # the descriptor was closed and reused meanwhile
                self._epoll.register(fd, _ONE_SHOT_READ)
        else:
            try:
                self._epoll.register(fd, _ONE_SHOT_READ)
            except FileExistsError:
                self._epoll.modify(fd, _ONE_SHOT_READ)
        self._armed_by[fd] = id(conn)

    def fired(self, fd: int) -> None:
        """The kernel disarmed it already (one-shot)."""

    def forget(self, fd: int) -> None:
        self._armed_by.pop(fd, None)
        try:
            self._epoll.unregister(fd)
        except (OSError, ValueError):
            pass

    def poll(self, timeout: float) -> List[int]:
        return [fd for fd, _ in self._epoll.poll(timeout)]

    def close(self) -> None:
        self._epoll.close()


class _SelectorPoller:
    """Portable fallback: register on park, unregister when it fires."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()

    def watch(self, fd: int) -> None:
        self._selector.register(fd, selectors.EVENT_READ)

    def arm(self, fd: int, conn: Any) -> None:
        self._selector.register(fd, selectors.EVENT_READ)

    def fired(self, fd: int) -> None:
        self.forget(fd)

    def forget(self, fd: int) -> None:
        try:
            self._selector.unregister(fd)
        except (KeyError, ValueError, OSError):
            pass

    def poll(self, timeout: float) -> List[int]:
        return [key.fd for key, _ in self._selector.select(timeout)]

    def close(self) -> None:
        self._selector.close()


def make_poller() -> Any:
    """The fastest poller of this platform."""
    if hasattr(select, "epoll") and hasattr(select, "EPOLLONESHOT"):
        return _EpollPoller()
    return _SelectorPoller()


class Monitor:
    """Parks idle connections and hands readable ones to ``dispatch(conn)``.

    Connections need ``fileno()``, ``close()`` and a ``last_active`` attribute (monotonic s).
    """

    def __init__(self, dispatch: Callable[[Any], None], timeout: float = 600.0,
                 sweep_s: Optional[float] = None, clock: Callable[[], float] = time.monotonic,
                 name: str = "rocket-monitor", poller: Any = None) -> None:
        self.dispatch = dispatch
        self.timeout = timeout
        self.sweep_s = sweep_s if sweep_s is not None else (min(1.0, timeout / 2) if timeout else 1.0)
        self.clock = clock
        self.name = name
        self.closed_idle = 0
        self.evicted = 0
        self.parks = 0
        self._poller = poller if poller is not None else make_poller()
        self._lock = threading.Lock()
        self._parked: Dict[int, Any] = {}
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._wake_fd = self._wake_r.fileno()
        self._poller.watch(self._wake_fd)
        self._running = False
        self._closed = False
        self._thread: Optional[threading.Thread] = None

    def __len__(self) -> int:
        return len(self._parked)

    def start(self) -> None:
        """Start the monitor thread."""
        self._running = True
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def park(self, conn: Any) -> None:
        """Watch ``conn`` until it is readable or idle past the timeout."""
        conn.last_active = self.clock()
        self.parks += 1
        with self._lock:
            if self._running:
                fd = conn.fileno()
                self._parked[fd] = conn  # before arming: the event may fire at once
                try:
                    self._poller.arm(fd, conn)
                    return
                except (ValueError, KeyError, OSError):  # closed meanwhile, or a bad fd
                    self._parked.pop(fd, None)
        conn.close()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread and close every parked connection; idempotent."""
        with self._lock:
            was_running = self._running
            self._running = False
        if was_running:
            try:
                self._wake_w.send(b"x")
            except OSError:
                pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None
        with self._lock:
            for fd, conn in list(self._parked.items()):
                self._poller.forget(fd)
                conn.close()
            self._parked.clear()
            if not self._closed:
                self._closed = True
                self._poller.close()
                self._wake_r.close()
                self._wake_w.close()

    def _run(self) -> None:
        poll = self._poller.poll
        fired = self._poller.fired
        parked = self._parked
        wake_fd = self._wake_fd
        next_sweep = self.clock() + self.sweep_s
        while self._running:
            try:
                fds = poll(self.sweep_s)
            except OSError as exc:  # a parked socket closed under us: drop closed fds
                log.debug("poll failed: %s", exc)
                self._drop_closed()
                continue
            ready = []
            with self._lock:
                if not self._running:
                    return
                for fd in fds:
                    if fd == wake_fd:
                        try:
                            self._wake_r.recv(4096)
                        except OSError:
                            pass
                        continue
                    conn = parked.pop(fd, None)
                    if conn is not None:
                        fired(fd)
                        ready.append(conn)
            for conn in ready:
                try:
                    self.dispatch(conn)
                except Exception:  # the monitor must outlive any one connection
                    log.exception("dispatching %r failed; closing it", conn)
                    conn.close()
            if self.timeout and self.clock() >= next_sweep:
                self._sweep()
                next_sweep = self.clock() + self.sweep_s

    def _sweep(self) -> None:
        deadline = self.clock() - self.timeout
        expired = []
        with self._lock:
            for fd, conn in list(self._parked.items()):
                if conn.last_active <= deadline:
                    del self._parked[fd]
                    self._poller.forget(fd)
                    expired.append(conn)
        for conn in expired:
            conn.close()
        if expired:
            self.closed_idle += len(expired)
            log.debug("closed %d connection(s) idle for more than %ss", len(expired), self.timeout)

    def evict_idle(self, count: int = 1) -> int:
        """Close up to ``count`` parked connections, the longest idle first, to make room
        (``max_connections``, ``EMFILE``); returns how many were closed. Only idle parked
        connections qualify: one a worker holds is never here. O(count): ``_parked`` keeps
        park order, so its first entries are the oldest."""
        with self._lock:
            fds = list(itertools.islice(self._parked, count))
            evicted = [self._parked.pop(fd) for fd in fds]
            for fd in fds:
                self._poller.forget(fd)
            self.evicted += len(evicted)
        for conn in evicted:
            conn.close()
        return len(evicted)

    def _drop_closed(self) -> None:
        with self._lock:
            for fd, conn in list(self._parked.items()):
                if getattr(conn, "closed", False):
                    del self._parked[fd]
                    self._poller.forget(fd)
