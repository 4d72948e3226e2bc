"""Client-side response parser and request formatter."""

from __future__ import annotations

import random

import pytest

from rocket.http.client import ResponseParser, format_request
from rocket.http.errors import BadResponse, IncompleteResponse
from rocket.http.events import NEED_DATA, ConnectionClosed, Data, EndOfMessage, Request, Response
from rocket.http.parser import RequestParser


def events(parser):
    """Drain events until NEED_DATA or ConnectionClosed; merge adjacent Data events."""
    out = []
    while True:
        event = parser.next_event()
        if event is NEED_DATA:
            return out
        if isinstance(event, Data) and out and isinstance(out[-1], Data):
            out[-1] = Data(out[-1].data + event.data)
        else:
            out.append(event)
        if isinstance(event, ConnectionClosed):
            return out


def parse(data, methods=(), eof=True, split="whole", **limits):
    """Parse ``data`` fed whole, bytewise or in random pieces; return merged events."""
    parser = ResponseParser(**limits)
    for method in methods:
        parser.expect(method)
    if split == "whole":
        pieces = [data]
    elif split == "bytewise":
        pieces = [data[i:i + 1] for i in range(len(data))]
    else:
        rng = random.Random(len(data))
        pieces, i = [], 0
        while i < len(data):
            step = rng.randint(1, 7)
            pieces.append(data[i:i + step])
            i += step
    out = []
    for piece in pieces:
        parser.feed(piece)
        out += events(parser)
    if eof:
        parser.feed(b"")
        out += events(parser)
    merged = []
    for event in out:
        if isinstance(event, Data) and merged and isinstance(merged[-1], Data):
            merged[-1] = Data(merged[-1].data + event.data)
        else:
            merged.append(event)
    return merged


def summary(evts):
    """A comparable description of an event list."""
    out = []
    for e in evts:
        if isinstance(e, Response):
            out.append(("R", e.status, e.reason, e.http_version, e.keep_alive))
        elif isinstance(e, Data):
            out.append(("D", e.data))
        elif isinstance(e, EndOfMessage):
            out.append(("E", tuple(e.trailers)))
        else:
            out.append(("C",))
    return out


SPLITS = ["whole", "bytewise", "random"]


@pytest.mark.parametrize("split", SPLITS)
def test_content_length_body(split):
    evts = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhello", split=split)
    assert summary(evts) == [("R", 200, b"OK", b"1.1", True), ("D", b"hello"), ("E", ()),
                             ("C",)]
    assert evts[0].headers == [(b"content-length", b"5"), (b"x-a", b"b")]


@pytest.mark.parametrize("split", SPLITS)
def test_chunked_body_with_extensions_and_trailers(split):
    wire = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;ext=1\r\nhello\r\nA ; a ; b=\"c\"\r\n0123456789\r\n0\r\nX-Sum: 9\r\nX-B: c\r\n\r\n")
    assert summary(parse(wire, split=split)) == [
        ("R", 200, b"OK", b"1.1", True), ("D", b"hello0123456789"),
        ("E", ((b"x-sum", b"9"), (b"x-b", b"c"))), ("C",)]


@pytest.mark.parametrize("split", SPLITS)
def test_close_delimited_body(split):
    wire = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this\r\n\r\nis body"
    assert summary(parse(wire, split=split)) == [
        ("R", 200, b"OK", b"1.0", False), ("D", b"all of this\r\n\r\nis body"), ("E", ()), ("C",)]


def test_close_delimited_on_1_1_is_not_keep_alive():
    evts = parse(b"HTTP/1.1 200 OK\r\n\r\nabc")
    assert summary(evts)[:2] == [("R", 200, b"OK", b"1.1", False), ("D", b"abc")]


def test_close_delimited_waits_for_eof():
    assert summary(parse(b"HTTP/1.1 200 OK\r\n\r\nabc", eof=False)) == [
        ("R", 200, b"OK", b"1.1", False), ("D", b"abc")]


