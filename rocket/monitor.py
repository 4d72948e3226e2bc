"""The monitor: one thread watching idle keep-alive connections.

How it works:
- A worker that has served a connection and found no next request within ``linger`` calls
  ``park(conn)``. The connection is registered in a ``selectors.DefaultSelector`` (epoll on
  Linux) with ``SelectorKey.data = conn``, under a lock, directly from the worker's thread, so
  parking costs one ``epoll_ctl`` and no wake-up.
- The monitor thread waits in ``select()``. A readable connection (a new request, or EOF)
  is unregistered and handed to ``dispatch`` (the thread pool), which serves it or sees it close.
- Every ``sweep_s`` (at most once a second) connections idle for longer than ``timeout``
  seconds are closed; ``timeout`` 0 keeps them forever.
- A socketpair wakes the thread for ``stop()``, which closes every parked connection. A
  connection parked after stop is closed at once.

Thousands of idle clients thus cost one selector entry each, never a thread.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from typing import Any, Callable, Dict, Optional

from rocket.logs import monitor_log as log


class Monitor:
    """Parks idle connections and hands readable ones to ``dispatch(conn)``.

    Connections need ``fileno()``, ``close()`` and a ``last_active`` attribute (monotonic s).
    """

    def __init__(self, dispatch: Callable[[Any], None], timeout: float = 600.0,
                 sweep_s: Optional[float] = None, clock: Callable[[], float] = time.monotonic,
                 name: str = "rocket-monitor") -> None:
        self.dispatch = dispatch
        self.timeout = timeout
        self.sweep_s = sweep_s if sweep_s is not None else (min(1.0, timeout / 2) if timeout else 1.0)
        self.clock = clock
        self.name = name
        self.closed_idle = 0
        self.parks = 0
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._parked: Dict[int, Any] = {}
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._running = False
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
                try:
                    self._selector.register(conn, selectors.EVENT_READ, conn)
                except (ValueError, KeyError, OSError):  # closed meanwhile, or a bad fd
                    pass
                else:
                    self._parked[conn.fileno()] = conn
                    return
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
            for conn in list(self._parked.values()):
                self._unregister(conn)
                conn.close()
            self._parked.clear()
            if self._selector is not None:
                self._selector.close()
                self._wake_r.close()
                self._wake_w.close()

    def _unregister(self, conn: Any) -> None:
        self._parked.pop(conn.fileno(), None)
        try:
            self._selector.unregister(conn)
        except (KeyError, ValueError, OSError):
            pass

    def _run(self) -> None:
        select = self._selector.select
        next_sweep = self.clock() + self.sweep_s
        while self._running:
            try:
                events = select(self.sweep_s)
            except OSError as exc:  # a parked socket closed under us: drop closed fds
                log.debug("select failed: %s", exc)
                self._drop_closed()
                continue
            ready = []
            with self._lock:
                if not self._running:
                    return
                for key, _ in events:
                    conn = key.data
                    if conn is None:
                        try:
                            self._wake_r.recv(4096)
                        except OSError:
                            pass
                        continue
                    self._unregister(conn)
                    ready.append(conn)
            for conn in ready:
                self.dispatch(conn)
            if self.timeout and self.clock() >= next_sweep:
                self._sweep()
                next_sweep = self.clock() + self.sweep_s

    def _sweep(self) -> None:
        deadline = self.clock() - self.timeout
        expired = []
        with self._lock:
            for conn in list(self._parked.values()):
                if conn.last_active <= deadline:
                    self._unregister(conn)
                    expired.append(conn)
        for conn in expired:
            conn.close()
        if expired:
            self.closed_idle += len(expired)
            log.debug("closed %d connection(s) idle for more than %ss", len(expired), self.timeout)

    def _drop_closed(self) -> None:
        with self._lock:
            for fd, conn in list(self._parked.items()):
                if getattr(conn, "closed", False) or conn.fileno() < 0:
                    self._parked.pop(fd, None)
                    try:
                        self._selector.unregister(conn)
                    except (KeyError, ValueError, OSError):
                        pass
