"""Property tests for the request parser.

Three rules:

- whatever bytes arrive, the parser yields well-formed events or raises ``HTTPError``, never
  anything else (random bytes, random bytes after a valid prefix, mutated corpus requests);
- a request built from random valid parts parses back to exactly those parts, whole and split
  at random points, alone and pipelined;
- a head that arrives one byte per ``feed`` costs time linear in its size (a slow client must
  not make the server rescan everything it buffered on every byte).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rocket.http.errors import HTTPError
from rocket.http.events import NEED_DATA, ConnectionClosed, Data, EndOfMessage, Request
from rocket.http.parser import Limits, RequestParser

# 500 examples per property (300 for the pipelined one: 2,300 in all) keep this file near
# 10 s of CPU; set ROCKET_FUZZ_EXAMPLES higher for a longer hunt.
EXAMPLES = int(os.environ.get("ROCKET_FUZZ_EXAMPLES", "500"))
SETTINGS = settings(
    deadline=None,
    database=None,
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MAX_EVENTS = 10_000
CORPUS = Path(__file__).resolve().parents[2] / "corpus"
SEEDS = [
    p.read_bytes()
    for p in sorted((CORPUS / "valid").glob("*.http"))
    if p.stat().st_size <= 2048 and "limits" not in json.loads(p.with_suffix(".json").read_text())
]
# Small limits, so that random inputs reach the limit checks too.
SMALL = Limits(
    max_request_line=200,
    max_field_bytes=200,
    max_header_bytes=600,
    max_headers=12,
    max_chunk_line=40,
    max_trailer_bytes=200,
    max_body=3000,
)


def split_at(data: bytes, cuts: List[int]) -> List[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(data[last:p])
        last = p
    pieces.append(data[last:])
    return [p for p in pieces if p]


def drive(parser: RequestParser, pieces: List[bytes]) -> List[dict]:
    """Feed pieces then EOF; return the complete messages, checking event order on the way.

    Raises HTTPError when the parser does; any other exception is a parser bug.
    """
    msgs: List[dict] = []
    current: Optional[dict] = None
    closed = False

    def drain() -> None:
        nonlocal current, closed
        for _ in range(MAX_EVENTS):
            event = parser.next_event()
            if event is NEED_DATA:
                return
            assert not closed, "event after ConnectionClosed"
            if isinstance(event, Request):
                assert current is None, "Request inside a message"
                current = {"request": event, "body": b""}
            elif isinstance(event, Data):
                assert current is not None and type(event.data) is bytes and event.data
                current["body"] += event.data
            elif isinstance(event, EndOfMessage):
                assert current is not None, "EndOfMessage outside a message"
                req = current["request"]
                if req.content_length is not None and not req.chunked:
                    assert len(current["body"]) == req.content_length
                limit = parser.limits.max_body
                assert not limit or len(current["body"]) <= limit
                current["trailers"] = list(event.trailers)
                msgs.append(current)
                current = None
            else:
                assert isinstance(event, ConnectionClosed), f"unknown event {event!r}"
                assert current is None, "ConnectionClosed inside a message"
                closed = True
                return
        raise AssertionError("too many events without needing data")

    for piece in pieces:
        parser.feed(piece)
        drain()
    parser.feed(b"")
    drain()
    assert closed, "after EOF the parser must say ConnectionClosed or raise"
    return msgs


def parses_or_raises_http_error(data: bytes, cuts: List[int], limits: Optional[Limits]) -> None:
    try:
        drive(RequestParser(limits), split_at(data, cuts))
    except HTTPError as exc:
        assert isinstance(exc.status, int) and 400 <= exc.status < 600
        assert exc.message


cuts_st = st.lists(st.integers(min_value=0, max_value=10_000), max_size=8)
limits_st = st.sampled_from([None, SMALL])


@SETTINGS
@given(st.binary(max_size=400), cuts_st, limits_st)
def test_random_bytes_parse_or_raise_http_error(data, cuts, limits):
    parses_or_raises_http_error(data, cuts, limits)


PREFIXES = [
    b"GET / HTTP/1.1\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
]
# Bytes that matter to the grammar, so random tails hit the interesting branches.
GRAMMAR = st.sampled_from(
    [b"\r\n", b"\r", b"\n", b" ", b"\t", b":", b";", b"=", b'"', b"\\", b",", b"0", b"5", b"a",
     b"F", b"x", b"\x00", b"\x7f", b"\xff", b"HTTP/1.1", b"chunked", b"Host: a",
     b"Content-Length: 3", b"Transfer-Encoding: chunked", b"\r\n\r\n"]
)


@SETTINGS
@given(st.sampled_from(PREFIXES), st.lists(GRAMMAR | st.binary(max_size=8), max_size=30),
       cuts_st, limits_st)
def test_valid_prefix_then_garbage_parses_or_raises_http_error(prefix, tail, cuts, limits):
    parses_or_raises_http_error(prefix + b"".join(tail), cuts, limits)


def header_lines(raw: bytes) -> List[Tuple[int, int]]:
    """(start, end) offsets of the field lines in a request head, CRLF included."""
    end = raw.find(b"\r\n\r\n")
    first = raw.find(b"\r\n")
    out, pos = [], first + 2
    while 0 <= first < end and pos < end + 2:
        nxt = raw.find(b"\r\n", pos)
        out.append((pos, nxt + 2))
        pos = nxt + 2
    return out


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate"]))
        pos = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= draw(st.integers(min_value=1, max_value=255))
        elif op == "insert":
            data[pos:pos] = draw(GRAMMAR | st.binary(min_size=1, max_size=4))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(min_value=1, max_value=8))]
        elif op == "truncate":
            del data[pos:]
        else:
            lines = header_lines(bytes(data))
            if lines:
                start, end = draw(st.sampled_from(lines))
                data[end:end] = data[start:end]
    return bytes(data)


@SETTINGS
@given(mutated(), cuts_st, limits_st)
def test_mutated_corpus_requests_parse_or_raise_http_error(data, cuts, limits):
    parses_or_raises_http_error(data, cuts, limits)


# ------------------------------------------------------------------ generated valid requests

TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
PCHAR = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@%/?"
FRAMING = {b"content-length", b"transfer-encoding", b"host", b"connection", b"expect", b"trailer"}
VALUE_BYTES = bytes(range(0x21, 0x7F)) + bytes(range(0x80, 0x100))

token = st.text(alphabet=TCHAR, min_size=1, max_size=12).map(str.encode)
field_value = st.tuples(
    st.sampled_from([b"", b" ", b"\t", b" \t "]),
    st.lists(
        st.binary(min_size=1, max_size=10).map(lambda b: bytes(VALUE_BYTES[x % 190] for x in b)),
        max_size=4,
    ),
    st.sampled_from([b" ", b"\t", b"  "]),
    st.sampled_from([b"", b" ", b"\t"]),
).map(lambda t: (t[0] + t[2].join(t[1]) + t[3], t[2].join(t[1])))
field = st.tuples(token.filter(lambda n: n.lower() not in FRAMING), field_value)


@st.composite
def chunked_body(draw, body: bytes) -> Tuple[bytes, List[Tuple[bytes, bytes]]]:
    out, pos = [], 0
    while pos < len(body):
        n = draw(st.integers(min_value=1, max_value=len(body) - pos))
        size = b"%x" % n
        size = size.upper() if draw(st.booleans()) else size
        size = b"0" * draw(st.integers(min_value=0, max_value=2)) + size
        ext = draw(st.sampled_from([b"", b";a", b";a=b", b';name="q; \\"v\\""', b" ;x=1;y"]))
        out.append(size + ext + b"\r\n" + body[pos : pos + n] + b"\r\n")
        pos += n
    trailers = draw(st.lists(field, max_size=3))
    out.append(b"0\r\n" + b"".join(n + b":" + v[0] + b"\r\n" for n, v in trailers) + b"\r\n")
    return b"".join(out), [(n.lower(), v[1]) for n, v in trailers]


@st.composite
def request(draw) -> Tuple[bytes, dict]:
    method = draw(st.sampled_from([b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS"])
                  | token.filter(lambda m: m != b"CONNECT"))
    target = b"/" + draw(st.text(alphabet=PCHAR, max_size=40)).encode()
    version = draw(st.sampled_from([b"1.0", b"1.1"]))
    fields = draw(st.lists(field, max_size=15))
    raw_fields = [n + b":" + v[0] for n, v in fields]
    expected = [(n.lower(), v[1]) for n, v in fields]

    def insert(name: bytes, value: bytes) -> None:
        pos = draw(st.integers(min_value=0, max_value=len(raw_fields)))
        raw_fields.insert(pos, name + b": " + value)
        expected.insert(pos, (name.lower(), value))

    if version == b"1.1" or draw(st.booleans()):
        insert(draw(st.sampled_from([b"Host", b"host", b"HOST"])), b"example.com")
    keep_alive = version == b"1.1"
    conn = draw(st.sampled_from([None, b"close", b"keep-alive", b"Keep-Alive", b"x, close"]))
    if conn is not None:
        insert(b"Connection", conn)
        if b"close" in conn:
            keep_alive = False
        elif version == b"1.0":
            keep_alive = True
    expect = draw(st.booleans())
    if expect:
        insert(b"Expect", b"100-continue")
    body = draw(st.binary(max_size=600))
    framing = draw(st.sampled_from(["none", "length", "chunked"] if version == b"1.1"
                                   else ["none", "length"]))
    if framing == "none":
        body = b""
    content_length, encoded, trailers = None, body, []
    if framing == "length":
        content_length = len(body)
        insert(b"Content-Length", b"%d" % len(body))
    elif framing == "chunked":
        insert(b"Transfer-Encoding", b"chunked")
        encoded, trailers = draw(chunked_body(body))
    raw = method + b" " + target + b" HTTP/" + version + b"\r\n"
    raw += b"".join(f + b"\r\n" for f in raw_fields) + b"\r\n" + encoded
    return raw, dict(
        method=method, target=target, http_version=version, headers=expected,
        keep_alive=keep_alive, expect_continue=expect and version == b"1.1",
        content_length=content_length, chunked=framing == "chunked", body=body,
        trailers=trailers,
    )


def check(msg: dict, want: dict) -> None:
    req = msg["request"]
    for value in (req.method, req.target, req.http_version):
        assert type(value) is bytes
    for name, value in req.headers + msg["trailers"]:
        assert type(name) is bytes and type(value) is bytes
    got = dict(
        method=req.method, target=req.target, http_version=req.http_version,
        headers=req.headers, keep_alive=req.keep_alive, expect_continue=req.expect_continue,
        content_length=req.content_length, chunked=req.chunked, body=msg["body"],
        trailers=msg["trailers"],
    )
    assert got == want


@pytest.mark.timeout(180)  # a few s of CPU; generous for a loaded 2-core CI box
@SETTINGS
@given(request(), cuts_st)
def test_generated_request_round_trips(req, cuts):
    raw, want = req
    (whole,) = drive(RequestParser(), [raw])
    check(whole, want)
    (pieces,) = drive(RequestParser(), split_at(raw, cuts))
    check(pieces, want)


@pytest.mark.timeout(180)  # a few s of CPU; generous for a loaded 2-core CI box
@settings(SETTINGS, max_examples=max(1, EXAMPLES * 3 // 5))
@given(st.lists(request(), min_size=2, max_size=4), cuts_st)
def test_generated_pipelined_requests_round_trip(reqs, cuts):
    stream = b"".join(raw for raw, _ in reqs)
    parser = RequestParser()
    msgs = drive(parser, split_at(stream, cuts))
    assert len(msgs) == len(reqs)
    for msg, (_, want) in zip(msgs, reqs):
        check(msg, want)
    assert parser.trailing_data == b""


# ------------------------------------------------------------------ cost of a slow drip


def drip_cpu_seconds(nfields: int) -> float:
    """CPU time to parse a head of about ``nfields`` * 100 bytes fed one byte at a time."""
    head = b"GET / HTTP/1.1\r\nHost: a\r\n"
    head += b"".join(b"X-%04d: %s\r\n" % (i, b"v" * 92) for i in range(nfields)) + b"\r\n"
    parser = RequestParser(Limits(max_headers=1000))
    start = time.process_time()
    for i in range(len(head)):
        parser.feed(head[i : i + 1])
        event = parser.next_event()
    assert isinstance(event, Request) and len(event.headers) == nfields + 1
    return time.process_time() - start


def test_head_fed_byte_by_byte_costs_linear_time():
    small = min(drip_cpu_seconds(80) for _ in range(3))  # ~8 KiB
    big = drip_cpu_seconds(320)  # ~32 KiB: linear costs ~4x small, quadratic ~16x
    assert big < 8 * small + 0.05, f"8 KiB head {small:.3f} s, 32 KiB head {big:.3f} s"


@SETTINGS
@given(st.binary(max_size=60), st.sampled_from([b"GET", b"OPTIONS", b"CONNECT", b"M"]))
def test_targets_the_parser_does_not_check_pass_the_check(rest, method):
    """The parser skips ``_check_target`` for an ASCII origin-form target without "#" or HTAB
    (a call saved per request): every such target must pass it."""
    target = b"/" + rest
    if target.isascii() and target.find(b"#") < 0 and target.find(b"\t") < 0:
        RequestParser._check_target(method, target)
