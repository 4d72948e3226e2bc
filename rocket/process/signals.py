"""The one way Rocket takes signals: a handler records the number and wakes a waiter.

Python runs a handler on the main thread between two bytecodes, possibly while that thread
holds a lock, so a handler here only appends the number to a queue and writes a byte to a
pipe. The waiter drains the queue and decides what each signal means: the arbiter's main
loop, a worker process's heartbeat loop, or the ``rocket-signals`` thread of a
single-process server (:meth:`Signals.dispatch_in_thread`).

It lives in ``process/`` because ``server/`` may import ``process/`` and never the reverse;
both use it.
"""

from __future__ import annotations

import collections
import os
import select
import signal
import threading
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Tuple

__all__ = ["Signals"]

JOIN_S = 2.0
"""How long :meth:`Signals.close` waits for the dispatch thread to finish its current act."""


class Signals:
    """Handlers for a set of signals that queue the numbers and wake :meth:`wait`."""

    def __init__(self, join_s: float = JOIN_S) -> None:
        self.join_s = join_s
        """How long :meth:`close` waits for the dispatch thread (see ``JOIN_S``)."""
        self.pending: Deque[int] = collections.deque()
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
        self._fds: Optional[Tuple[int, int]] = (read_fd, write_fd)
        self._lock = threading.Lock()
        self._old: Dict[int, Any] = {}
        self._thread: Optional[threading.Thread] = None
        self._closing = False
        self._dispatching = False  # the dispatch thread may still touch the pipe
        self._orphaned = False  # close() left the pipe for the dispatch thread to close

    @property
    def fds(self) -> Tuple[int, ...]:
        """The pipe's descriptors while open (a forked child closes them)."""
        return self._fds or ()

    @property
    def installed(self) -> bool:
        """True between :meth:`install` and :meth:`restore`."""
        return bool(self._old)

    def install(self, names: Iterable[str], ignore: Iterable[str] = (),
                default: Iterable[str] = ()) -> None:
        """Route the signals ``names`` to :meth:`handler`, set ``ignore`` to SIG_IGN and
        ``default`` to SIG_DFL (those this platform has); main thread only, as Python rules."""
        for group, action in ((names, self.handler), (ignore, signal.SIG_IGN),
                              (default, signal.SIG_DFL)):
            for name in group:
                number = getattr(signal, name, None)
                if number is not None:
                    self._old.setdefault(number, signal.signal(number, action))

    def handler(self, signum: int, frame: Any) -> None:
        """The signal handler: queue ``signum`` and wake the waiter; nothing else."""
        self.pending.append(signum)
        fds = self._fds  # no lock: this may interrupt the main thread while it holds it
        if fds is not None:
            _poke(fds[1])

    def wake(self) -> None:
        """Wake the waiter without queueing a signal (from any thread, not from a handler)."""
        with self._lock:
            if self._fds is not None:
                _poke(self._fds[1])

    def wait(self, timeout: Optional[float]) -> None:
        """Sleep up to ``timeout`` s (None: no bound), less when a signal or a wake arrives."""
        fds = self._fds
        if fds is None:
            return
        if not self.pending:
            try:
                select.select([fds[0]], [], [], timeout)
            except (InterruptedError, OSError, ValueError):
                pass  # OSError, ValueError: the pipe was closed meanwhile
        try:
            while os.read(fds[0], 512):
                pass
        except OSError:
            pass

    def drain(self) -> List[int]:
        """The signals received since the last call, in order."""
        taken = []
        while self.pending:
            taken.append(self.pending.popleft())
        return taken

    def dispatch_in_thread(self, act: Callable[[int], None], name: str) -> None:
        """Start a daemon thread that calls ``act(signum)`` for each signal, until close()."""
        self._thread = threading.Thread(target=self._dispatch, args=(act,), name=name,
                                        daemon=True)
        self._dispatching = True
        self._thread.start()

    def _dispatch(self, act: Callable[[int], None]) -> None:
        try:
            while not self._closing:
                self.wait(None)
                for signum in self.drain():
                    if not self._closing:
                        act(signum)
        finally:
            with self._lock:
                self._dispatching = False
                orphaned = self._orphaned
            if orphaned:
                self._close_fds()

    def restore(self) -> None:
        """Put the previous handlers back (main thread only)."""
        for number, old in self._old.items():
            try:
                signal.signal(number, old if old is not None else signal.SIG_DFL)
            except (ValueError, OSError, TypeError):
                pass
        self._old.clear()

    def close(self) -> None:
        """End the dispatch thread, if any, and close the pipe; idempotent.

        A dispatch thread still busy after ``JOIN_S`` (an act that takes long, a loaded
        machine) closes the pipe itself when it ends: closing it under the thread would let
        its next read take bytes from whatever descriptor reuses the number, a client's socket.
        """
        self._closing = True
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            self.wake()
            thread.join(self.join_s)
        with self._lock:
            if self._dispatching and thread is not threading.current_thread():
                self._orphaned = True
                return
        self._close_fds()

    def _close_fds(self) -> None:
        with self._lock:
            fds, self._fds = self._fds, None
        for fd in fds or ():
            try:
                os.close(fd)
            except OSError:
                pass


def _poke(fd: int) -> None:
    try:
        os.write(fd, b"!")
    except OSError:
        pass  # the pipe is full: the waiter is awake anyway
