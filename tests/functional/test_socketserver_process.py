"""SocketServer with ``concurrency='process'``: ``examples/echo.py --concurrency process
--workers 2`` as a subprocess; an arbiter forks two workers serving the shared socket, and its
info() (logged on SIGUSR1) sums theirs in the common shape."""

from __future__ import annotations

import ast
import os
import re
import signal
import socket
import time

import pytest

from rocket.server.info import INFO_KEYS, SUMMED_KEYS
from tests.functional.test_examples import echo_clients, example

if not hasattr(os, "fork"):  # pragma: no cover
    pytest.skip("process mode needs os.fork", allow_module_level=True)

ARBITER = re.compile(r"Arbiter (\d+) listening on 127\.0\.0\.1:(\d+)")
BOOTED = r"Booted worker process (\d+)"


def test_process_mode_with_two_workers_serves_and_sums_info(rocket_process):
    echo = rocket_process(example("echo.py", "--bind", "127.0.0.1:0", "--concurrency", "process",
                                  "--workers", "2", "--keep-alive", "5"))
    match = echo.wait_for(ARBITER)
    arbiter_pid, port = int(match.group(1)), int(match.group(2))
    pids = {int(m.group(1)) for m in echo.wait_for_all(BOOTED, 2)}
    assert len(pids) == 2 and arbiter_pid not in pids
    assert echo_clients(("127.0.0.1", port), socket.AF_INET, 40) == [True] * 40
    time.sleep(0.5)  # > the workers' heartbeat (0.2 s): their figures are published
    os.kill(arbiter_pid, signal.SIGUSR1)
    line = echo.wait_for(r"info: (\{.*\})$").group(1)
    info = ast.literal_eval(line)
    assert set(info) == set(INFO_KEYS)
    assert info["pid"] == arbiter_pid and info["listen_on"] == [f"127.0.0.1:{port}"]
    assert info["received_connections"] == 40
    assert info["requests"] >= 40  # one message per read of each client's bytes
    assert info["workers_wanted"] == 2 and {w["pid"] for w in info["workers"]} == pids
    for key in SUMMED_KEYS:
        assert info[key] == sum(w[key] for w in info["workers"]), key
    assert echo.stop() == 0
    log = echo.log()
    assert log.count("exited with code 0") == 2 and "Traceback" not in log
