"""One WSGI exchange: start_response and write rules, body framing, the head plan and its cache."""

from __future__ import annotations

import logging
import sys
import threading
import types

import pytest

from rocket.http.errors import InvalidResponse
from rocket.http.events import Request
from rocket.workers import exchange as exchange_module
from rocket.workers.exchange import DRAIN_MAX_BYTES, Exchange, WSGIViolation
from rocket.workers.input import WSGIInput
from rocket.workers.progress import ThreadProgress
from tests.unit.workers.fakes import FakeConnection

GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def make(raw: bytes = GET, reads=(), plans=None, conn_class=FakeConnection):
    """An Exchange for the request in ``raw`` on a FakeConnection; the worker is what it reads."""
    conn = conn_class(list(reads))
    conn.reader.feed(raw)
    request = conn.reader.next_event()
    assert isinstance(request, Request)
    worker = types.SimpleNamespace(plans={} if plans is None else plans, server_header=b"R",
                                   last_plan=None)
    exchange = Exchange(worker, conn, request, ThreadProgress(threading.current_thread()))
    if request.content_length or request.chunked:
        exchange.input = WSGIInput(conn, 1.0, exchange.send_continue
                                   if request.expect_continue else None)
    return exchange


def split(data: bytes):
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


# -- start_response and write() ------------------------------------------------------------

def test_start_response_returns_write_and_refuses_a_second_call():
    ex = make()
    assert ex.start_response("200 OK", []) == ex.app_write
    with pytest.raises(AssertionError, match="second time"):
        ex.start_response("200 OK", [])


def test_start_response_checks_types():
    with pytest.raises(TypeError, match="status must be a str"):
        make().start_response(b"200 OK", [])
    with pytest.raises(TypeError, match="must be a list"):
        make().start_response("200 OK", ())


def test_exc_info_replaces_the_status_before_the_head_and_reraises_after():
    ex = make()
    ex.start_response("200 OK", [])
    try:
        raise ValueError("app bug")
    except ValueError:
        ex.start_response("500 Oops", [], sys.exc_info())
    assert ex.status == "500 Oops"
    ex.write(b"x")  # the head is out
    try:
        raise KeyError("late")
    except KeyError:
        info = sys.exc_info()
    with pytest.raises(KeyError):
        ex.start_response("502 Late", [], info)


def test_write_callable_needs_start_response_and_warns_once(caplog, monkeypatch):
    monkeypatch.setattr(exchange_module, "_warned_write", [])
    ex = make()
    with caplog.at_level(logging.WARNING):
        with pytest.raises(WSGIViolation, match="before start_response"):
            ex.app_write(b"x")
        ex.start_response("200 OK", [("Content-Length", "2")])
        ex.app_write(b"h")
        ex.app_write(b"i")
    assert sum("deprecated" in r.getMessage() for r in caplog.records) == 1
    assert split(ex.conn.output)[1] == b"hi" and ex.finish() is True


# -- framing -------------------------------------------------------------------------------

class Text(bytes):
    pass


def test_head_waits_for_the_first_non_empty_block():
    ex = make()
    ex.start_response("200 OK", [])
    ex.write(b"")
    assert ex.conn.sent == [] and ex.head is None
    ex.write(Text(b"abc"))  # a bytes subclass is sent as plain bytes
    assert len(ex.conn.sent) == 1 and ex.conn.sent[0].endswith(b"\r\n\r\n3\r\nabc\r\n")
    assert ex.finish() is True
    assert ex.conn.sent[-1] == b"0\r\n\r\n" and ex.body_sent == 3


def test_non_bytes_block_is_a_wsgi_violation():
    ex = make()
    ex.start_response("200 OK", [])
    for block in ("text", bytearray(b"text")):
        with pytest.raises(WSGIViolation, match="not bytes"):
            ex.write(block)


def test_content_length_overflow_is_cut_and_logged_once(caplog):
    ex = make()
    ex.start_response("200 OK", [("Content-Length", "4")])
    with caplog.at_level(logging.WARNING):
        for block in (b"abc", b"def", b"ghi"):
            ex.write(block)
    assert split(ex.conn.output)[1] == b"abcd" and ex.body_sent == 4
    assert sum("truncated" in r.getMessage() for r in caplog.records) == 1
    assert ex.finish() is True


def test_short_content_length_closes(caplog):
    ex = make()
    ex.start_response("200 OK", [("Content-Length", "10")])
    ex.write(b"abc")
    with caplog.at_level(logging.ERROR):
        assert ex.finish() is False
    assert any("3 of its 10-byte" in r.getMessage() for r in caplog.records)


