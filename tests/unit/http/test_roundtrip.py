"""Properties: what the writer produces, the strict client parser reads back unchanged.

1. Round trip: a planned head plus a body framed as the head says, fed whole or in
   random pieces, parses to the same status, headers, body, trailers and persistence.
2. The writer accepts a response or raises InvalidResponse, never anything else, and
   whatever it accepts the strict client accepts too.
3. The client parser parses or raises BadResponse, never anything else.
"""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from rocket.http.client import ResponseParser
from rocket.http.errors import BadResponse, InvalidResponse
from rocket.http.events import NEED_DATA, ConnectionClosed, Data, EndOfMessage, Response
from rocket.http.writer import encode_chunk, last_chunk, plan_response

TOKEN_CHARS = "!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits
VALUE_CHARS = "\t" + "".join(map(chr, range(0x20, 0x7F))) + "".join(map(chr, range(0x80, 0x100)))
RESERVED = {"content-length", "transfer-encoding", "connection", "date", "server", "keep-alive",
            "te", "trailer", "upgrade", "host", "content-type", "content-encoding",
            "content-range", "set-cookie", "authorization", "www-authenticate", "cache-control",
            "expect", "max-forwards", "range", "location", "age", "expires", "vary",
            "retry-after"}

names = st.text(TOKEN_CHARS, min_size=1, max_size=10).filter(
    lambda n: n.lower() not in RESERVED and not n.lower().startswith("proxy-"))
values = st.text(VALUE_CHARS, max_size=20)
fields = st.lists(st.tuples(names, values), max_size=5)
statuses = st.one_of(st.sampled_from([200, 201, 204, 205, 206, 304, 404, 500]),
                     st.integers(200, 599))
reasons = st.text(VALUE_CHARS, max_size=16)


def split(data: bytes, cuts: list) -> list:
    """Cut ``data`` at the given fractions (0..1) into pieces."""
    points = sorted({int(c * len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:])]


def drain(parser: ResponseParser, pieces: list) -> list:
    """Feed the pieces then EOF; return all events with adjacent Data merged."""
    out: list = []
    for piece in pieces + [b""]:
        parser.feed(piece)
        while True:
            event = parser.next_event()
            if event is NEED_DATA:
                break
            if isinstance(event, Data) and out and isinstance(out[-1], Data):
                out[-1] = Data(out[-1].data + event.data)
            else:
                out.append(event)
            if isinstance(event, ConnectionClosed):
                break
    return out


def wire_body(head, chunks: list, trailers: list) -> bytes:
    """Frame the body as the planned head says."""
    if head.framing == "none":
        return b""
    if head.framing == "chunked":
        return b"".join(encode_chunk(c) for c in chunks) + last_chunk(trailers)
    return b"".join(chunks)


