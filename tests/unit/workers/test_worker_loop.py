"""The request loop and the WSGI worker over scripted connections (no sockets)."""

from __future__ import annotations

import io
import logging

from rocket.workers.exchange import PROGRESS_SLICE_BYTES
from rocket.workers.filewrapper import FileWrapper
from rocket.workers.wsgi import WSGIWorker
from tests.apps import hello
from tests.unit.workers.fakes import FakeConnection, fake_context

GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def _worker(app=hello.app, app_info=None, **config):
    info = dict(app_info or {}, wsgi_app=app)
    return WSGIWorker(info, fake_context(**config))


def test_idle_connection_lingers_then_is_parked():
    conn = FakeConnection([GET, None])
    assert _worker(linger=0.02).handle(conn) is True
    assert conn.output.count(b"HTTP/1.1 200 OK") == 1 and not conn.closed
    assert conn.fill_timeouts == [0.02, 0.02]


def test_parks_at_once_when_others_wait():
    conn = FakeConnection([GET, GET])
    conn.fill()  # the pool hands over a readable connection
    worker = WSGIWorker({"wsgi_app": hello.app}, fake_context(has_waiting=lambda: True))
    assert worker.handle(conn) is True
    assert conn.output.count(b"200 OK") == 1 and conn.reads == [GET]


def test_eof_between_requests_closes():
    conn = FakeConnection([GET])
    assert _worker().handle(conn) is False and conn.closed


def test_partial_head_timeout_answers_408():
    conn = FakeConnection([b"GET / HT", None])
    assert _worker(header_timeout=0.5).handle(conn) is False
    assert conn.output.startswith(b"HTTP/1.1 408 ") and conn.closed
    assert 0 < conn.fill_timeouts[1] <= 0.5


def test_draining_server_announces_close():
    conn = FakeConnection([GET])
    draining = [False]
    worker = WSGIWorker({"wsgi_app": hello.app}, fake_context(is_draining=lambda: draining[0]))
    draining[0] = True  # a graceful stop begins while the worker exists
    assert worker.handle(conn) is False
    assert b"Connection: close\r\n" in conn.output


def test_body_error_status_reaches_the_client():
    def reader(environ, start_response):
        environ["wsgi.input"].read(10)
        start_response("200 OK", [])
        return [b""]

    conn = FakeConnection([b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12", None])
    assert _worker(reader).handle(conn) is False
    assert conn.output.startswith(b"HTTP/1.1 408 Request Timeout\r\n")


def test_100_continue_precedes_the_response():
    def reader(environ, start_response):
        data = environ["wsgi.input"].read(4)
        start_response("200 OK", [("Content-Length", "4")])
        return [data]

    conn = FakeConnection([b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                           b"Expect: 100-continue\r\n\r\n", b"data", None])
    assert _worker(reader).handle(conn) is True
    assert conn.sent[0] == b"HTTP/1.1 100 Continue\r\n\r\n" and conn.output.endswith(b"data")


def test_file_wrapper_goes_through_sendfile():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](open(path, "rb"), 4096, 3, 5)

    import tempfile

    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(b"0123456789")
        path = f.name
    conn = FakeConnection([GET, None])
    assert _worker(app).handle(conn) is True
    assert conn.sendfile_calls == [(3, 5)]
    assert b"Content-Length: 5\r\n" in conn.output and conn.output.endswith(b"34567")


def test_file_wrapper_without_descriptor_is_iterated():
    wrapper = FileWrapper(io.BytesIO(b"abcdefgh"), 3, 2, 4)
    assert list(wrapper) == [b"cde", b"f"] and wrapper.sendfile_span() is None


def test_plan_cache_reuses_heads_but_not_across_statuses():
    def app(environ, start_response):
        status = "404 Not Found" if environ["PATH_INFO"] == "/missing" else "200 OK"
        start_response(status, [("Content-Type", "text/plain")])
        return [b"x"]

    conn = FakeConnection([GET, b"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n", GET, None])
    worker = _worker(app)
    assert worker.handle(conn) is True
    statuses = [line.split(b"\r\n")[0] for line in conn.sent]
    assert statuses == [b"HTTP/1.1 200 OK", b"HTTP/1.1 404 Not Found", b"HTTP/1.1 200 OK"]
    assert len(worker.plans) == 2


def test_futures_executor_is_created_and_closed(caplog):
    caplog.set_level(logging.INFO)
    worker = _worker(app_info={"futures": True})
    executor = worker.executor
    assert worker.app_info["executor"] is executor
    assert worker.shared_environ["wsgiorg.futures"] is executor.futures
    worker.close()
    assert executor._shutdown


def test_list_result_is_coalesced_into_few_writes():
    blocks = [bytes([i]) * 65536 for i in range(20)]  # 1.25 MiB

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return blocks

    conn = FakeConnection([GET, None])
    assert _worker(app).handle(conn) is True
    # head + the first 1 MiB joined, then the rest; each sent in progress slices
    total = len(conn.output)
    assert len(conn.sent) == -(-(total - 262144) // PROGRESS_SLICE_BYTES) + 1
    assert max(len(piece) for piece in conn.sent) == PROGRESS_SLICE_BYTES
    head, _, body = conn.output.partition(b"\r\n\r\n")
    assert b"Content-Length: 1310720" in head and body == b"".join(blocks)
