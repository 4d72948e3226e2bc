"""One process stops and restarts gracefully: ``stop()``, SIGTERM and SIGHUP let requests in
flight finish within ``graceful_timeout`` (an upload included), and cut them past it.

The requests last 5.5 s: longer than the 5 s a stop used to allow them."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from typing import List

from rocket.server.lifecycle import STOP_TIMEOUT_S
from tests.apps import faults_app
from tests.functional.cli_support import RocketProcess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APPS = os.path.join(ROOT, "tests", "apps")
REQUEST_S = 5.5
GRACEFUL_S = 8.0


def _get(port: int, path: str, out: List[str]) -> None:
    """Append the status line and body of ``GET path`` (or the failure) to ``out``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            out.append(_answer(sock))
    except OSError as exc:
        out.append(f"failed: {exc!r}")


def _answer(sock: socket.socket) -> str:
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
        piece = sock.recv(65536)
        if not piece:
            return f"cut after {len(data)} bytes"
        data += piece
    return data.split(b"\r\n", 1)[0].decode() + " " + data.split(b"\r\n\r\n", 1)[1].decode()


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            return int(value)
    return 0


def _upload(port: int, size: int, seconds: float, out: List[str]) -> None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
            sock.sendall(f"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n"
                         "\r\n".encode())
            block, sent, started = b"u" * 65536, 0, time.monotonic()
            while sent < size:
                sock.sendall(block)
                sent += len(block)
                time.sleep(max(0.0, started + seconds * sent / size - time.monotonic()))
            out.append(_answer(sock))
    except OSError as exc:
        out.append(f"failed: {exc!r}")


def _in_flight(port: int, count: int, out: List[str], upload: bool = False) -> list:
    threads = [threading.Thread(target=_get, args=(port, f"/sleep?s={REQUEST_S}", out))
               for _ in range(count)]
    if upload:
        threads.append(threading.Thread(target=_upload,
                                        args=(port, 16 << 20, REQUEST_S, out)))
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    return threads


def _join(threads: list) -> None:
    for thread in threads:
        thread.join(20)


def test_stop_lets_requests_and_an_upload_finish_within_graceful_timeout(start_server):
    server = start_server(faults_app.app, graceful_timeout=GRACEFUL_S, access_log=False)
    answers: List[str] = []
    threads = _in_flight(server.port, 10, answers, upload=True)
    started = time.monotonic()
    server.stop()
    took = time.monotonic() - started
    _join(threads)
    assert sorted(answers) == [f"HTTP/1.1 200 OK {16 << 20}"] + \
        [f"HTTP/1.1 200 OK ok {os.getpid()}"] * 10
    assert REQUEST_S - 1.0 < took < GRACEFUL_S
    try:
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
        raise AssertionError("the stopped server still accepts connections")
    except ConnectionRefusedError:
        pass


def test_stop_cuts_requests_past_graceful_timeout_and_returns_in_bounded_time(start_server):
    server = start_server(faults_app.app, graceful_timeout=1.0, access_log=False)
    answers: List[str] = []
    threads = _in_flight(server.port, 2, answers)
    started = time.monotonic()
    server.stop()
    took = time.monotonic() - started
    _join(threads)
    assert answers == ["cut after 0 bytes"] * 2
    assert 1.0 <= took < 1.0 + STOP_TIMEOUT_S + 1.0


def _cli(rocket_process) -> tuple:
    cmd = [sys.executable, "-m", "rocket", "-b", "127.0.0.1:0", "--graceful-timeout",
           str(GRACEFUL_S), "--access-log", "off", "--log-level", "info", "faults_app:app"]
    env = dict(os.environ, PYTHONPATH=ROOT, PYTHONUNBUFFERED="1")
    proc = rocket_process(RocketProcess([], APPS, env=env, program=cmd, merge_output=True))
    return proc, proc.port()


def test_sigterm_lets_requests_finish(rocket_process):
    proc, port = _cli(rocket_process)
    answers: List[str] = []
    threads = _in_flight(port, 5, answers)
    proc.proc.send_signal(signal.SIGTERM)
    _join(threads)
    assert [a.split(" ok ")[0] for a in answers] == ["HTTP/1.1 200 OK"] * 5, answers
    assert proc.wait(10) == 0


def test_sighup_restart_lets_requests_finish_and_queues_new_connections(rocket_process):
    proc, port = _cli(rocket_process)
    answers: List[str] = []
    threads = _in_flight(port, 3, answers)
    proc.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    during: List[str] = []
    _get(port, "/", during)                        # waits in the backlog, then is served
    _join(threads)
    assert [a.split(" ok ")[0] for a in answers] == ["HTTP/1.1 200 OK"] * 3, answers
    assert during[0].startswith("HTTP/1.1 200 OK ok "), during
    after: List[str] = []
    _get(port, "/", after)
    assert after[0].startswith("HTTP/1.1 200 OK ok ")
