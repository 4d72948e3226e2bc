"""The framing readers shared by the request and the response parser.

Each framing is fed whole, byte by byte and in random chunks, followed by trailing bytes
(the start of the next message), to a bare ``ReceiveBuffer``, to the request parser and to
the response parser; all three must agree on the body, the trailers and what is left over.
"""

from __future__ import annotations

import random

import pytest

from rocket.http.client import ResponseParser
from rocket.http.errors import (
    BadRequest,
    BadResponse,
    BodyTooLarge,
    HeaderTooLarge,
    IncompleteRequest,
    IncompleteResponse,
)
from rocket.http.events import NEED_DATA, Data, EndOfMessage, Request, Response
from rocket.http.limits import FREE_CHUNKS, Limits
from rocket.http.parser import RequestParser
from rocket.http.readers import (
    NO_BODY,
    ChunkedReader,
    ContentLengthReader,
    ReceiveBuffer,
    UntilCloseReader,
)

NEXT = b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n"
NEXT_RESPONSE = b"HTTP/1.1 204 No Content\r\n\r\n"

# framing name -> (head field, body bytes on the wire, decoded body, trailers)
FRAMINGS = {
    "content-length": (b"Content-Length: 12\r\n", b"hello\r\nworld", b"hello\r\nworld", []),
    "chunked": (
        b"Transfer-Encoding: chunked\r\n",
        b"5;a=b\r\nhello\r\nA ; q=\"x\\\"y\"\r\n0123456789\r\n0\r\nX-Sum: 15\r\nX-B:  c \r\n\r\n",
        b"hello0123456789",
        [(b"x-sum", b"15"), (b"x-b", b"c")],
    ),
    "chunked-no-trailers": (b"Transfer-Encoding: chunked\r\n", b"3\r\nabc\r\n0\r\n\r\n", b"abc", []),
    "none": (b"", b"", b"", []),
}


def split(data: bytes, how: str, seed: int = 7) -> list:
    if how == "whole":
        return [data]
    if how == "bytewise":
        return [data[i : i + 1] for i in range(len(data))]
    rng = random.Random(seed)
    pieces, i = [], 0
    while i < len(data):
        n = rng.randint(1, 9)
        pieces.append(data[i : i + n])
        i += n
    return pieces


SPLITS = ["whole", "bytewise", "random"]


def drain(parser, stop_at_end: bool = True) -> list:
    """Events until NEED_DATA, or until the first EndOfMessage when ``stop_at_end``."""
    out = []
    while True:
        event = parser.next_event()
        if event is NEED_DATA:
            return out
        out.append(event)
        if stop_at_end and isinstance(event, EndOfMessage):
            return out


def body_and_trailers(events: list) -> tuple:
    assert isinstance(events[-1], EndOfMessage), events
    data = [e for e in events[1:-1]]
    assert all(type(e) is Data and type(e.data) is bytes and e.data for e in data), data
    return b"".join(e.data for e in data), list(events[-1].trailers)


def feed_message(parser, wire: bytes, how: str) -> list:
    """Feed the pieces, draining after each; stop consuming at the first EndOfMessage."""
    events: list = []
    for piece in split(wire, how):
        parser.feed(piece)
        if not events or not isinstance(events[-1], EndOfMessage):
            events += drain(parser)
    return events


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize("framing", sorted(FRAMINGS))
def test_request_parser_reads_each_framing_and_leaves_the_next_request(framing, how):
    field, wire_body, body, trailers = FRAMINGS[framing]
    wire = b"POST /p HTTP/1.1\r\nHost: a\r\n" + field + b"\r\n" + wire_body
    parser = RequestParser()
    events = feed_message(parser, wire + NEXT, how)
    assert isinstance(events[0], Request)
    assert body_and_trailers(events) == (body, trailers)
    assert parser.trailing_data == NEXT and parser.idle
    assert parser.next_event().target == b"/next"


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize("framing", sorted(FRAMINGS))
def test_response_parser_reads_each_framing_and_leaves_the_next_response(framing, how):
    field, wire_body, body, trailers = FRAMINGS[framing]
    if framing == "none":
        field = b"Content-Length: 0\r\n"
    wire = b"HTTP/1.1 200 OK\r\n" + field + b"\r\n" + wire_body
    parser = ResponseParser()
    events = feed_message(parser, wire + NEXT_RESPONSE, how)
    assert isinstance(events[0], Response) and events[0].keep_alive
    assert body_and_trailers(events) == (body, trailers)
    assert parser.trailing_data == NEXT_RESPONSE
    assert parser.next_event().status == 204