def test_head_request_sends_no_body():
    ex = make(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    ex.start_response("200 OK", [("Content-Length", "5")])
    ex.write(b"hello")
    head, body = split(ex.conn.output)
    assert b"Content-Length: 5" in head and body == b""
    assert ex.finish() is True


def test_http_10_without_length_is_close_delimited():
    ex = make(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    ex.start_response("200 OK", [])
    ex.write(b"raw")
    assert ex.head.framing == "close" and split(ex.conn.output)[1] == b"raw"
    assert ex.finish() is False


def test_empty_response_plans_a_zero_length_head():
    ex = make()
    ex.start_response("204 No Content", [])
    assert ex.finish() is True
    assert ex.conn.output.startswith(b"HTTP/1.1 204 No Content\r\n")
    assert ex.conn.output.endswith(b"\r\n\r\n") and b"Content-Length" not in ex.conn.output


def test_a_send_failure_marks_the_peer_gone():
    class Gone(FakeConnection):
        def sendall(self, data: bytes) -> None:
            raise BrokenPipeError

    ex = make(conn_class=Gone)
    ex.start_response("200 OK", [])
    with pytest.raises(OSError):
        ex.write(b"x")
    assert ex.peer_gone


# -- 100 Continue and the unread body -------------------------------------------------------

def test_100_continue_is_sent_once_and_never_after_the_head():
    raw = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
    ex = make(raw, reads=[b"ok"])
    assert ex.input.read() == b"ok"
    ex.input.read()
    assert ex.conn.sent == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    late = make(raw)
    late.start_response("200 OK", [])
    late.write(b"x")
    late.send_continue()
    assert b"100 Continue" not in late.conn.output


@pytest.mark.parametrize("raw, keep_alive", [
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n", True),  # drained later
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (DRAIN_MAX_BYTES + 1), False),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n", False),
])
def test_an_unread_body_decides_whether_the_connection_is_reused(raw, keep_alive):
    ex = make(raw)
    ex.start_response("200 OK", [])
    assert ex.plan(0).keep_alive is keep_alive


# -- the head plan and its cache -----------------------------------------------------------

def test_plan_needs_start_response():
    with pytest.raises(WSGIViolation, match="before calling start_response"):
        make().plan(0)


def test_plans_are_cached_per_shape_and_bounded(monkeypatch):
    plans: dict = {}
    first = make(plans=plans)
    first.start_response("200 OK", [("Content-Type", "text/plain")])
    second = make(plans=plans)
    second.start_response("200 OK", [("Content-Type", "text/plain")])
    assert second.plan(2) is first.plan(2) and len(plans) == 1
    assert second.plan(3) is not first.plan(2) and len(plans) == 2
    monkeypatch.setattr(exchange_module, "_PLAN_CACHE_MAX", 2)
    third = make(plans=plans)
    third.start_response("404 Not Found", [])
    third.plan(0)
    assert len(plans) == 1  # full: cleared, then the new plan kept


def test_the_last_plan_is_reused_only_for_the_same_inputs(monkeypatch):
    """The worker's last plan (Exchange.plan) answers a request whose status, headers,
    method, HTTP version, keep-alive, body length and Date all equal the last one's: every
    other request gets the head a worker with no plan kept at all gives it."""
    worker = types.SimpleNamespace(plans={}, server_header=b"R", last_plan=None)
    shapes = [
        (GET, "200 OK", [("Content-Type", "text/plain")], 2),
        (GET, "200 OK", [("Content-Type", "text/plain")], 3),
        (GET, "200 OK", [("Content-Type", "text/html")], 2),
        (GET, "201 Created", [("Content-Type", "text/plain")], 2),
        (GET, "200 OK", [("Content-Type", "text/plain"), ("X-A", "1")], 2),
        (b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", "200 OK", [("Content-Type", "text/plain")], 2),
        (b"GET / HTTP/1.0\r\nHost: x\r\n\r\n", "200 OK", [("Content-Type", "text/plain")], 2),
        (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "200 OK",
         [("Content-Type", "text/plain")], 2),
        (GET, "200 OK", [("Content-Type", "text/plain")], None),
    ]

    def planned(raw, status, headers, length, kept):
        ex = make(raw)
        ex.worker = kept if kept is not None else types.SimpleNamespace(
            plans={}, server_header=b"R", last_plan=None)
        ex.start_response(status, list(headers))
        return ex.plan(length).data

    for first in shapes:
        for second in shapes:
            planned(*first, worker)
            assert planned(*second, worker) == planned(*second, None), (first, second)
    head = worker.last_plan[7]
    worker.plans.clear()  # the last plan alone answers a repeat
    ex = make()
    ex.worker = worker
    ex.start_response("200 OK", [("Content-Type", "text/plain")])
    assert ex.plan(None) is head
    calls = []
    real_plan = exchange_module.plan_response
    monkeypatch.setattr(exchange_module, "plan_response",
                        lambda *args: calls.append(args) or real_plan(*args))
    dates = iter([b"second 1", b"second 1", b"second 2"])
    monkeypatch.setattr(exchange_module, "http_date", lambda: next(dates))
    for _ in range(3):
        ex = make()
        ex.worker = worker
        ex.start_response("200 OK", [("Content-Type", "text/plain")])
        ex.plan(None)
    assert len(calls) == 2  # planned in second 1, reused once, planned again in second 2


def test_unhashable_headers_still_get_a_named_error():
    ex = make()
    ex.start_response("200 OK", [["X-A", "1"], ("X-B", ["unhashable"])])
    with pytest.raises(InvalidResponse, match="X-B"):
        ex.plan(0)


def test_a_single_block_that_contradicts_content_length_is_planned_without_it():
    ex = make()
    ex.start_response("200 OK", [("Content-Length", "5")])
    head = ex.plan(3)
    assert head.framing == "length" and head.content_length == 5
