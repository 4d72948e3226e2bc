"""The WSGI worker on the wire: exact bytes over raw sockets."""

from __future__ import annotations

import re
import socket
import time
from wsgiref.validate import validator

import pytest

from rocket import SERVER_SOFTWARE
from tests.apps import echo, hello, huge
from tests.functional.client import RawClient, header

DATE = rb"Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n"


def status_app(environ, start_response):
    status = environ["PATH_INFO"][1:].replace("_", " ")
    bodiless = status[:3] in ("204", "304")  # no Content-Type there (wsgiref.validate)
    start_response(status, [] if bodiless else [("Content-Type", "text/plain")])
    return [b"body that must not be sent"]


@pytest.fixture
def hello_server(start_server):
    return start_server(validator(hello.app))


def test_hello_exact_bytes(hello_server):
    c = RawClient(hello_server.port)
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    c.response()
    assert re.fullmatch(
        rb"HTTP/1\.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n" + DATE
        + rb"Server: " + re.escape(SERVER_SOFTWARE.encode()) + rb"\r\n\r\nHello, World!",
        c.raw,
    ), c.raw
    c.close()


def test_pipelined_requests_answered_in_order(hello_server):
    c = RawClient(hello_server.port)
    c.send(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n" * 20)
    for _ in range(20):
        response, body = c.response()
        assert response.status == 200 and body == b"Hello, World!"
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # still open afterwards
    assert c.response()[1] == b"Hello, World!"
    c.close()


def test_http10_closes_unless_keep_alive_asked(hello_server):
    c = RawClient(hello_server.port)
    c.send(b"GET / HTTP/1.0\r\n\r\n")
    data = c.recv_all()
    assert data.startswith(b"HTTP/1.0 200 OK\r\n") and b"Connection: close\r\n" in data
    assert data.endswith(b"Hello, World!")
    c.close()
    c = RawClient(hello_server.port)
    c.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" * 2)
    for _ in range(2):
        response, body = c.response()
        assert response.http_version == b"1.0" and header(response, b"connection") == b"keep-alive"
    c.close()


def test_http11_connection_close_is_honoured(hello_server):
    c = RawClient(hello_server.port)
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
    data = c.recv_all()
    assert data.count(b"HTTP/1.1 200") == 1 and b"Connection: close\r\n" in data
    c.close()


def test_multi_block_body_is_chunked_on_11_and_close_delimited_on_10(start_server):
    server = start_server(validator(huge.app))
    c = RawClient(server.port)
    c.send(b"GET /gen HTTP/1.1\r\nHost: x\r\n\r\n")
    response, body = c.response()
    assert header(response, b"transfer-encoding") == b"chunked"
    assert body == huge.BLOCK * huge.BLOCKS
    c.send(b"GET /list HTTP/1.1\r\nHost: x\r\n\r\n")
    response, body = c.response()
    assert header(response, b"content-length") == str(len(huge.BLOCK) * huge.BLOCKS).encode()
    assert body == huge.BLOCK * huge.BLOCKS
    c.close()
    c = RawClient(server.port)
    c.send(b"GET /gen HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    data = c.recv_all()
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding" not in head and b"Connection: close" in head
    assert body == huge.BLOCK * huge.BLOCKS
    c.close()


@pytest.mark.parametrize("mode", ["read", "read1", "lines", "iter", "readline"])
def test_chunked_request_body_is_decoded(start_server, mode):
    server = start_server(validator(echo.app))
    c = RawClient(server.port)
    c.send(b"POST /e?" + mode.encode() + b" HTTP/1.1\r\nHost: x\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n"
           b"6;ext=1\r\nline1\n\r\n7\r\nline22\n\r\nA\r\nline333\nxx\r\n0\r\nX-T: 1\r\n\r\n")
    response, body = c.response()
    if mode == "readline":
        assert body == b"line1|\n|line2|2\n|line3|33\n|xx"
    else:
        assert body == b"line1\nline22\nline333\nxx"
    c.send(b"GET /next?none HTTP/1.1\r\nHost: x\r\n\r\n")  # the connection is reusable
    assert c.response()[0].status == 200
    c.close()


def test_read_without_size_stops_at_content_length(start_server):
    server = start_server(echo.app)
    c = RawClient(server.port)
    c.send(b"POST /?readall HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
           b"GET /?none HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.response()[1] == b"hello"
    assert c.response()[0].status == 200
    c.close()


def test_large_body_streams_in_pieces(start_server):
    seen = []

    def app(environ, start_response):
        inp = environ["wsgi.input"]
        total = 0
        while True:
            piece = inp.read(65536)
            if not piece:
                break
            seen.append(len(piece))
            total += len(piece)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(total).encode()]

    size = 8 * 1024 * 1024
    server = start_server(validator(app))
    c = RawClient(server.port)
    c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
    block = b"z" * 65536
    for _ in range(size // len(block)):
        c.send(block)
    assert c.response()[1] == str(size).encode()
    assert max(seen) <= 65536 and len(seen) >= size // 65536
    c.close()


def test_100_continue_sent_on_first_read_only(start_server):
    server = start_server(validator(echo.app))
    c = RawClient(server.port)
    c.send(b"POST /?read HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
    c.sock.settimeout(5)
    interim = c.sock.recv(100)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    c.send(b"ping")
    c.parser.feed(b"")  # fresh parser below
    c.parser = type(c.parser)()
    response, body = c.response()
    assert response.status == 200 and body == b"ping"
    c.close()
    # An app that never reads: no 100 Continue, and the connection closes after the answer.
    c = RawClient(server.port)
    c.send(b"POST /?none HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
    data = c.recv_all()
    assert b"100 Continue" not in data and data.startswith(b"HTTP/1.1 200 OK")
    assert b"Connection: close" in data
    c.close()


def test_unread_small_body_is_drained_and_connection_reused(start_server):
    server = start_server(validator(echo.app))
    c = RawClient(server.port)
    c.send(b"POST /?none HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"
           b"POST /?read HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
    first = c.response()
    assert first[0].status == 200 and first[1] == b""
    assert c.response()[1] == b"ok"
    c.close()


def test_head_never_sends_a_body(start_server):
    server = start_server(validator(huge.app))
    c = RawClient(server.port)
    c.send(b"HEAD /list HTTP/1.1\r\nHost: x\r\n\r\nHEAD /gen HTTP/1.1\r\nHost: x\r\n\r\n"
           b"GET /list HTTP/1.1\r\nHost: x\r\n\r\n")
    r1 = c.response(b"HEAD")
    assert r1[1] == b"" and header(r1[0], b"content-length") == b"2097152"
    r2 = c.response(b"HEAD")
    assert r2[1] == b""
    assert c.response()[1] == huge.BLOCK * huge.BLOCKS
    assert c.raw.count(b"HTTP/1.1 200 OK") == 3
    c.close()


@pytest.mark.parametrize("status", ["204_No_Content", "304_Not_Modified"])
def test_no_body_statuses(start_server, status):
    server = start_server(validator(status_app))
    c = RawClient(server.port)
    c.send(b"GET /" + status.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    c.send(b"GET /200_OK HTTP/1.1\r\nHost: x\r\n\r\n")
    response, body = c.response()
    assert response.status == int(status[:3]) and body == b""
    response, body = c.response()
    assert response.status == 200 and body == b"body that must not be sent"
    assert c.raw.count(b"must not") == 1
    c.close()


@pytest.mark.parametrize(
    "request_bytes, status",
    [
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # missing Host
        (b"GET /\n\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 431),
    ],
)
def test_parser_errors_get_their_status_then_close(hello_server, request_bytes, status):
    c = RawClient(hello_server.port)
    c.send(request_bytes)
    data = c.recv_all()
    assert data.startswith(b"HTTP/1.1 %d " % status), data[:80]
    assert b"Connection: close\r\n" in data and b"Content-Type: text/plain" in data
    c.close()
    c = RawClient(hello_server.port)  # the server still serves
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.response()[1] == b"Hello, World!"
    c.close()


def test_body_over_max_body_is_413(start_server):
    server = start_server(validator(echo.app), max_body=100)
    c = RawClient(server.port)
    c.send(b"POST /?read HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n" + b"x" * 500)
    assert c.recv_all().startswith(b"HTTP/1.1 413 ")
    c.close()


def test_partial_head_times_out_with_408(start_server):
    server = start_server(validator(hello.app), header_timeout=0.3)
    c = RawClient(server.port)
    c.send(b"GET / HTTP/1.1\r\nHo")
    started = time.monotonic()
    data = c.recv_all()
    assert data.startswith(b"HTTP/1.1 408 ") and time.monotonic() - started < 3
    c.close()


def test_idle_connection_is_parked_and_served_later(hello_server):
    c = RawClient(hello_server.port)
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.response()[0].status == 200
    time.sleep(0.3)  # longer than linger: the worker returned True and parked it
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.response()[1] == b"Hello, World!"
    c.close()


def test_client_reset_mid_response_keeps_server_alive(start_server):
    server = start_server(validator(huge.app))
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", server.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.sendall(b"GET /gen HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(100)
        s.close()
    c = RawClient(server.port)
    c.send(b"GET /list HTTP/1.1\r\nHost: x\r\n\r\n")
    assert len(c.response()[1]) == len(huge.BLOCK) * huge.BLOCKS
    c.close()


def test_read_content_length_waits_for_a_body_split_across_segments(start_server):
    server = start_server(validator(echo.app))
    c = RawClient(server.port)
    c.send(b"POST /?read HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
    time.sleep(0.1)
    c.send(b"56789")
    assert c.response()[1] == b"0123456789"
    c.close()