@pytest.mark.parametrize("how", SPLITS)
def test_response_until_close_takes_everything_up_to_eof(how):
    wire = b"HTTP/1.0 200 OK\r\n\r\n" + b"body\r\n\r\n" + NEXT_RESPONSE
    parser = ResponseParser()
    events = []
    for piece in split(wire, how):
        parser.feed(piece)
        events += drain(parser)
    assert not isinstance(events[-1], EndOfMessage), "the body ends only at EOF"
    parser.feed(b"")
    events += drain(parser)
    assert body_and_trailers(events) == (b"body\r\n\r\n" + NEXT_RESPONSE, [])
    assert not events[0].keep_alive and parser.trailing_data == b""


def read_all(reader, wire: bytes, how: str, limits: Limits = None) -> tuple:
    """Drive one reader on a bare ReceiveBuffer; return (events, trailing data)."""
    stream = ReceiveBuffer(limits)
    events: list = []
    for piece in split(wire, how):
        stream.feed(piece)
        while not events or not isinstance(events[-1], EndOfMessage):
            event = reader.read(stream)
            if event is NEED_DATA:
                break
            events.append(event)
    return events, stream.trailing_data


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize("framing", ["content-length", "chunked", "chunked-no-trailers"])
def test_readers_on_a_bare_buffer(framing, how):
    _, wire_body, body, trailers = FRAMINGS[framing]
    if framing == "content-length":
        reader = ContentLengthReader().start(len(wire_body))
    else:
        reader = ChunkedReader().start()
    events, rest = read_all(reader, wire_body + NEXT, how)
    assert body_and_trailers([None] + events) == (body, trailers)
    assert rest == NEXT


def test_no_body_ends_at_once_and_consumes_nothing():
    stream = ReceiveBuffer()
    stream.feed(NEXT)
    event = NO_BODY.read(stream)
    assert isinstance(event, EndOfMessage) and event.trailers == []
    assert stream.trailing_data == NEXT


def test_readers_restart_cleanly_for_the_next_message():
    chunked = ChunkedReader()
    for _ in range(2):
        events, rest = read_all(chunked.start(), b"2\r\nab\r\n0\r\n\r\nXY", "whole", Limits(max_body=3))
        assert body_and_trailers([None] + events) == (b"ab", []) and rest == b"XY"
    until_close = UntilCloseReader()
    for _ in range(2):
        stream = ReceiveBuffer(Limits(max_body=3))
        stream.feed(b"abc")
        assert until_close.start().read(stream).data == b"abc"


def test_until_close_counts_the_body_against_max_body():
    stream = ReceiveBuffer(Limits(max_body=4))
    reader = UntilCloseReader().start()
    stream.feed(b"abc")
    assert reader.read(stream).data == b"abc"
    stream.feed(b"de")
    with pytest.raises(BodyTooLarge, match="max_body=4"):
        reader.read(stream)


