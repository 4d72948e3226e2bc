"""Rocket behind a real haproxy (docs/deploy.md "Behind haproxy"): the client's address
arrives through ``option forwardfor``, or through the PROXY protocol (``send-proxy``,
``send-proxy-v2``, ``send-proxy-v2-ssl``), and haproxy's own health check on ``health_path``
marks the server down during a graceful stop, while Rocket still serves (``drain_grace``)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import ssl
import time
from pathlib import Path

import pytest

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
    return who(http.client.HTTPConnection("127.0.0.1", port, timeout=5,
                                          source_address=(CLIENT, 0)))


def who(conn: http.client.HTTPConnection) -> dict:
    """GET /who on ``conn`` (closed after): the whoami app's JSON."""
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


def https_get(port: int, context) -> dict:
    return who(http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=context,
                                           source_address=(CLIENT, 0)))


@pytest.mark.parametrize("send, mode", [("send-proxy", "v1"), ("send-proxy-v2", "v2"),
                                        ("send-proxy-v2-ssl", "auto")])
def test_proxy_protocol_gives_rocket_the_client(tmp_path, rocket_process, tls_files, send, mode):
    """haproxy in ``mode tcp`` sends the PROXY header (docs/deploy.md "The PROXY protocol"):
    REMOTE_ADDR is the client's own address, rocket.peer_addr haproxy's; with
    ``send-proxy-v2-ssl`` a client that spoke TLS to haproxy makes the scheme https."""
    program = need("haproxy")
    assert "--proxy-protocol v2 myproject" in DEPLOY_MD.read_text()
    rocket_port, plain_port, tls_port = free_port(), free_port(), free_port()
    rocket = rocket_process(["--bind", f"127.0.0.1:{rocket_port}", "--proxy-protocol", mode,
                             "--no-access-log", "tests.apps.whoami:app"], cwd=ROOT)
    rocket.port()
    site = tmp_path / "site.pem"
    site.write_text(Path(tls_files.cert_path).read_text() + Path(tls_files.key_path).read_text())
    conf = doc_block("haproxy-proxy")
    conf = replace(conf, "bind 127.0.0.1:80", f"bind 127.0.0.1:{plain_port}")
    conf = replace(conf, "bind 127.0.0.1:443 ssl crt /etc/haproxy/site.pem",
                   f"bind 127.0.0.1:{tls_port} ssl crt {site}")
    conf = replace(conf, "server app1 127.0.0.1:8000 send-proxy-v2-ssl",
                   f"server app1 127.0.0.1:{rocket_port} {send}")
    (tmp_path / "haproxy.cfg").write_text(conf)
    proxy = start([program, "-f", str(tmp_path / "haproxy.cfg"), "-db"])
    try:
        facts = wait_until(lambda: get(plain_port), 10, "a response through haproxy", proxy)
        assert (facts["REMOTE_ADDR"], facts["wsgi.url_scheme"]) == (CLIENT, "http")
        assert facts["peer"][0] == "127.0.0.1"
        context = ssl.create_default_context()
        tls_files.ca.configure_trust(context)
        facts = https_get(tls_port, context)
        scheme = "https" if send == "send-proxy-v2-ssl" else "http"
        assert (facts["REMOTE_ADDR"], facts["wsgi.url_scheme"]) == (CLIENT, scheme)
    finally:
        stop(proxy)
