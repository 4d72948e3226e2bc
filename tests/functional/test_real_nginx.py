"""Rocket behind a real nginx (docs/deploy.md "Behind nginx"), over TCP and a unix socket,
plain and TLS on the nginx side: the client's address, scheme and host reach the app; what a
client sends in forwarding headers does not."""

from __future__ import annotations

import http.client
import json
import os
import ssl
import subprocess

import pytest

from tests.apps import whoami
from tests.functional.programs import (
    doc_block,
    free_port,
    need,
    replace,
    start,
    stop,
    wait_until,
)

CLIENT = "127.0.0.2"  # a loopback address that is not on the default trust list


def nginx_conf(tmp, upstream: str, http_port: int, https_port: int, tls_files) -> str:
    site = doc_block("nginx")
    site = replace(site, "server 127.0.0.1:8000;", f"server {upstream};")
    site = replace(site, "listen 80;", f"listen 127.0.0.1:{http_port};")
    site = replace(site, "listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    site = replace(site, "/etc/ssl/certs/www.example.com.pem", tls_files.cert_path)
    site = replace(site, "/etc/ssl/private/www.example.com.key", tls_files.key_path)
    temp = "\n".join(f"  {kind}_temp_path {tmp}/{kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must reach the unix socket
    return (f"{user}daemon off;\nworker_processes 1;\npid {tmp}/nginx.pid;\n"
            f"error_log stderr warn;\nevents {{ worker_connections 64; }}\n"
            f"http {{\n  access_log off;\n{temp}\n{site}\n}}\n")


def get(port: int, context=None, headers=None) -> dict:
    cls = http.client.HTTPSConnection if context else http.client.HTTPConnection
    kwargs = {"context": context} if context else {}
    conn = cls("127.0.0.1", port, timeout=5, source_address=(CLIENT, 0), **kwargs)
    try:
        conn.request("GET", "/who", headers=headers or {})
        response = conn.getresponse()
        assert response.status == 200
        return json.loads(response.read())
    finally:
        conn.close()


@pytest.fixture
def nginx(tmp_path, tls_files):
    program = need("nginx")
    started = []

    def run(upstream: str):
        ports = free_port(), free_port()
        conf = tmp_path / "nginx.conf"
        conf.write_text(nginx_conf(tmp_path, upstream, *ports, tls_files))
        check = subprocess.run([program, "-t", "-c", str(conf), "-p", str(tmp_path)],
                               capture_output=True, text=True, timeout=10)
        assert check.returncode == 0, check.stderr
        proc = start([program, "-c", str(conf), "-p", str(tmp_path)])
        started.append(proc)
        wait_until(lambda: get(ports[0]), 10, "nginx answering", proc)
        return ports

    yield run
    for proc in started:
        stop(proc)


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_client_address_scheme_and_host_end_to_end(start_server, nginx, tmp_path, tls_files,
                                                    transport):
    if transport == "tcp":
        server = start_server(whoami.app)
        upstream = f"127.0.0.1:{server.port}"
    else:
        path = str(tmp_path / "rocket.sock")
        start_server(whoami.app, interfaces=f"unix:{path}")
        upstream = f"unix:{path}"
    http_port, https_port = nginx(upstream)
    tls = ssl.create_default_context()
    tls_files.ca.configure_trust(tls)

    plain = get(http_port)
    assert (plain["REMOTE_ADDR"], plain["wsgi.url_scheme"], plain["HTTPS"]) == \
        (CLIENT, "http", None)
    assert (plain["HTTP_HOST"], plain["SERVER_PORT"]) == (f"127.0.0.1:{http_port}",
                                                          str(http_port))
    assert plain["peer"] != CLIENT  # nginx's own address stays in rocket.peer_addr

    secure = get(https_port, context=tls)
    assert (secure["REMOTE_ADDR"], secure["wsgi.url_scheme"], secure["HTTPS"]) == \
        (CLIENT, "https", "on")
    assert (secure["HTTP_HOST"], secure["SERVER_PORT"]) == (f"127.0.0.1:{https_port}",
                                                            str(https_port))

    # A client's own forwarding headers, sent through nginx, change nothing.
    spoof = get(http_port, headers={"X-Forwarded-For": "203.0.113.66",
                                    "X-Forwarded-Proto": "https", "Forwarded": "for=1.2.3.4"})
    assert (spoof["REMOTE_ADDR"], spoof["wsgi.url_scheme"]) == (CLIENT, "http")
    assert spoof["HTTP_X_FORWARDED_FOR"] == f"203.0.113.66, {CLIENT}"
    assert spoof["HTTP_FORWARDED"] is None
