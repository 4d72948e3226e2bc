"""The access log's client address: the peer's IP on TCP, ``-`` (never an empty field) on a
unix socket, where there is no peer address."""

from __future__ import annotations

import logging
import tempfile

from tests.functional.client import unix_get


def app(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]


def test_a_unix_socket_client_is_logged_as_a_dash(start_server, caplog):
    with tempfile.TemporaryDirectory(prefix="rkt", dir="/tmp") as short:
        path = f"{short}/a.sock"
        start_server(app, interfaces=f"unix:{path}")
        with caplog.at_level(logging.INFO, logger="Rocket.Requests"):
            assert unix_get(path, "/u").endswith("ok")
            start_server.stop_all()  # flushes the access log
    lines = [r.getMessage() for r in caplog.records if r.name == "Rocket.Requests"]
    assert lines == ['- - "GET /u HTTP/1.1" - 200 2'], lines
