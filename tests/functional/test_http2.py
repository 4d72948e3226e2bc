"""HTTP/2 on a real server: curl over TLS (ALPN h2) and h2c with prior knowledge, HTTP/1.1
on the same port, streams run concurrently within http2_max_threads, RST_STREAM frees the
thread, GOAWAY on a graceful stop with the streams in flight finished, the start-up error
without the h2 package."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("h2")

from tests.functional.client import raw_get, read_to_eof  # noqa: E402
from tests.functional.h2client import H2Client  # noqa: E402
from tests.functional.programs import needs  # noqa: E402

CURL = shutil.which("curl")
needs_curl = needs(CURL, "curl", "curl")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/echo":  # the size and SHA-256 of the body, read in pieces
        digest, size = hashlib.sha256(), 0
        for block in iter(lambda: environ["wsgi.input"].read(65536), b""):
            digest.update(block)
            size += len(block)
        body = f"{size} {digest.hexdigest()}".encode()
    elif path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (b"part %d\n" % i for i in range(50))
    elif path == "/boom":
        raise RuntimeError("boom")
    elif path == "/late-boom":  # fails after its head and first block
        start_response("200 OK", [("Content-Type", "text/plain")])
        return late_boom()
    else:
        body = f"{environ['SERVER_PROTOCOL']} {environ['wsgi.url_scheme']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


def late_boom():
    yield b"first"
    raise RuntimeError("late boom")


def curl(*args, timeout=30):
    done = subprocess.run([CURL, "-sS", "--max-time", "20", *args], capture_output=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout


def check_with_curl(url, *options, tmp_path):
    assert curl(*options, "-w", " %{http_version}", url + "/") \
        .endswith(b" 2")
    head = curl(*options, "-I", url + "/")
    assert head.startswith(b"HTTP/2 200") and b"content-length: " in head.lower()
    body = os.urandom(10 * 1024 * 1024)
    (tmp_path / "body").write_bytes(body)
    echoed = curl(*options, "--data-binary", f"@{tmp_path / 'body'}", url + "/echo")
    assert echoed == f"{len(body)} {hashlib.sha256(body).hexdigest()}".encode()
    assert curl(*options, url + "/stream") == b"".join(b"part %d\n" % i for i in range(50))


@needs_curl
def test_curl_prior_knowledge_over_plain_tcp(start_server, tmp_path, caplog):
    server = start_server(app)
    url = f"http://127.0.0.1:{server.port}"
    with caplog.at_level(logging.INFO, logger="Rocket.Requests"):
        check_with_curl(url, "--http2-prior-knowledge", tmp_path=tmp_path)
        assert curl("--http2-prior-knowledge", url + "/") == b"HTTP/2 http"
    assert any('"GET / HTTP/2.0" - 200' in r.getMessage() for r in caplog.records)
    assert curl("--http1.1", url + "/") == b"HTTP/1.1 http"  # the same port, HTTP/1.1
    status_line, body = raw_get(server.port)
    assert b"200 OK" in status_line and body == b"HTTP/1.1 http"


@needs_curl
def test_curl_over_tls_negotiates_h2_by_alpn(start_server, tls_files, tmp_path):
    server = start_server(app, interfaces=("127.0.0.1", 0, tls_files.key_path,
                                           tls_files.cert_path))
    url = f"https://127.0.0.1:{server.port}"
    check_with_curl(url, "--http2", "--cacert", tls_files.ca_path, tmp_path=tmp_path)
    assert curl("--http2", "--cacert", tls_files.ca_path, url + "/") == b"HTTP/2 https"
    assert curl("--http1.1", "--cacert", tls_files.ca_path, url + "/") == b"HTTP/1.1 https"


@needs_curl
def test_a_client_certificate_reaches_the_environ_over_http2(start_server, tls_files):
    def cert(environ, start_response):
        body = environ.get("SSL_CLIENT_RAW_CERT", "none").encode()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]

    server = start_server(cert, interfaces=("127.0.0.1", 0, tls_files.key_path,
                                            tls_files.cert_path, tls_files.ca_path))
    url = f"https://127.0.0.1:{server.port}/"
    options = ("--http2", "--cacert", tls_files.ca_path, "-w", " %{http_version}")
    with_cert = curl(*options, "--cert", tls_files.client_cert_path, "--key",
                     tls_files.client_key_path, url)
    assert with_cert.startswith(b"-----BEGIN CERTIFICATE-----") and with_cert.endswith(b" 2")
    assert curl(*options, url) == b"none 2"


def test_streams_run_concurrently_within_http2_max_threads(start_server):
    lock = threading.Lock()
    running = [0, 0]  # now, most at once

    def slow(environ, start_response):
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        time.sleep(0.5)
        with lock:
            running[0] -= 1
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    server = start_server(slow, http2_max_threads=3, min_threads=10, max_threads=20)
    client = H2Client(server.port)
    try:
        started = time.monotonic()
        streams = [client.request(f"/{i}") for i in range(9)]
        replies = client.wait_for(*streams)
        elapsed = time.monotonic() - started
    finally:
        client.close()
    assert [(r["status"], r["body"]) for r in replies] == [(200, b"ok")] * 9
    assert running[1] == 3  # concurrent, and never more than http2_max_threads
    assert 1.45 < elapsed < 4.4  # three rounds of three, not nine in a row (4.5 s)


def test_rst_stream_closes_the_iterable_and_frees_the_thread(start_server):
    closed = threading.Event()

    class Endless:
        def __iter__(self):
            while True:
                time.sleep(0.01)
                yield b"x" * 1024

        def close(self):
            closed.set()

    def endless(environ, start_response):
        if environ["PATH_INFO"] == "/hello":
            start_response("200 OK", [("Content-Length", "5")])
            return [b"hello"]
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return Endless()

    server = start_server(endless, http2_max_threads=1)
    client = H2Client(server.port)
    try:
        stream = client.request("/endless")
        while not client.responses[stream]["body"]:
            client.read_once()
        client.reset(stream)
        assert closed.wait(5.0)
        assert client.get("/hello") == (200, b"hello")  # the one thread is free again
    finally:
        client.close()


def test_raising_app_gets_500_or_a_reset_and_the_connection_goes_on(start_server):
    server = start_server(app)
    client = H2Client(server.port)
    try:
        assert client.get("/boom")[0] == 500
        late = client.wait_for(client.request("/late-boom"))[0]
        assert late["status"] == 200 and late["reset"] == 2  # INTERNAL_ERROR, not a short end
        assert client.get("/") == (200, b"HTTP/2 http")
    finally:
        client.close()


def test_graceful_stop_sends_goaway_and_finishes_streams_in_flight(start_server):
    entered = threading.Event()

    def slow(environ, start_response):
        entered.set()
        time.sleep(1.5)  # past the GOAWAY, which follows the drain's 0.5 s grace
        start_response("200 OK", [("Content-Length", "4")])
        return [b"done"]

    server = start_server(slow, graceful_timeout=10)
    client = H2Client(server.port)
    try:
        stream = client.request("/")
        assert entered.wait(5.0)
        assert server.info()["open_streams"] == 1
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        while client.goaway is None and client.read_once():
            pass
        late = client.request("/late")  # after the GOAWAY: refused, never run
        reply, refused = client.wait_for(stream, late)
    finally:
        client.close()
    stopper.join(15.0)
    assert not stopper.is_alive()
    assert (reply["status"], reply["body"]) == (200, b"done")
    assert client.goaway.error_code == 0 and client.goaway.last_stream_id == stream
    assert refused["reset"] == 7  # REFUSED_STREAM


def test_http2_true_without_h2_is_one_error_line():
    code = ("import sys; sys.modules['h2'] = None; from rocket.cli.main import main; "
            "sys.exit(main(['--http2', 'true', 'tests.apps.hello:app']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert "http2" in lines[0] and "pip install 'rocket-wsgi[http2]'" in lines[0]


def test_http2_false_answers_the_preface_with_505(start_server):
    server = start_server(app, http2=False)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        assert read_to_eof(sock).startswith(b"HTTP/1.1 505 ")


def test_hooks_fire_per_stream_and_static_files_go_out_as_data(start_server, tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "page.txt").write_bytes(b"p" * 100_000)
    events = []
    server = start_server(app, static=[f"/files={tmp_path / 'site'}"],
                          pre_request=lambda conn, request: events.append(request.target),
                          post_request=lambda conn, request, reply: events.append("after"))
    client = H2Client(server.port)
    try:
        assert client.get("/files/page.txt") == (200, b"p" * 100_000)
        assert client.get("/") == (200, b"HTTP/2 http")
    finally:
        client.close()
    deadline = time.monotonic() + 5.0
    while len(events) < 4 and time.monotonic() < deadline:  # post_request follows the reply
        time.sleep(0.01)
    assert events == [b"/files/page.txt", "after", b"/", "after"]


@needs_curl
def test_prior_knowledge_while_the_accepting_thread_serves(start_server, monkeypatch):
    """Serving on the accepting thread (PyPy's default while the lock is busy) hands an h2c
    connection to its session like a pool thread does, and HTTP/1.1 goes on beside it."""
    from rocket.server import wsgi as wsgi_module
    from tests.functional.test_serving_on_accept import busy

    monkeypatch.setattr(wsgi_module, "SERVE_ON_ACCEPT", True)
    server = start_server(app)
    busy(server)
    url = f"http://127.0.0.1:{server.port}"
    for _ in range(3):
        assert curl("--http2-prior-knowledge", url + "/") == b"HTTP/2 http"
        assert curl("--http1.1", url + "/") == b"HTTP/1.1 http"
    deadline = time.monotonic() + 5
    while server.accept_serving:  # the last answer may be out before its thread is done
        assert time.monotonic() < deadline, "a request stayed on the accepting thread"
        time.sleep(0.01)