# Broken bodies: (chunked wire, request-side error, limits). The response parser re-raises
# each as IncompleteResponse (for IncompleteRequest) or BadResponse (for the rest).
BROKEN = {
    "bad size": (b"zz\r\n", BadRequest, {}),
    "size too long": (b"1" * 16 + b"\r\n", BadRequest, {}),
    "bad extension": (b"1;a b\r\nx\r\n0\r\n\r\n", BadRequest, {}),
    "no crlf after data": (b"1\r\nxy\r\n", BadRequest, {}),
    "bare lf in size line": (b"1\nx", BadRequest, {}),
    "size line too long": (b"1;" + b"a" * 40, BadRequest, {"max_chunk_line": 20}),
    "chunks exceed max_body": (b"3\r\nabc\r\n3\r\n", BodyTooLarge, {"max_body": 5}),
    "trailers too large": (b"0\r\n" + b"X: y\r\n" * 10, HeaderTooLarge, {"max_trailer_bytes": 20}),
    "too many trailers": (b"0\r\n" + b"X: y\r\n" * 3 + b"\r\n", HeaderTooLarge, {"max_headers": 2}),
    "bad trailer": (b"0\r\nX : y\r\n\r\n", BadRequest, {}),
    "eof in data": (b"5\r\nab", IncompleteRequest, {}),
    "eof before crlf": (b"2\r\nab", IncompleteRequest, {}),
    "eof in trailers": (b"0\r\nX: y\r\n", IncompleteRequest, {}),
}


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_chunked_bodies_raise_the_same_rule_on_both_sides(name, how):
    wire, error, limits = BROKEN[name]
    request = RequestParser(Limits(**limits))
    with pytest.raises(error) as request_error:
        feed_message(request, b"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + wire, how)
        request.feed(b"")
        drain(request)
    if error is not IncompleteRequest:
        assert not isinstance(request_error.value, IncompleteRequest)
    response_limits = {("max_status_line" if k == "max_request_line" else k): v for k, v in limits.items()}
    response = ResponseParser(**response_limits)
    expected = IncompleteResponse if error is IncompleteRequest else BadResponse
    with pytest.raises(expected) as response_error:
        feed_message(response, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + wire, how)
        response.feed(b"")
        drain(response)
    if expected is BadResponse:
        assert not isinstance(response_error.value, IncompleteResponse)
    assert response_error.value.message.split(":")[0] == request_error.value.message.split(":")[0]
    assert response_error.value.status == 502


def test_content_length_eof_is_incomplete_on_both_sides():
    request = RequestParser()
    request.feed(b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab")
    request.feed(b"")
    with pytest.raises(IncompleteRequest, match="3 body bytes missing"):
        drain(request)
    response = ResponseParser()
    response.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab")
    response.feed(b"")
    with pytest.raises(IncompleteResponse, match="3 body bytes missing"):
        drain(response)


# -- the cost of tiny chunks (issue 13, defect 5) --------------------------------------------
def _chunked_request(chunks: int, size: int) -> bytes:
    piece = b"%x\r\n" % size + b"x" * size + b"\r\n"
    return (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            + piece * chunks + b"0\r\n\r\n")


def _body_of(data: bytes, **limits: int) -> int:
    parser = RequestParser(Limits(**limits))
    parser.feed(data)
    total = 0
    while True:
        event = parser.next_event()
        if event.__class__ is Data:
            total += len(event.data)
        elif isinstance(event, EndOfMessage):
            return total


def test_tiny_chunks_past_the_free_allowance_are_refused_with_400():
    assert _body_of(_chunked_request(FREE_CHUNKS, 1)) == FREE_CHUNKS  # small streams pass
    with pytest.raises(BadRequest) as err:
        _body_of(_chunked_request(FREE_CHUNKS + 1, 1))
    assert err.value.status == 400 and "min_chunk_avg_bytes=256" in str(err.value)
    # the average counts: many chunks of at least the floor always pass
    assert _body_of(_chunked_request(FREE_CHUNKS * 2, 256)) == FREE_CHUNKS * 2 * 256
    assert _body_of(_chunked_request(FREE_CHUNKS + 10, 1), min_chunk_avg_bytes=0) == \
        FREE_CHUNKS + 10


def test_the_client_reads_tiny_chunks_whatever_their_number():
    client = ResponseParser()
    client.expect(b"GET")
    chunks = FREE_CHUNKS * 2
    client.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + b"1\r\nx\r\n" * chunks + b"0\r\n\r\n")
    total = 0
    while True:
        event = client.next_event()
        if event.__class__ is Data:
            total += len(event.data)
        elif isinstance(event, EndOfMessage):
            break
    assert total == chunks
