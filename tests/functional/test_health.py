"""health_path and drain_grace with worker processes: after SIGTERM the arbiter's workers
answer the health path with 503 and other requests as usual for ``drain_grace`` seconds, then
stop; the app never sees the health checks."""

from __future__ import annotations

import os
import signal
import socket
import time

from tests.functional.programs import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def status(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode())
        return sock.recv(64).split(b"\r\n")[0]


def test_workers_fail_health_checks_during_drain_grace(rocket_process):
    port = free_port()
    rocket = rocket_process(["--bind", f"127.0.0.1:{port}", "--workers", "2",
                             "--health-path", "/healthz", "--drain-grace", "4",
                             "tests.apps.whoami:app"], cwd=ROOT)
    rocket.wait_for_all(r"Booted worker process", 2, timeout=15)
    assert status(port, "/healthz") == b"HTTP/1.1 200 OK"
    signalled = time.monotonic()
    rocket.proc.send_signal(signal.SIGTERM)
    in_a_row = 0
    while in_a_row < 8:  # from both workers, which the arbiter signals one after the other
        assert time.monotonic() < signalled + 2.5, "the health path did not keep answering 503"
        failed = status(port, "/healthz") == b"HTTP/1.1 503 Service Unavailable"
        in_a_row = in_a_row + 1 if failed else 0
        assert status(port, "/who") == b"HTTP/1.1 200 OK"  # both still serve
    assert rocket.wait(15) == 0
    assert "/healthz" not in "".join(rocket.out)  # health checks are not access-logged
    assert "GET /who" in "".join(rocket.out)
