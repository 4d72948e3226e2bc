"""wsgi.input over a scripted connection: streaming, EOF at the body end, errors, drain."""

from __future__ import annotations

import pytest

from rocket.http.errors import BadRequest, RequestTimeout
from rocket.http.events import Request
from rocket.workers.input import EMPTY_INPUT, WSGIInput
from tests.unit.workers.fakes import FakeConnection

HEAD = b"POST / HTTP/1.1\r\nHost: x\r\n"


def _input(reads, hook=None):
    conn = FakeConnection(reads)
    conn.fill()
    assert isinstance(conn.reader.next_event(), Request)
    return conn, WSGIInput(conn, 1.5, hook)


def test_reads_span_fills_and_stop_at_content_length():
    conn, inp = _input([HEAD + b"Content-Length: 10\r\n\r\n012", b"3456", b"789GET /next"])
    assert inp.read(2) == b"01"
    assert inp.read(5) == b"23456"  # blocks for the rest, like a file
    assert inp.read() == b"789"
    assert inp.read() == b"" and inp.read(10) == b"" and inp.at_eof
    assert conn.reader.trailing_data == b"GET /next"
    assert conn.fill_timeouts == [None, 1.5, 1.5]


def test_chunked_readline_limits_and_iteration():
    body = b"5\r\nab\ncd\r\n4\r\nef\ng\r\n0\r\nTrailer-A: 1\r\n\r\n"
    _, inp = _input([HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + body])
    assert inp.readline(2) == b"ab"
    assert inp.readline() == b"\n"
    assert list(inp) == [b"cdef\n", b"g"]
    assert inp.trailers == [(b"trailer-a", b"1")]


def test_readlines_hint():
    _, inp = _input([HEAD + b"Content-Length: 12\r\n\r\naa\nbb\ncc\ndd\n"])
    assert inp.readlines(4) == [b"aa\n", b"bb\n"]
    assert inp.readlines() == [b"cc\n", b"dd\n"]


def test_read_size_waits_for_every_byte():
    _, inp = _input([HEAD + b"Content-Length: 9\r\n\r\nab", b"cd", b"efghi"])
    assert inp.read(7) == b"abcdefg" and inp.read(7) == b"hi" and inp.read(7) == b""


def test_hook_runs_once_before_first_read():
    calls = []
    _, inp = _input([HEAD + b"Content-Length: 2\r\n\r\n", b"hi"], hook=lambda: calls.append(1))
    assert calls == []
    assert inp.read(1) == b"h" and inp.read(1) == b"i" and inp.read(1) == b""
    assert calls == [1]


def test_timeout_becomes_408_and_marks_the_input_broken():
    _, inp = _input([HEAD + b"Content-Length: 5\r\n\r\nab", None])
    assert inp.read(2) == b"ab"
    with pytest.raises(RequestTimeout, match="body_timeout=1.5"):
        inp.read(3)
    assert isinstance(inp.error, RequestTimeout) and inp.read() == b""


def test_peer_closing_mid_body_raises_incomplete():
    _, inp = _input([HEAD + b"Content-Length: 50\r\n\r\nab"])
    with pytest.raises(BadRequest):
        inp.read()
    assert inp.error is not None


def test_drain_is_bounded():
    _, inp = _input([HEAD + b"Content-Length: 100\r\n\r\n" + b"x" * 100])
    assert inp.drain(1000) and inp.at_eof
    _, inp = _input([HEAD + b"Content-Length: 100\r\n\r\n", b"x" * 60, b"x" * 40])
    assert not inp.drain(50)


def test_empty_input():
    assert EMPTY_INPUT.read() == b"" and EMPTY_INPUT.readline() == b""
    assert EMPTY_INPUT.readlines() == [] and list(EMPTY_INPUT) == []


class TimedConnection(FakeConnection):
    """A scripted read of None waits out its timeout, as a silent client makes a read do;
    the body floor settings of a Connection."""

    body_min_rate = 100.0
    min_rate_grace = 0.3

    def fill(self, timeout=None):
        if self.reads and self.reads[0] is None:
            import time

            time.sleep(timeout or 0)
        return super().fill(timeout)


def test_body_min_rate_cuts_a_trickle_after_the_grace():
    conn = TimedConnection([HEAD + b"Content-Length: 1000\r\n\r\n" + b"x" * 10] + [None] * 5)
    conn.fill()
    assert isinstance(conn.reader.next_event(), Request)
    inp = WSGIInput(conn, 10.0)
    with pytest.raises(RequestTimeout, match="body_min_rate=100 B/s"):
        inp.read()
    assert 0.25 < sum(t for t in conn.fill_timeouts[1:]) < 0.5  # the grace, not body_timeout


def test_body_min_rate_lets_a_body_at_the_rate_through():
    pieces = [b"x" * 40] * 10  # arrives at once here: far above 100 B/s
    conn = TimedConnection([HEAD + b"Content-Length: 400\r\n\r\n"] + pieces)
    conn.fill()
    assert isinstance(conn.reader.next_event(), Request)
    assert len(WSGIInput(conn, 10.0).read()) == 400
    assert all(0 < t <= 10.0 for t in conn.fill_timeouts[1:])
