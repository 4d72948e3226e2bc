"""The arbiter's small parts: which settings need it, exit statuses, request budgets, the
crash-loop backoff, the signal queue and the record of one worker process.

Kept apart from :mod:`rocket.process.arbiter` so that each can be tested alone, with no fork.
"""

from __future__ import annotations

import os
import random
import select
import signal
import sys
from typing import Any, Dict, List, Optional

from rocket.process.scoreboard import Slot

__all__ = ["SIGNALS", "wants_arbiter", "fork_supported", "describe_status", "max_requests_for",
           "Backoff", "SignalQueue", "WorkerProcess", "block_signals", "restore_mask",
           "FdCloser", "exit_process"]

SIGNALS = ("SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGTTIN", "SIGTTOU", "SIGUSR1", "SIGCHLD")
"""The signals the arbiter routes to its queue (those this platform has)."""


def wants_arbiter(workers: int, max_requests: int = 0, concurrency: str = "thread",
                  environ: Optional[Dict[str, str]] = None) -> bool:
    """True when the settings need the arbiter: several workers, ``concurrency='process'``,
    ``max_requests`` (a worker must be replaced) or systemd socket activation for this
    process (``LISTEN_FDS``)."""
    env = os.environ if environ is None else environ
    activated = bool(env.get("LISTEN_FDS")) and env.get("LISTEN_PID", str(os.getpid())) == str(
        os.getpid())
    return workers > 1 or bool(max_requests) or concurrency == "process" or activated


def fork_supported() -> bool:
    """True when this platform can run worker processes (it has ``os.fork``)."""
    return hasattr(os, "fork")


def describe_status(status: int) -> str:
    """``exited with code 1`` or ``killed by signal 9 (SIGKILL)`` for a ``waitpid`` status."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = "unknown"
        return f"killed by signal {number} ({name})"
    if os.WIFEXITED(status):
        return f"exited with code {os.WEXITSTATUS(status)}"
    return f"ended with status {status}"


def max_requests_for(max_requests: int, jitter: int, rng: random.Random) -> int:
    """One worker's request budget: ``max_requests`` + random 0..``jitter``; 0 = unlimited."""
    if not max_requests:
        return 0
    return max_requests + (rng.randint(0, jitter) if jitter else 0)


class Backoff:
    """Delay before the next fork while workers keep dying: 0, then 0.1 s doubling to 10 s."""

    def __init__(self, first_s: float = 0.1, max_s: float = 10.0) -> None:
        self.first_s = first_s
        self.max_s = max_s
        self.failures = 0
        self.last_failure_at = float("-inf")
        self.next_at = float("-inf")

    def failed(self, now: float) -> float:
        """Record a crash at ``now``; returns the delay before the next fork."""
        self.failures += 1
        self.last_failure_at = now
        delay = 0.0 if self.failures == 1 else min(self.max_s,
                                                   self.first_s * 2 ** (self.failures - 2))
        self.next_at = now + delay
        return delay

    def reset(self) -> None:
        """Workers are stable again."""
        self.failures = 0
        self.next_at = float("-inf")

    def ready(self, now: float) -> bool:
        """True when a fork may happen now."""
        return now >= self.next_at


class SignalQueue:
    """Handlers append the signal number and write one byte to a pipe; nothing else."""

    def __init__(self) -> None:
        self.pending: List[int] = []
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self._old: Dict[int, Any] = {}

    def install(self, names: Any = SIGNALS) -> None:
        """Route ``names`` (those this platform has) to :meth:`handler`."""
        for name in names:
            number = getattr(signal, name, None)
            if number is not None:
                self._old[number] = signal.signal(number, self.handler)

    def handler(self, signum: int, frame: Any) -> None:
        """The signal handler: enqueue and wake the main loop."""
        self.pending.append(signum)
        try:
            os.write(self.wake_w, b"!")
        except OSError:
            pass  # the pipe is full: the loop is awake anyway

    def wait(self, timeout: float) -> None:
        """Sleep up to ``timeout`` s, or less when a signal arrives."""
        if not self.pending:
            try:
                select.select([self.wake_r], [], [], timeout)
            except InterruptedError:
                pass
        try:
            while os.read(self.wake_r, 512):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def drain(self) -> List[int]:
        """The signals received since the last call, in order."""
        taken, self.pending[:] = list(self.pending), []
        return taken

    def restore(self) -> None:
        """Put the previous handlers back and close the pipe."""
        for number, old in self._old.items():
            signal.signal(number, old if old is not None else signal.SIG_DFL)
        self._old.clear()
        for fd in (self.wake_r, self.wake_w):
            try:
                os.close(fd)
            except OSError:
                pass


class WorkerProcess:
    """The arbiter's record of one child."""

    def __init__(self, pid: int, slot: Slot, generation: int, spawned_at: float) -> None:
        self.pid = pid
        self.slot = slot
        self.generation = generation
        self.spawned_at = spawned_at
        self.serving_since: Optional[float] = None
        self.board_index: Optional[int] = None
        self.term_at: Optional[float] = None   # when we sent SIGTERM (it is stopping)
        self.killed: Optional[str] = None      # why we sent SIGKILL
        self.exit_reason: Optional[str] = None
        """The ``reason`` label of its restart: max_requests, reload, scale_down, timeout,
        crash or boot_error."""

    def send(self, signum: int) -> None:
        """Signal the child; a child that is already gone is not an error."""
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass


def block_signals() -> Any:
    """Block every signal in this thread; returns the previous mask (None: not supported)."""
    if not hasattr(signal, "pthread_sigmask"):
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())


def restore_mask(mask: Any) -> None:
    """Put back a mask returned by :func:`block_signals`."""
    if mask is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


class FdCloser:
    """A raw descriptor with a ``close()`` (for ChildSpec.close_fds)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def close(self) -> None:
        os.close(self.fd)


def exit_process(code: int) -> None:
    """End a forked process now with ``code``, after flushing standard output and error (never
    returns; ``os._exit`` skips the parent's atexit handlers and buffers, which are not its own)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)
