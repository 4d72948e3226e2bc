"""The WSGI worker with real clients: http.client, requests, curl; environ, file_wrapper and
the futures extra end to end."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import time
from wsgiref.validate import validator

import pytest
import requests

from tests.apps import echo, filewrapper, sleepy
from tests.functional.client import RawClient


def environ_app(environ, start_response):
    """Return the str-valued environ keys as JSON."""
    if environ.get("CONTENT_LENGTH"):
        environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    data = {k: v for k, v in environ.items() if isinstance(v, str)}
    data["wsgi.multithread"] = environ["wsgi.multithread"]
    data["wsgi.input_terminated"] = environ["wsgi.input_terminated"]
    data["has_file_wrapper"] = callable(environ.get("wsgi.file_wrapper"))
    body = json.dumps(data).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def test_environ_keys_over_http_client(start_server):
    server = start_server(validator(environ_app), server_name="rocket-test")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("POST", "/a%20b/c%2Fd%2fe?x=%20&y=2", body=b"abc",
                 headers={"Content-Type": "text/plain", "X-Dup": "1",
                          "Cookie": "a=1", "X_Spoof": "no"})
    env = json.loads(conn.getresponse().read())
    conn.close()
    assert env["REQUEST_METHOD"] == "POST"
    assert env["SCRIPT_NAME"] == ""
    assert env["PATH_INFO"] == "/a b/c%2Fd%2fe"
    assert env["QUERY_STRING"] == "x=%20&y=2"
    assert env["CONTENT_TYPE"] == "text/plain" and env["CONTENT_LENGTH"] == "3"
    assert "HTTP_CONTENT_TYPE" not in env and "HTTP_CONTENT_LENGTH" not in env
    assert env["SERVER_NAME"] == "rocket-test" and env["SERVER_PORT"] == str(server.port)
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["REMOTE_ADDR"] == "127.0.0.1" and env["REMOTE_PORT"].isdigit()
    assert env["HTTP_HOST"] == f"127.0.0.1:{server.port}"
    assert env["HTTP_X_DUP"] == "1" and env["HTTP_COOKIE"] == "a=1"
    assert "HTTP_X_SPOOF" not in env  # underscore names are dropped
    assert env["wsgi.url_scheme"] == "http" and "HTTPS" not in env
    assert env["REQUEST_URI"] == "/a%20b/c%2Fd%2fe?x=%20&y=2"
    assert env["wsgi.multithread"] is True and env["wsgi.input_terminated"] is True
    assert env["has_file_wrapper"]


def test_repeated_headers_are_joined(start_server):
    server = start_server(validator(environ_app))
    c = RawClient(server.port)
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\nAccept: a\r\nAccept: b\r\n"
           b"Cookie: a=1\r\nCookie: b=2\r\n\r\n")
    env = json.loads(c.response()[1])
    c.close()
    assert env["HTTP_ACCEPT"] == "a, b" and env["HTTP_COOKIE"] == "a=1; b=2"


def test_absolute_form_target(start_server):
    server = start_server(validator(environ_app))
    c = RawClient(server.port)
    c.send(b"GET http://example.com:8080/p/q?z=1 HTTP/1.1\r\nHost: other\r\n\r\n")
    env = json.loads(c.response()[1])
    c.close()
    assert env["PATH_INFO"] == "/p/q" and env["QUERY_STRING"] == "z=1"
    assert env["HTTP_HOST"] == "example.com:8080"


def test_requests_session_keep_alive_and_bodies(start_server):
    server = start_server(validator(echo.app))
    url = f"http://127.0.0.1:{server.port}"
    with requests.Session() as session:
        for i in range(5):
            r = session.post(url + "/p?read", data=b"x" * (i * 1000))
            assert r.status_code == 200 and r.content == b"x" * (i * 1000)
        # a generator body is sent chunked by requests
        r = session.post(url + "/p?lines", data=(b"line %d\n" % i for i in range(100)))
        assert r.content == b"".join(b"line %d\n" % i for i in range(100))
        r = session.get(url + "/%E2%82%AC?none")
        assert r.headers["X-Path"] == "/\xe2\x82\xac"  # latin-1 str of the UTF-8 bytes


def test_http_client_head_then_get(start_server):
    server = start_server(validator(sleepy.app))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("HEAD", "/?0")
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b"" and r.getheader("Content-Length") == "2"
    conn.request("GET", "/?0")
    assert conn.getresponse().read() == b"ok"
    conn.close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_upload_with_expect_continue(start_server, tmp_path):
    payload = os.urandom(300_000)
    src = tmp_path / "up.bin"
    src.write_bytes(payload)
    server = start_server(validator(echo.app))
    out = subprocess.run(
        ["curl", "-sS", "--max-time", "10", "-H", "Expect: 100-continue",
         "--data-binary", f"@{src}", f"http://127.0.0.1:{server.port}/?read1",
         "-o", str(tmp_path / "down.bin"), "-w", "%{http_code}"],
        capture_output=True, timeout=20,
    )
    assert out.stdout == b"200", out.stderr
    assert (tmp_path / "down.bin").read_bytes() == payload
    out = subprocess.run(
        ["curl", "-sS", "--max-time", "10", "-H", "Transfer-Encoding: chunked",
         "--data-binary", f"@{src}", f"http://127.0.0.1:{server.port}/?iter"],
        capture_output=True, timeout=20,
    )
    assert out.stdout == payload


@pytest.fixture
def big_file(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(3 * 1024 * 1024 + 123))
    return path


@pytest.mark.parametrize("validate", [True, False])
def test_file_wrapper_sends_identical_bytes(start_server, big_file, validate):
    payload = big_file.read_bytes()
    app = filewrapper.make_app(str(big_file))
    server = start_server(validator(app) if validate else app)
    with requests.Session() as session:
        url = f"http://127.0.0.1:{server.port}/"
        r = session.get(url)
        assert r.content == payload and r.headers["Content-Length"] == str(len(payload))
        r = session.get(url + "?range=1000-5000")
        assert r.status_code == 206 and r.content == payload[1000:6000]
        r = session.get(url + "?nolength")
        assert r.content == payload
        assert session.get(url + "?range=7-3").content == payload[7:10]  # still reusable


def test_file_wrapper_uses_sendfile(start_server, big_file):
    from rocket.net.connection import Connection

    calls = []
    original = Connection.sendfile

    def spy(self, file, offset=0, count=None):
        calls.append((offset, count))
        return original(self, file, offset, count)

    Connection.sendfile = spy
    try:
        server = start_server(filewrapper.make_app(str(big_file)))
        r = requests.get(f"http://127.0.0.1:{server.port}/?range=10-100")
        assert r.content == big_file.read_bytes()[10:110]
    finally:
        Connection.sendfile = original
    assert calls == [(10, 100)]


def test_futures_extra_end_to_end(start_server):
    def app(environ, start_response):
        executor = environ["wsgiorg.executor"]
        futures = environ["wsgiorg.futures"]
        if environ["PATH_INFO"] == "/start":
            executor.submit(lambda: 6 * 7).remember("answer")
            body = b"started"
        else:
            future = futures["answer"]
            body = str(future.result(timeout=5)).encode()
            future.forget()
            body += b" left=%d" % len(futures)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]

    server = start_server(validator(app), app_info={"futures": True})
    url = f"http://127.0.0.1:{server.port}"
    assert requests.get(url + "/start").content == b"started"
    assert requests.get(url + "/collect").content == b"42 left=0"
    assert server.worker.executor.multithread is True


def test_slow_apps_run_concurrently(start_server):
    server = start_server(validator(sleepy.app))
    clients = [RawClient(server.port) for _ in range(8)]
    started = time.monotonic()
    for c in clients:
        c.send(b"GET /?0.3 HTTP/1.1\r\nHost: x\r\n\r\n")
    for c in clients:
        assert c.response()[1] == b"ok"
        c.close()
    assert time.monotonic() - started < 2.0


def test_tls_environ_with_client_certificate(start_server, tls_files):
    import ssl

    server = start_server(validator(environ_app), interfaces=(
        "127.0.0.1", 0, tls_files.key_path, tls_files.cert_path, tls_files.ca_path))
    ctx = ssl.create_default_context(cafile=tls_files.ca_path)
    ctx.load_cert_chain(tls_files.client_cert_path, tls_files.client_key_path)
    conn = http.client.HTTPSConnection("127.0.0.1", server.ports[0], context=ctx, timeout=5)
    conn.request("GET", "/tls")
    env = json.loads(conn.getresponse().read())
    conn.close()
    assert env["HTTPS"] == "on" and env["wsgi.url_scheme"] == "https"
    assert env["SSL_CLIENT_RAW_CERT"] == ssl.DER_cert_to_PEM_cert(tls_files.client_cert_der)