@pytest.mark.parametrize("split", SPLITS)
def test_head_response_has_no_body_and_pipelines(split):
    wire = (b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
    assert summary(parse(wire, methods=["HEAD", b"head", "GET"], split=split)) == [
        ("R", 200, b"OK", b"1.1", True), ("E", ()),
        ("R", 200, b"OK", b"1.1", True), ("E", ()),
        ("R", 201, b"Created", b"1.1", True), ("D", b"ok"), ("E", ()), ("C",)]


@pytest.mark.parametrize("status", [b"204 No Content", b"304 Not Modified"])
def test_bodiless_statuses_ignore_framing_fields(status):
    wire = (b"HTTP/1.1 " + status + b"\r\nContent-Length: 10\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")
    assert [s[0] for s in summary(parse(wire))] == ["R", "E", "R", "D", "E", "C"]


def test_connect_2xx_has_no_body():
    assert [s[0] for s in summary(parse(b"HTTP/1.1 200 OK\r\n\r\n", methods=["CONNECT"]))] == [
        "R", "E", "C"]


@pytest.mark.parametrize("split", SPLITS)
def test_interim_100_continue_then_final(split):
    wire = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
    assert summary(parse(wire, methods=["POST"], split=split)) == [
        ("R", 100, b"Continue", b"1.1", True), ("R", 103, b"Early Hints", b"1.1", True),
        ("R", 200, b"OK", b"1.1", True), ("D", b"hi"), ("E", ()), ("C",)]


def test_interim_response_does_not_consume_the_head_expectation():
    wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"
    assert [s[0] for s in summary(parse(wire, methods=["HEAD"]))] == ["R", "R", "E", "C"]


def test_switching_protocols_is_refused():
    with pytest.raises(BadResponse, match="101"):
        parse(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n")


@pytest.mark.parametrize("version,connection,keep", [
    (b"1.1", b"", True), (b"1.1", b"Connection: close\r\n", False),
    (b"1.1", b"Connection: Keep-Alive, Close\r\n", False), (b"1.0", b"", False),
    (b"1.0", b"Connection: keep-alive\r\n", True), (b"1.0", b"Connection: foo, KEEP-ALIVE\r\n", True),
])
def test_keep_alive_rules(version, connection, keep):
    wire = b"HTTP/" + version + b" 200 OK\r\n" + connection + b"Content-Length: 0\r\n\r\n"
    assert parse(wire)[0].keep_alive is keep


def test_empty_reason_and_obs_text_reason():
    assert parse(b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n")[0].reason == b""
    assert parse(b"HTTP/1.1 200 Caf\xe9 ok\r\nContent-Length: 0\r\n\r\n")[0].reason == b"Caf\xe9 ok"


def test_trailing_data_and_need_data():
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 2")
    assert [type(e) for e in (parser.next_event(), parser.next_event(), parser.next_event())] == [
        Response, Data, EndOfMessage]
    assert parser.trailing_data == b"HTTP/1.1 2"
    assert parser.next_event() is NEED_DATA
    assert parser.next_event() is NEED_DATA


def test_connection_closed_repeats_and_feed_after_eof_is_a_bug():
    parser = ResponseParser()
    parser.feed(b"")
    assert isinstance(parser.next_event(), ConnectionClosed)
    assert isinstance(parser.next_event(), ConnectionClosed)
    with pytest.raises(RuntimeError):
        parser.feed(b"x")


BAD = {
    "no reason separator": b"HTTP/1.1 200\r\n\r\n",
    "http/2": b"HTTP/2.0 200 OK\r\n\r\n",
    "lower-case version": b"http/1.1 200 OK\r\n\r\n",
    "two-digit status": b"HTTP/1.1 20 OK\r\n\r\n",
    "status 600": b"HTTP/1.1 600 OK\r\n\r\n",
    "status 099": b"HTTP/1.1 099 OK\r\n\r\n",
    "double space": b"HTTP/1.1  200 OK\r\n\r\n",
    "leading blank line": b"\r\nHTTP/1.1 200 OK\r\n\r\n",
    "ctl in reason": b"HTTP/1.1 200 O\x01K\r\n\r\n",
    "bare lf": b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
    "bare lf after head": b"HTTP/1.1 200 OK\r\nX: a\nContent-Length: 0\r\n\r\n",
    "bare cr": b"HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n",
    "obs-fold": b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
    "space before colon": b"HTTP/1.1 200 OK\r\nX : a\r\nContent-Length: 0\r\n\r\n",
    "no colon": b"HTTP/1.1 200 OK\r\nContent-Length\r\n\r\n",
    "empty name": b"HTTP/1.1 200 OK\r\n: a\r\nContent-Length: 0\r\n\r\n",
    "nul in value": b"HTTP/1.1 200 OK\r\nX: a\x00\r\nContent-Length: 0\r\n\r\n",
    "duplicate length": b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
    "signed length": b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx",
    "list length": b"HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx",
    "length and chunked": b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    "gzip coding": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    "chunked twice": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
    "chunked in 1.0": b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "bad chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "negative chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
    "empty chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;x\r\n",
    "overflow chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 17 + b"\r\n",
    "chunk without crlf": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n",
    "ctl in extension": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;\x00\r\nx\r\n",
    # The chunk grammar is the request parser's (shared readers), RFC 9112 §7.1 and §7.1.1.
    "extension without name": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;=v\r\nx\r\n",
    "space in extension": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;a b\r\nx\r\n",
    "unclosed quote": b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;a="b\r\nx\r\n',
    "space after size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1 \r\nx\r\n",
    "16 hex digits": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"0" * 15 + b"1\r\n",
    "bare lf after size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n",
    "bad trailer": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX : y\r\n\r\n",
    "bare lf trailer": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\n\n",
}


@pytest.mark.parametrize("name", sorted(BAD))
@pytest.mark.parametrize("split", SPLITS)
def test_malformed_responses_raise_bad_response(name, split):
    with pytest.raises(BadResponse) as info:
        parse(BAD[name], split=split)
    assert info.value.status == 502
    assert not isinstance(info.value, IncompleteResponse), info.value


@pytest.mark.parametrize("wire", [
    b"HTTP/1.1 200 OK\r\nContent-Len",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n",
])
def test_eof_mid_message_is_incomplete(wire):
    with pytest.raises(IncompleteResponse):
        parse(wire)


def test_errors_are_sticky():
    parser = ResponseParser()
    parser.feed(b"HTTP/9.9 200 OK\r\n\r\n")
    with pytest.raises(BadResponse) as first:
        parser.next_event()
    with pytest.raises(BadResponse) as second:
        parser.next_event()
    assert first.value is second.value


LIMITS = [
    ("max_status_line", 20, b"HTTP/1.1 200 " + b"O" * 20 + b"\r\n\r\n", "status line"),
    ("max_status_line", 20, b"HTTP/1.1 200 " + b"O" * 20, "status line"),
    ("max_field_bytes", 20, b"HTTP/1.1 200 OK\r\nX: " + b"v" * 30 + b"\r\n\r\n", "field"),
    ("max_header_bytes", 50, b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 20 + b"\r\n", "header block"),
    ("max_header_bytes", 50, b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 20, "header block"),
    ("max_headers", 3, b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 4 + b"\r\n", "header fields"),
    ("max_chunk_line", 10, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + b"e" * 20,
     "max_chunk_line"),
    ("max_trailer_bytes", 20, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
     + b"X: y\r\n" * 10, "trailer"),
    ("max_body", 4, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "max_body"),
    ("max_body", 4, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\n",
     "max_body"),
    ("max_body", 4, b"HTTP/1.1 200 OK\r\n\r\nabcde", "max_body"),
]


@pytest.mark.parametrize("limit,value,wire,words", LIMITS)
def test_limits(limit, value, wire, words):
    with pytest.raises(BadResponse, match=words):
        parse(wire, eof=False, **{limit: value})


def test_limits_allow_exact_sizes():
    wire = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd"
    assert summary(parse(wire, max_body=4, max_headers=1, max_status_line=15))[1] == ("D", b"abcd")


# --- format_request ------------------------------------------------------------------------

def roundtrip(data):
    """Parse request bytes with the server's RequestParser; return (request, body, trailers)."""
    parser = RequestParser()
    parser.feed(data)
    request = parser.next_event()
    assert isinstance(request, Request)
    body = b""
    while True:
        event = parser.next_event()
        if isinstance(event, EndOfMessage):
            assert parser.trailing_data == b""
            return request, body, event.trailers
        assert isinstance(event, Data), event
        body += event.data


def test_format_request_plain():
    assert format_request("GET", "/", [("Host", "a")]) == b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    assert format_request(b"GET", b"/x?y", [(b"Host", b"a")], http_version="1.0") == (
        b"GET /x?y HTTP/1.0\r\nHost: a\r\n\r\n")


def test_format_request_body_gets_content_length():
    data = format_request("POST", "/p", [("Host", "a")], b"hello")
    assert data == b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
    request, body, _ = roundtrip(data)
    assert (request.method, request.target, request.content_length, body) == (
        b"POST", b"/p", 5, b"hello")
    assert format_request("POST", "/", [("Host", "a")], b"").endswith(b"Content-Length: 0\r\n\r\n")
    assert format_request("POST", "/", [("Host", "a")], [b"a", b"b"]).endswith(b"\r\n\r\nab")


def test_format_request_keeps_a_caller_content_length():
    data = format_request("POST", "/", [("Host", "a"), ("content-length", "3")], b"abc")
    assert data.count(b"ontent-") == 1


def test_format_request_chunked_with_trailers():
    data = format_request("PUT", "/c", [("Host", "a")], [b"ab", b"", b"cde"], chunked=True,
                          trailers=[("X-Sum", "5")])
    assert data.endswith(b"\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\nX-Sum: 5\r\n\r\n")
    request, body, trailers = roundtrip(data)
    assert request.chunked and body == b"abcde" and trailers == [(b"x-sum", b"5")]
    data = format_request("PUT", "/", [("Host", "a"), ("Transfer-Encoding", "chunked")], b"x",
                          chunked=True)
    assert data.lower().count(b"transfer-encoding") == 1
    assert roundtrip(format_request("PUT", "/", [("Host", "a")], chunked=True))[1] == b""


@pytest.mark.parametrize("args", [
    ("GET /", "/", []), ("GET", "/a b", []), ("GET", "", []), ("GET", "/\r\n", []),
    ("GET", "/", [("X Y", "1")]), ("GET", "/", [("X", "a\r\nb")]), ("GET", "/", [("X", 1)]),
    ("GET", "/", [("X", "\u20ac")]),
])
def test_format_request_refuses_bad_parts(args):
    with pytest.raises(ValueError):
        format_request(*args)


def test_head_fed_one_byte_at_a_time_is_searched_once():
    """Each feed's searches (CRLF CRLF, bare LF) start 3 bytes before the end of what the
    previous feed searched (``_scanned``, the watermark ReceiveBuffer documents), so a server
    dripping its head costs about 7 bytes of search per byte, not the whole buffer again."""
    head = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%04d: %s\r\n" % (i, b"v" * 40)
                                             for i in range(200)) + b"Content-Length: 0\r\n\r\n"
    parser = ResponseParser(max_headers=300)
    searched = 0
    for i in range(len(head) - 1):
        parser.feed(head[i:i + 1])
        start = parser._scanned
        assert parser.next_event() is NEED_DATA
        searched += len(parser.trailing_data) - max(0, start - 3)
    assert searched <= 8 * len(head), f"{searched} bytes searched for a {len(head)}-byte head"
    parser.feed(head[-1:])
    response = parser.next_event()
    assert isinstance(response, Response) and len(response.headers) == 201
    assert isinstance(parser.next_event(), EndOfMessage)
