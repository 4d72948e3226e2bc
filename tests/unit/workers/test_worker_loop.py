"""The request loop and the WSGI worker over scripted connections (no sockets)."""

from __future__ import annotations

import io
import logging
import time

import pytest

from rocket.http.limits import Limits
from rocket.workers.base import head_ready
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


class WaitingConnection(FakeConnection):
    """A scripted None waits out the timeout, as a silent client makes a real read do."""

    def fill(self, timeout=None):
        if self.reads and self.reads[0] is None:
            time.sleep(timeout or 0)
        return super().fill(timeout)


def test_part_of_a_head_lingers_then_goes_to_the_monitor():
    conn = WaitingConnection([b"GET / HT", None, None])
    started = time.monotonic()
    assert _worker(linger=0.05).handle(conn) is True  # the monitor waits for the rest
    assert not conn.closed and conn.output == b""
    assert started <= conn.head_since <= started + 0.06  # the deadline counts from here
    assert 0.04 <= time.monotonic() - started < 0.2  # one linger, not header_timeout
    assert conn.reader.trailing_data == b"GET / HT"


def test_the_rest_of_a_head_within_the_linger_is_served_on_the_thread():
    conn = FakeConnection([b"GET / HT", GET[8:], None])
    assert _worker(linger=0.05).handle(conn) is True
    assert conn.output.count(b"200 OK") == 1


def test_a_handed_over_head_keeps_its_start():
    conn = FakeConnection([])
    conn.head_since = time.monotonic() - 5.0  # began long ago, in the monitor
    conn.reader.feed(b"\r\n\r\nGET /")  # empty lines first: looked whole, is not
    assert _worker(linger=0.05).handle(conn) is True
    assert time.monotonic() - conn.head_since >= 5.0 and conn.fill_timeouts == []


def test_a_refused_request_is_closed_gently():
    conn = FakeConnection([b"GET /" + b"a" * 9000])
    assert _worker().handle(conn) is False
    assert conn.output.startswith(b"HTTP/1.1 414 ") and conn.gently_closed


def test_an_unread_body_is_closed_gently_and_a_read_request_plainly():
    def refuses(environ, start_response):
        start_response("200 OK", [("Connection", "close")])
        return [b"no"]

    body = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"x" * 10
    conn = FakeConnection([body, None])
    assert _worker(refuses).handle(conn) is False
    assert conn.gently_closed  # the client is still sending its body
    conn = FakeConnection([GET.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")])
    assert _worker().handle(conn) is False
    assert conn.closed and not conn.gently_closed


@pytest.mark.parametrize("buf, ready", [
    (b"", False),
    (b"GET / HTTP/1.1\r\nHost: x\r\n", False),
    (GET, True),
    (GET + b"GET /", True),
    (b"GET / HTTP/1.1\nHost", True),  # a bare LF: the parser refuses it at once
    (b"GET /" + b"a" * 8190, True),  # longer than max_request_line: 414
    (b"GET /" + b"a" * 8180, False),
    (b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 11000, True),  # past max_header_bytes: 431
])
def test_head_ready_says_when_the_parser_can_act(buf, ready):
    assert head_ready(buf, Limits()) is ready


@pytest.mark.parametrize("buf", [
    b"", b"\r\n\r\n", b"\r\n", GET, GET[:-1], GET[:-2], GET + b"GET /", GET + GET,
    GET + b"x" * 10, b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n\r\n\r\n",
    b"GET / HTTP/1.1\nHost: x\r\n\r\n", b"GET / HTTP/1.1\nHost", b"GET /" + b"a" * 8190,
])
def test_request_ready_agrees_with_head_ready(buf):
    """The worker's shortcut (a buffer ending with CRLF CRLF needs no scan) answers as
    head_ready does."""

    class Reader:
        trailing_data = buf

    class Conn:
        reader = Reader()

    assert _worker().request_ready(Conn()) is head_ready(buf, Limits())


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
    # head + the first 1 MiB joined, then the rest: two sends
    assert len(conn.sent) == 2 and conn.sent[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert len(conn.sent[1]) == 262144
    head, _, body = conn.output.partition(b"\r\n\r\n")
    assert b"Content-Length: 1310720" in head and body == b"".join(blocks)
