"""Rocket behind a real haproxy (docs/deploy.md "Behind haproxy"): the client's address
arrives through ``option forwardfor``, and haproxy's own health check on ``health_path``
marks the server down during a graceful stop, while Rocket still serves (``drain_grace``).

The PROXY protocol (``send-proxy``/``send-proxy-v2``) is not wired into the accept path yet,
so it has no haproxy test here; its parser has a corpus of its own (tests/unit/http)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import time

from tests.functional.programs import (
    DEPLOY_MD,
    doc_block,
    free_port,
    need,
    replace,
    start,
    stop,
    wait_until,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENT = "127.0.0.2"


def server_status(stats_socket: str) -> str:
    """app1's status in haproxy's ``show stat`` (UP, DOWN, "UP 1/2"...)."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(2)
        sock.connect(stats_socket)
        sock.sendall(b"show stat\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    lines = data.decode().splitlines()
    header = lines[0].lstrip("# ").split(",")
    for line in lines[1:]:
        row = dict(zip(header, line.split(",")))
        if row.get("pxname") == "rocket" and row.get("svname") == "app1":
            return row["status"]
    return "?"


def get(port: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5, source_address=(CLIENT, 0))
    try:
        conn.request("GET", "/who")
        response = conn.getresponse()
        assert response.status == 200
        return json.loads(response.read())
    finally:
        conn.close()


def test_health_check_marks_the_server_down_during_a_graceful_stop(tmp_path, rocket_process):
    program = need("haproxy")
    assert "--health-path /healthz --drain-grace 2" in DEPLOY_MD.read_text()
    rocket_port, front_port = free_port(), free_port()
    rocket = rocket_process(["--bind", f"127.0.0.1:{rocket_port}", "--health-path", "/healthz",
                             "--drain-grace", "2", "--graceful-timeout", "5",
                             "--no-access-log", "tests.apps.whoami:app"], cwd=ROOT)
    rocket.port()
    stats = str(tmp_path / "admin.sock")
    conf = doc_block("haproxy")
    conf = replace(conf, "/run/haproxy/admin.sock", stats)
    conf = replace(conf, "bind 127.0.0.1:80", f"bind 127.0.0.1:{front_port}")
    conf = replace(conf, "server app1 127.0.0.1:8000", f"server app1 127.0.0.1:{rocket_port}")
    (tmp_path / "haproxy.cfg").write_text(conf)
    proxy = start([program, "-f", str(tmp_path / "haproxy.cfg"), "-db"])
    try:
        wait_until(lambda: server_status(stats) == "UP", 10, "haproxy marking Rocket UP", proxy)
        facts = get(front_port)
        assert (facts["REMOTE_ADDR"], facts["wsgi.url_scheme"]) == (CLIENT, "http")
        assert facts["peer"][0] == "127.0.0.1"

        rocket.proc.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        wait_until(lambda: server_status(stats).startswith("DOWN"), 5,
                   "haproxy marking Rocket DOWN", proxy)
        assert rocket.proc.poll() is None, "the server stopped before the balancer noticed"
        assert time.monotonic() - stopped_at < 2.0  # within drain_grace
        with socket.create_connection(("127.0.0.1", rocket_port), timeout=2) as direct:
            direct.sendall(b"GET /who HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            assert direct.recv(100).startswith(b"HTTP/1.1 200 ")  # still serving meanwhile
        assert rocket.wait(10) == 0
        assert "failing health checks for 2s" in rocket.stderr
    finally:
        stop(proxy)
