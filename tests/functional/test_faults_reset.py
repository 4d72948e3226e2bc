"""A client that resets the connection while the app reads its body is a peer gone, not an
application error: no ERROR traceback, and the server keeps serving (found by the soak)."""

from __future__ import annotations

import logging
import socket
import struct
import time

from tests.apps import faults_app
from tests.functional.client import get


def test_reset_during_a_body_read_is_not_logged_as_an_app_error(start_server, caplog):
    server = start_server(faults_app.app, access_log=False)
    with caplog.at_level(logging.INFO, logger="Rocket"):
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            sock.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
                         + b"x" * 1000)
            time.sleep(0.2)                        # the app is now waiting in read()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()                           # a reset
        time.sleep(0.3)
        assert get(server.port, "/")[0] == 200
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