@settings(max_examples=1000, deadline=None)
@given(
    method=st.sampled_from([b"GET", b"HEAD", b"POST"]),
    version=st.sampled_from([b"1.0", b"1.1"]),
    asked_keep_alive=st.booleans(),
    code=statuses,
    reason=reasons,
    headers=fields,
    chunks=st.lists(st.binary(max_size=40), max_size=4),
    length_known=st.booleans(),
    app_length=st.booleans(),
    app_chunked=st.booleans(),
    app_close=st.booleans(),
    app_date=st.booleans(),
    trailers=st.lists(st.tuples(names, values), max_size=2),
    interim=st.booleans(),
    pipelined=st.booleans(),
    cuts=st.lists(st.floats(0, 1), max_size=8),
)
def test_writer_output_round_trips_through_the_client(
    method, version, asked_keep_alive, code, reason, headers, chunks, length_known, app_length,
    app_chunked, app_close, app_date, trailers, interim, pipelined, cuts,
):
    body = b"".join(chunks)
    status = f"{code} {reason}"
    app_headers = list(headers)
    if app_length:
        app_headers.append(("Content-Length", str(len(body))))
    elif app_chunked:
        app_headers.append(("Transfer-Encoding", "chunked"))
    if app_close:
        app_headers.append(("Connection", "close"))
    if app_date:
        app_headers.append(("Date", "Thu, 01 Jan 1970 00:00:00 GMT"))
    head = plan_response(method, version, asked_keep_alive, status, app_headers,
                         len(body) if length_known else None, b"Rocket test")

    wire = head.data + wire_body(head, chunks, trailers)
    expected_trailers = [(n.lower().encode(), v.strip(" \t").encode("latin-1"))
                         for n, v in trailers] if head.framing == "chunked" else []
    if interim:
        wire = plan_response(method, version, asked_keep_alive, "100 Continue", []).data + wire
    parser = ResponseParser()
    parser.expect(method)
    if pipelined and head.keep_alive:
        parser.expect(b"GET")
        wire += plan_response(b"GET", version, True, "200 OK", [], 2).data + b"ok"

    events = drain(parser, split(wire, cuts))

    if interim:
        assert isinstance(events[0], Response) and events[0].status == 100
        events = events[1:]
    response = events[0]
    assert isinstance(response, Response)
    assert response.status == code == head.status_code
    assert response.reason == reason.encode("latin-1")
    assert response.http_version == version
    assert response.keep_alive is head.keep_alive
    generated = {n.lower().encode() for n, _ in headers}
    assert [h for h in response.headers if h[0] in generated] == [
        (n.lower().encode(), v.strip(" \t").encode("latin-1")) for n, v in headers]
    seen = [name for name, _ in response.headers]
    assert seen.count(b"date") == 1
    assert seen.count(b"server") == 1
    assert seen.count(b"connection") <= 1

    rest = events[1:]
    if head.framing != "none" and body:
        assert isinstance(rest[0], Data) and rest[0].data == body
        rest = rest[1:]
    assert isinstance(rest[0], EndOfMessage)
    assert rest[0].trailers == expected_trailers
    rest = rest[1:]
    if pipelined and head.keep_alive:
        assert [type(e) for e in rest[:3]] == [Response, Data, EndOfMessage]
        assert rest[1].data == b"ok"
        rest = rest[3:]
    assert [type(e) for e in rest] == [ConnectionClosed]


# Mostly valid characters with a sprinkling of the ones that must be refused.
LOOSE = st.text(VALUE_CHARS + "\r\n\x00\x01\x7f\u20ac:; ", max_size=12)
SPECIAL_NAMES = st.sampled_from(["Content-Length", "transfer-encoding", "Connection", "Date",
                                 "Server", "TE", "Upgrade", "Proxy-X", "Keep-Alive"])
SPECIAL_VALUES = st.sampled_from(["chunked", "close", "keep-alive", "0", "5", "-1", "gzip",
                                  " close ", "Upgrade"])


@settings(max_examples=500, deadline=None)
@given(
    status=st.one_of(st.builds("{} {}".format, st.integers(0, 999), LOOSE), LOOSE,
                     st.integers(), st.none(), st.lists(st.integers(), max_size=1)),
    headers=st.lists(st.tuples(st.one_of(names, LOOSE, st.binary(max_size=3), SPECIAL_NAMES),
                               st.one_of(values, LOOSE, st.integers(), SPECIAL_VALUES)),
                     max_size=4),
    method=st.sampled_from([b"GET", b"HEAD"]),
    version=st.sampled_from([b"1.0", b"1.1"]),
    body_length=st.one_of(st.none(), st.integers(0, 5)),
)
def test_writer_accepts_or_raises_invalid_response_and_the_client_agrees(
    status, headers, method, version, body_length,
):
    try:
        head = plan_response(method, version, True, status, headers, body_length, b"R")
    except InvalidResponse:
        return
    parser = ResponseParser()
    parser.expect(method)
    parser.feed(head.data)
    event = parser.next_event()
    assert isinstance(event, Response) and event.status == head.status_code


VALID = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n",
    b"HTTP/1.0 404 Nope\r\nConnection: keep-alive\r\n\r\nbody",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
]


@settings(max_examples=500, deadline=None)
@given(
    base=st.sampled_from(VALID),
    edits=st.lists(st.tuples(st.floats(0, 1), st.binary(max_size=3), st.integers(0, 3)),
                   max_size=4),
    cuts=st.lists(st.floats(0, 1), max_size=6),
    head=st.booleans(),
)
def test_client_parses_or_raises_bad_response(base, edits, cuts, head):
    data = bytearray(base)
    for where, insert, delete in edits:
        at = int(where * len(data))
        data[at:at + delete] = insert
    parser = ResponseParser(max_headers=5, max_field_bytes=64, max_chunk_line=16)
    if head:
        parser.expect(b"HEAD")
    try:
        events = drain(parser, split(bytes(data), cuts))
    except BadResponse:
        return
    assert isinstance(events[-1], ConnectionClosed)
