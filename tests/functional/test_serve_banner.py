"""``serve()`` and the ``rocket`` command say where they serve: one ``Serving on URL`` line per
listener on standard error (http/https, [IPv6], unix:PATH), unless logging is configured;
``Rocket(...)`` stays silent as Rocket 1.x was."""

from __future__ import annotations

import http.client
import re
import socket
import sys

import pytest

from rocket import Rocket
from tests.functional.cli_support import HELLO_APP

SERVE = """
import logging, sys
sys.path.insert(0, ".")
if "--log" in sys.argv:
    logging.basicConfig(level=logging.INFO)
from rocket import serve
from hello import app
serve(app, bind=sys.argv[1].split(","), **({"certfile": sys.argv[2], "keyfile": sys.argv[3]}
                                            if len(sys.argv) > 3 else {}))
"""

HAS_IPV6 = socket.has_ipv6 and hasattr(socket, "AF_INET6")


def has_loopback_v6() -> bool:
    if not HAS_IPV6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def banner(proc, count: int):
    return [m.group(1) for m in proc.wait_for_all(r"^Serving on (\S+)$", count)]


def get(port: int, host: str = "127.0.0.1") -> bytes:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", "/x")
        return conn.getresponse().read()
    finally:
        conn.close()


def test_serve_prints_one_clickable_url_per_listener(tmp_path, rocket_process):
    (tmp_path / "hello.py").write_text(HELLO_APP)
    sock = tmp_path / "s.sock"
    binds = ["127.0.0.1:0", f"unix:{sock}"] + (["[::1]:0"] if has_loopback_v6() else [])
    proc = rocket_process([",".join(binds)], tmp_path, program=[sys.executable, "-c", SERVE])
    urls = banner(proc, len(binds))
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", urls[0]) and urls[1] == f"unix:{sock}"
    port = int(urls[0].rsplit(":", 1)[1])
    assert port != 0 and get(port) == b"hello GET /x"  # the printed port is the bound one
    if len(binds) == 3:
        assert re.fullmatch(r"http://\[::1\]:\d+", urls[2])
        assert get(int(urls[2].rsplit(":", 1)[1]), "::1") == b"hello GET /x"
    assert proc.stop() == 0
    assert proc.out == []  # standard error only: standard output is the application's


def test_serve_prints_https_for_tls(tmp_path, rocket_process, tls_files):
    (tmp_path / "hello.py").write_text(HELLO_APP)
    proc = rocket_process(["127.0.0.1:0", tls_files.cert_path, tls_files.key_path], tmp_path,
                          program=[sys.executable, "-c", SERVE])
    assert re.fullmatch(r"https://127\.0\.0\.1:\d+", banner(proc, 1)[0])
    assert proc.stop() == 0


def test_serve_is_quiet_when_logging_is_configured(tmp_path, rocket_process):
    (tmp_path / "hello.py").write_text(HELLO_APP)
    proc = rocket_process(["127.0.0.1:0", "--log"], tmp_path,
                          program=[sys.executable, "-c", SERVE])
    proc.wait_for(r"Listening on sockets")
    assert proc.stop() == 0
    assert "Serving on" not in proc.log()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_command_prints_the_same_lines(tmp_path, rocket_process, workers):
    (tmp_path / "hello.py").write_text(HELLO_APP)
    proc = rocket_process(["-b", "127.0.0.1:0", "--workers", workers, "--no-access-log",
                           "hello:app"], tmp_path)
    url = banner(proc, 1)[0]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
    assert get(int(url.rsplit(":", 1)[1])) == b"hello GET /x"
    assert proc.stop() == 0


def test_the_rocket_api_stays_silent(capfd):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "0")])
        return []

    server = Rocket(("127.0.0.1", 0), "wsgi", {"wsgi_app": app}, handle_signals=False)
    server.start(background=True)
    try:
        assert get(server.ports[0]) == b""
    finally:
        server.stop()
    out, err = capfd.readouterr()
    assert "Serving on" not in out + err
