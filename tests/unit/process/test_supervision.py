"""The arbiter's small parts alone: which settings need it, exit statuses, request budgets,
the crash-loop backoff, the record of one worker process (signalled for real) and the
signal mask kept across fork()."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from rocket.process.scoreboard import Slot
from rocket.process.supervision import (
    Backoff,
    FdCloser,
    WorkerProcess,
    block_signals,
    describe_status,
    fork_supported,
    max_requests_for,
    restore_mask,
    wants_arbiter,
)

needs_fork = pytest.mark.skipif(not fork_supported(), reason="needs os.fork")


def test_backoff_is_immediate_once_then_doubles_to_a_cap():
    backoff = Backoff(first_s=0.1, max_s=1.0)
    delays = [backoff.failed(0.0) for _ in range(7)]
    assert delays == [0.0, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert not backoff.ready(0.5) and backoff.ready(1.0)
    backoff.reset()
    assert backoff.ready(0.0) and backoff.failed(5.0) == 0.0


def test_max_requests_jitter_stays_in_range_and_varies():
    rng = random.Random(1)
    budgets = {max_requests_for(50, 10, rng) for _ in range(200)}
    assert min(budgets) >= 50 and max(budgets) <= 60 and len(budgets) > 5
    assert max_requests_for(50, 0, rng) == 50
    assert max_requests_for(0, 10, rng) == 0


def test_wants_arbiter_for_workers_max_requests_process_mode_and_socket_activation():
    assert not wants_arbiter(1, environ={})
    assert wants_arbiter(2, environ={})
    assert wants_arbiter(1, max_requests=100, environ={})
    assert wants_arbiter(1, concurrency="process", environ={})
    assert wants_arbiter(1, environ={"LISTEN_FDS": "1", "LISTEN_PID": str(os.getpid())})
    assert not wants_arbiter(1, environ={"LISTEN_FDS": "1", "LISTEN_PID": "1"})


def test_describe_status_names_code_and_signal():
    assert describe_status(3 << 8) == "exited with code 3"
    assert describe_status(signal.SIGKILL) == "killed by signal 9 (SIGKILL)"


def _fork(body) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            body()
        finally:
            os._exit(0)
    return pid


def _wait(pid: int, timeout_s: float = 10.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    raise AssertionError(f"child {pid} did not end within {timeout_s}s")


@needs_fork
def test_worker_process_send_signals_the_child_and_ignores_one_that_is_gone():
    pid = _fork(lambda: time.sleep(30))
    worker = WorkerProcess(pid, Slot(), generation=1, spawned_at=0.0)
    try:
        worker.send(signal.SIGTERM)
        status = _wait(pid)
        assert describe_status(status) == "killed by signal 15 (SIGTERM)"
        worker.send(signal.SIGTERM)                # reaped: ProcessLookupError, not an error
    finally:
        worker.slot.close()


@needs_fork
@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="needs pthread_sigmask")
def test_signals_blocked_across_fork_wait_in_the_child_until_it_unblocks():
    read_fd, write_fd = os.pipe()

    def child() -> None:
        os.close(read_fd)
        signal.signal(signal.SIGUSR1, lambda *_: os.write(write_fd, b"handled"))
        os.write(write_fd, b"ready;")
        time.sleep(0.3)                            # the parent signals meanwhile: held back
        os.write(write_fd, b"unblock;")
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        time.sleep(0.1)

    blocked = block_signals()
    try:
        pid = _fork(child)
    finally:
        restore_mask(blocked)
    os.close(write_fd)
    try:
        assert signal.SIGUSR1 not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
        assert os.read(read_fd, 6) == b"ready;"
        os.kill(pid, signal.SIGUSR1)
        assert _wait(pid) == 0
        out = b""
        while chunk := os.read(read_fd, 64):
            out += chunk
        assert out == b"unblock;handled"
    finally:
        os.close(read_fd)


def test_fd_closer_closes_a_raw_descriptor():
    read_fd, write_fd = os.pipe()
    os.close(write_fd)
    FdCloser(read_fd).close()
    with pytest.raises(OSError):
        os.fstat(read_fd)
