"""``--workers``: a long transfer to or from a slow client is progress, a hung app is not.

The arbiter kills a worker process that makes no progress for ``worker_timeout``; bytes read
from request bodies and sent in responses count as progress, so a download or an upload that
lasts longer than ``worker_timeout`` completes, while an app that hangs with no I/O is still
killed."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from typing import List

import pytest

from tests.functional.cli_support import RocketProcess
from tests.functional.client import read_to_eof

if not hasattr(os, "fork"):
    pytest.skip("multi-process mode needs os.fork", allow_module_level=True)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APPS = os.path.join(ROOT, "tests", "apps")
WORKER_TIMEOUT_S = 2.0
TRANSFER_S = 3.5
MIB = 1 << 20


def _server(rocket_process) -> tuple:
    cmd = [sys.executable, "-m", "rocket", "--workers", "2", "-b", "127.0.0.1:0",
           "--worker-timeout", str(WORKER_TIMEOUT_S), "--access-log", "off",
           "--log-level", "info", "faults_app:app"]
    env = dict(os.environ, PYTHONPATH=ROOT, PYTHONUNBUFFERED="1")
    proc = rocket_process(RocketProcess([], APPS, env=env, program=cmd, merge_output=True))
    port = int(proc.wait_for(r"Arbiter \d+ listening on \S+?:(\d+)").group(1))
    proc.wait_for_all(r"Booted worker process", 2)
    return proc, port


def _download(port: int, path: str, size: int, out: List[str]) -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    sock.settimeout(10)
    try:
        sock.connect(("127.0.0.1", port))
        # HTTP/1.0: a body without Content-Length is close-delimited, so its size is exact
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
        got, started = 0, time.monotonic()
        data = b""
        while True:
            piece = sock.recv(16384)
            if not piece:
                break
            if len(data) < 4096:
                data += piece
            got += len(piece)
            wait = started + TRANSFER_S * got / size - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        head_end = data.find(b"\r\n\r\n") + 4
        out.append(f"{path} {data[:12].decode()} {got - head_end} in "
                   f"{time.monotonic() - started:.1f}s")
    except OSError as exc:
        out.append(f"{path} failed: {exc!r}")
    finally:
        sock.close()


def _upload(port: int, size: int, out: List[str]) -> None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(f"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n"
                         "Connection: close\r\n\r\n".encode())
            block = b"u" * 16384
            sent, started = 0, time.monotonic()
            while sent < size:
                sock.sendall(block)
                sent += len(block)
                wait = started + TRANSFER_S * sent / size - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            answer = read_to_eof(sock)
        body = answer.split(b"\r\n\r\n", 1)[-1].decode()
        out.append(f"/upload {answer[:12].decode()} {body} in {time.monotonic() - started:.1f}s")
    except OSError as exc:
        out.append(f"/upload failed: {exc!r}")


def test_slow_transfers_outlive_worker_timeout_and_a_hung_app_is_still_killed(rocket_process):
    proc, port = _server(rocket_process)
    results: List[str] = []
    size = 12 * MIB
    threads = [threading.Thread(target=_download, args=(port, "/big?mb=12", size, results)),
               threading.Thread(target=_download, args=(port, "/chunks?mb=12", size, results)),
               threading.Thread(target=_upload, args=(port, size, results))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(r.split(" in ")[0] for r in results) == [
        f"/big?mb=12 HTTP/1.0 200 {size}", f"/chunks?mb=12 HTTP/1.0 200 {size}",
        f"/upload HTTP/1.1 200 {size}"], results
    assert all(float(r.split(" in ")[1][:-1]) >= WORKER_TIMEOUT_S for r in results), results
    assert "Killing worker" not in proc.log()
    hung = threading.Thread(target=_download, args=(port, "/hang", 1, []), daemon=True)
    hung.start()
    proc.wait_for(r"Killing worker \d+ with SIGKILL: no progress", timeout=6)


def _load(port: int, stop: threading.Event, out: List[tuple]) -> None:
    """GET / on a new connection each time until ``stop``: (time, status or error, pid)."""
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                answer = read_to_eof(sock)
            out.append((time.monotonic(), answer[9:12].decode(), answer.rsplit(b" ", 1)[-1]))
        except OSError as exc:
            out.append((time.monotonic(), repr(exc), b""))
        time.sleep(0.005)


def test_a_hung_request_is_killed_while_other_requests_keep_finishing_on_its_worker(
        rocket_process):
    proc, port = _server(rocket_process)
    stop, answers = threading.Event(), []
    load = threading.Thread(target=_load, args=(port, stop, answers))
    load.start()
    try:
        time.sleep(0.3)
        hung_at = time.monotonic()
        threading.Thread(target=_download, args=(port, "/hang", 1, []), daemon=True).start()
        match = proc.wait_for(r"Killing worker (\d+) with SIGKILL: no progress", timeout=8)
        killed_at = [t for t, line in proc.timed_lines() if match.group(0) in line][0]
        proc.wait_for_all(r"Booted worker process", 3, timeout=5)
        time.sleep(0.5)
    finally:
        stop.set()
        load.join(10)
    assert killed_at - hung_at >= WORKER_TIMEOUT_S
    victim = match.group(1).encode()
    meanwhile = [a for a in answers if hung_at + 0.5 < a[0] < killed_at - 0.2]
    assert meanwhile and all(status == "200" for _, status, _ in meanwhile), meanwhile
    assert any(pid == victim for _, _, pid in meanwhile), "the load never reached the hung worker"
    assert answers[-1][1] == "200" and answers[-1][2] != victim
