"""The h2spec checks (generic and "http2" sections) that raw frames can express, ported because
h2spec is not in any registry reachable here (apt, PyPI, npm). Each case names its h2spec id.

A connection error must be a GOAWAY with the listed code (h2spec also passes a bare close; the
stricter check here is what ``h2`` does). A stream error may be a RST_STREAM or a GOAWAY with
the code, as in h2spec.
"""

from __future__ import annotations

import struct

import pytest

from tests.functional.http2.support import (
    ACK,
    CANCEL,
    COMPRESSION_ERROR,
    CONTINUATION,
    DATA,
    ENABLE_PUSH,
    END_HEADERS,
    END_STREAM,
    FLOW_CONTROL_ERROR,
    FRAME_SIZE_ERROR,
    GOAWAY,
    HEADERS,
    INITIAL_WINDOW_SIZE,
    MAX_CONCURRENT_STREAMS,
    MAX_FRAME_SIZE,
    PADDED,
    PING,
    PRIORITY,
    PRIORITY_FLAG,
    PROTOCOL_ERROR,
    PUSH_PROMISE,
    REFUSED_STREAM,
    RST_STREAM,
    SETTINGS_FRAME,
    STREAM_CLOSED,
    WINDOW_UPDATE,
    FrameClient,
    block,
    frame,
    hpack_int,
    request_headers,
    settings,
)

ECHO = "tests.apps.echo:app"
GET = block(request_headers())
POST = block(request_headers(b"/", b"POST"))
U32 = struct.Struct(">I")


def window(stream_id: int, increment: int) -> bytes:
    return frame(WINDOW_UPDATE, 0, stream_id, U32.pack(increment))


def priority(depends_on: int) -> bytes:
    return U32.pack(depends_on) + b"\x10"


# (h2spec id, frames sent after the handshake, GOAWAY error code)
CONNECTION_ERRORS = [
    ("http2/4.2/2 DATA over SETTINGS_MAX_FRAME_SIZE",
     frame(HEADERS, END_HEADERS, 1, POST) + frame(DATA, 0, 1, b"x" * 16385), FRAME_SIZE_ERROR),
    ("http2/4.2/3 HEADERS over SETTINGS_MAX_FRAME_SIZE",
     frame(HEADERS, END_HEADERS | END_STREAM, 1, GET + b"\x82" * 16385), FRAME_SIZE_ERROR),
    ("http2/4.3/1 invalid header block (index past the tables)",
     frame(HEADERS, END_HEADERS | END_STREAM, 1, hpack_int(300, 7, 0x80)),
     (COMPRESSION_ERROR, PROTOCOL_ERROR)),  # h2 reports PROTOCOL_ERROR
    ("http2/4.3/3 PRIORITY between HEADERS and CONTINUATION",
     frame(HEADERS, END_STREAM, 1, GET[:4]) + frame(PRIORITY, 0, 1, priority(0))
     + frame(CONTINUATION, END_HEADERS, 1, GET[4:]), PROTOCOL_ERROR),
    ("http2/5.1/1 DATA on an idle stream", frame(DATA, END_STREAM, 1, b"x"), PROTOCOL_ERROR),
    ("http2/5.1/2 RST_STREAM on an idle stream", frame(RST_STREAM, 0, 1, U32.pack(8)),
     PROTOCOL_ERROR),
    ("http2/5.1/3 WINDOW_UPDATE on an idle stream", window(1, 100), PROTOCOL_ERROR),
    ("http2/5.1/4 CONTINUATION on an idle stream", frame(CONTINUATION, END_HEADERS, 1, GET),
     PROTOCOL_ERROR),
    ("http2/5.1.1/1 even-numbered stream id", frame(HEADERS, END_HEADERS | END_STREAM, 2, GET),
     PROTOCOL_ERROR),
    ("http2/5.1.1/2 stream id below a used one",
     frame(HEADERS, END_HEADERS | END_STREAM, 5, GET)
     + frame(HEADERS, END_HEADERS | END_STREAM, 3, GET), PROTOCOL_ERROR),
    ("http2/5.5/2 unknown frame type inside a header block",
     frame(HEADERS, END_STREAM, 1, GET[:4]) + frame(0x16, 0, 1, b"hello")
     + frame(CONTINUATION, END_HEADERS, 1, GET[4:]), PROTOCOL_ERROR),
    ("http2/6.1/1 DATA on stream 0", frame(DATA, END_STREAM, 0, b"x"), PROTOCOL_ERROR),
    ("http2/6.1/3 DATA padding longer than the payload",
     frame(HEADERS, END_HEADERS, 1, POST) + frame(DATA, PADDED | END_STREAM, 1, b"\x08abc"),
     PROTOCOL_ERROR),
    ("http2/6.2/2 HEADERS on stream 0", frame(HEADERS, END_HEADERS | END_STREAM, 0, GET),
     PROTOCOL_ERROR),
    ("http2/6.2/4 HEADERS padding longer than the payload",
     frame(HEADERS, END_HEADERS | END_STREAM | PADDED, 1, bytes([len(GET) + 1]) + GET),
     PROTOCOL_ERROR),
    ("http2/6.3/1 PRIORITY on stream 0", frame(PRIORITY, 0, 0, priority(1)), PROTOCOL_ERROR),
    ("http2/6.4/1 RST_STREAM on stream 0", frame(RST_STREAM, 0, 0, U32.pack(8)),
     PROTOCOL_ERROR),
    ("http2/6.4/3 RST_STREAM of 3 octets",
     frame(HEADERS, END_HEADERS, 1, POST) + frame(RST_STREAM, 0, 1, b"\x00\x00\x08"),
     FRAME_SIZE_ERROR),
    ("http2/6.5/1 SETTINGS ACK with a payload", frame(SETTINGS_FRAME, ACK, 0, b"\x00" * 6),
     (FRAME_SIZE_ERROR, PROTOCOL_ERROR)),  # h2 reports PROTOCOL_ERROR
    ("http2/6.5/2 SETTINGS on a stream", frame(SETTINGS_FRAME, 0, 1, b""), PROTOCOL_ERROR),
    ("http2/6.5/3 SETTINGS of 3 octets", frame(SETTINGS_FRAME, 0, 0, b"\x00\x03\x00"),
     FRAME_SIZE_ERROR),
    ("http2/6.5.2/1 SETTINGS_ENABLE_PUSH = 2", settings((ENABLE_PUSH, 2)), PROTOCOL_ERROR),
    ("http2/6.5.2/2 SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1",
     settings((INITIAL_WINDOW_SIZE, 1 << 31)), FLOW_CONTROL_ERROR),
    ("http2/6.5.2/3 SETTINGS_MAX_FRAME_SIZE below 2^14", settings((MAX_FRAME_SIZE, 16383)),
     PROTOCOL_ERROR),
    ("http2/6.5.2/4 SETTINGS_MAX_FRAME_SIZE over 2^24-1", settings((MAX_FRAME_SIZE, 1 << 24)),
     PROTOCOL_ERROR),
    ("http2/6.7/3 PING on a stream", frame(PING, 0, 1, b"h2spec!!"), PROTOCOL_ERROR),
    ("http2/6.7/4 PING of 6 octets", frame(PING, 0, 0, b"h2spec"), FRAME_SIZE_ERROR),
    ("http2/6.8/1 GOAWAY on a stream", frame(GOAWAY, 0, 1, U32.pack(0) * 2), PROTOCOL_ERROR),
    ("http2/6.9/1 WINDOW_UPDATE of 0 on the connection", window(0, 0), PROTOCOL_ERROR),
    ("http2/6.9/3 WINDOW_UPDATE of 3 octets", frame(WINDOW_UPDATE, 0, 0, b"\x00\x00\x01"),
     FRAME_SIZE_ERROR),
    ("http2/6.9.1/2 connection window over 2^31-1",
     window(0, (1 << 31) - 1) + window(0, (1 << 31) - 1), FLOW_CONTROL_ERROR),
    ("http2/6.10/2 CONTINUATION after END_HEADERS",
     frame(HEADERS, END_HEADERS, 1, POST) + frame(CONTINUATION, END_HEADERS, 1, b"\x82"),
     PROTOCOL_ERROR),
    ("http2/6.10/4 CONTINUATION on stream 0",
     frame(HEADERS, END_STREAM, 1, GET) + frame(CONTINUATION, END_HEADERS, 0, b""),
     PROTOCOL_ERROR),
    ("http2/6.10/5 CONTINUATION on another stream",
     frame(HEADERS, END_STREAM, 1, GET) + frame(CONTINUATION, END_HEADERS, 3, b""),
     PROTOCOL_ERROR),
    ("http2/8.2/1 PUSH_PROMISE from a client",
     frame(HEADERS, END_HEADERS, 1, POST) + frame(PUSH_PROMISE, END_HEADERS, 1,
                                                  U32.pack(2) + GET), PROTOCOL_ERROR),
]


def malformed(*headers) -> bytes:
    return frame(HEADERS, END_HEADERS | END_STREAM, 1, block(headers))


M, S, P, A = (b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b":authority", b"a")

# (h2spec id, frames sent on stream 1 after the handshake, RST_STREAM or GOAWAY error code)
STREAM_ERRORS = [
    ("http2/5.1/5 DATA on a half-closed (remote) stream",
     frame(HEADERS, END_HEADERS | END_STREAM, 1, GET) + frame(DATA, 0, 1, b"x"), STREAM_CLOSED),
    ("http2/5.1/6 HEADERS on a half-closed (remote) stream",
     frame(HEADERS, END_HEADERS | END_STREAM, 1, GET)
     + frame(HEADERS, END_HEADERS | END_STREAM, 1, GET), STREAM_CLOSED),
    ("http2/5.1/7 CONTINUATION on a half-closed (remote) stream",
     frame(HEADERS, END_HEADERS | END_STREAM, 1, GET) + frame(CONTINUATION, END_HEADERS, 1, GET),
     (STREAM_CLOSED, PROTOCOL_ERROR)),
    ("http2/5.1/8 DATA after the client's RST_STREAM",
     frame(HEADERS, END_HEADERS, 1, POST) + frame(RST_STREAM, 0, 1, U32.pack(CANCEL))
     + frame(DATA, END_STREAM, 1, b"x"), STREAM_CLOSED),
    ("http2/5.1/9 HEADERS after the client's RST_STREAM",
     frame(HEADERS, END_HEADERS, 1, POST) + frame(RST_STREAM, 0, 1, U32.pack(CANCEL))
     + frame(HEADERS, END_HEADERS | END_STREAM, 1, GET), STREAM_CLOSED),
    ("http2/5.1/10 CONTINUATION after the client's RST_STREAM",
     frame(HEADERS, END_HEADERS, 1, POST) + frame(RST_STREAM, 0, 1, U32.pack(CANCEL))
     + frame(CONTINUATION, END_HEADERS, 1, block([(b"x", b"y")])),
     (STREAM_CLOSED, PROTOCOL_ERROR)),
    ("http2/5.3.1/1 HEADERS depending on its own stream",
     frame(HEADERS, END_HEADERS | END_STREAM | PRIORITY_FLAG, 1, priority(1) + GET),
     PROTOCOL_ERROR),
    ("http2/6.3/2 PRIORITY of 4 octets",
     frame(HEADERS, END_HEADERS, 1, POST) + frame(PRIORITY, 0, 1, U32.pack(0)), FRAME_SIZE_ERROR),
    ("http2/6.9/2 WINDOW_UPDATE of 0 on a stream",
     frame(HEADERS, END_HEADERS, 1, POST) + window(1, 0), PROTOCOL_ERROR),
    ("http2/6.9.1/3 stream window over 2^31-1",
     frame(HEADERS, END_HEADERS, 1, POST) + window(1, (1 << 31) - 1) + window(1, (1 << 31) - 1),
     FLOW_CONTROL_ERROR),
    ("http2/8.1/1 a second HEADERS without END_STREAM (not trailers)",
     frame(HEADERS, END_HEADERS, 1, POST) + frame(HEADERS, END_HEADERS, 1, block([(b"x", b"y")])),
     PROTOCOL_ERROR),
    ("http2/8.1.2/1 upper-case header name", malformed(M, S, P, A, (b"X-Test", b"ok")),
     PROTOCOL_ERROR),
    ("http2/8.1.2.1/1 unknown pseudo-header", malformed(M, S, P, A, (b":test", b"ok")),
     PROTOCOL_ERROR),
    ("http2/8.1.2.1/2 response pseudo-header in a request", malformed(M, S, P, A, (b":status", b"200")),
     PROTOCOL_ERROR),
    ("http2/8.1.2.1/4 pseudo-header after a regular header",
     malformed(M, S, (b"x-test", b"ok"), P, A), PROTOCOL_ERROR),
    ("http2/8.1.2.2/1 connection-specific header", malformed(M, S, P, A, (b"connection", b"keep-alive")),
     PROTOCOL_ERROR),
    ("http2/8.1.2.2/2 TE other than trailers", malformed(M, S, P, A, (b"te", b"gzip")),
     PROTOCOL_ERROR),
    ("http2/8.1.2.3/1 empty :path", malformed(M, S, (b":path", b""), A), PROTOCOL_ERROR),
    ("http2/8.1.2.3/2 no :method", malformed(S, P, A), PROTOCOL_ERROR),
    ("http2/8.1.2.3/4 no :scheme", malformed(M, P, A), PROTOCOL_ERROR),
    ("http2/8.1.2.3/6 no :path", malformed(M, S, A), PROTOCOL_ERROR),
    ("http2/8.1.2.3/3 :method twice", malformed(M, M, S, P, A), PROTOCOL_ERROR),
    ("http2/8.1.2.3/7 :path twice", malformed(M, S, P, P, A), PROTOCOL_ERROR),
    ("http2/8.1.2.6/1 content-length above the DATA sent",
     frame(HEADERS, END_HEADERS, 1, block(request_headers(b"/", b"POST", extra=[
         (b"content-length", b"5")]))) + frame(DATA, END_STREAM, 1, b"x"), PROTOCOL_ERROR),
    ("http2/8.1.2.6/2 content-length below the DATA sent",
     frame(HEADERS, END_HEADERS, 1, block(request_headers(b"/", b"POST", extra=[
         (b"content-length", b"1")]))) + frame(DATA, END_STREAM, 1, b"xyz"), PROTOCOL_ERROR),
]


@pytest.fixture
def client(h2_server):
    clients = []

    def connect(app_spec: str = "tests.apps.hello:app", tls: bool = False,
                **options) -> FrameClient:
        c = FrameClient(h2_server(app_spec, tls=tls), **options)
        clients.append(c)
        return c

    yield connect
    for c in clients:
        c.close()


@pytest.mark.parametrize("sent, code", [c[1:] for c in CONNECTION_ERRORS],
                         ids=[c[0] for c in CONNECTION_ERRORS])
def test_connection_error(client, sent, code):
    c = client(ECHO)
    c.handshake()
    c.send(sent)
    assert c.connection_error() in (code if isinstance(code, tuple) else (code,))
    assert c.closed()


@pytest.mark.parametrize("sent, code", [c[1:] for c in STREAM_ERRORS],
                         ids=[c[0] for c in STREAM_ERRORS])
def test_stream_error(client, sent, code):
    c = client(ECHO)
    c.handshake()
    c.send(sent)
    kind, got = c.stream_error(1)
    assert kind in ("reset", "goaway")
    assert got in (code if isinstance(code, tuple) else (code,))


def test_3_5_invalid_preface_is_refused(client):
    """http2/3.5/2: a wrong connection preface after ALPN h2 ends the connection (GOAWAY or a
    close); on a plain port it is an HTTP/1.1 request like any other."""
    c = client(tls=True, preface=b"INVALID CONNECTION PREFACE\r\n\r\n" + settings())
    assert c.connection_error() in (None, PROTOCOL_ERROR)
    assert c.closed()


def test_3_5_server_preface_is_settings(client):
    """http2/3.5/1: the server's first frame is SETTINGS; it acknowledges the client's."""
    c = client()
    c.handshake()
    ack = c.wait_for((SETTINGS_FRAME,))
    assert ack is not None and ack.flags & ACK and ack.payload == b""


@pytest.mark.parametrize("sent", [
    frame(0x16, 0, 0, b"unknown frame type"),             # http2/4.1/1, http2/5.5/1
    frame(SETTINGS_FRAME, 0, 0, struct.pack(">HI", 0xFF, 1)),  # http2/6.5.3/1 unknown setting
    frame(PING, ACK, 0, b"not-mine"),                       # http2/6.7/2 PING ACK is not answered
    frame(PRIORITY, 0, 9, priority(0)),                      # RFC 9113 §5.1: PRIORITY on idle
], ids=["unknown-frame", "unknown-setting", "ping-ack", "priority-idle"])
def test_ignored_frames_then_ping_is_acked(client, sent):
    """What the server must ignore, then a PING is answered with its own payload (http2/6.7/1)."""
    c = client()
    c.handshake()
    c.send(sent, frame(PING, 0, 0, b"h2spec\x00\x01"))
    pong = c.wait_for((PING, GOAWAY))
    assert pong is not None and pong.type == PING and pong.flags & ACK
    assert pong.payload == b"h2spec\x00\x01"


def test_undefined_flags_and_reserved_bit_are_ignored(client):
    """http2/4.1/2 and 4.1/3: undefined flags and the reserved stream-id bit are ignored."""
    c = client()
    c.handshake()
    c.send(frame(PING, 0xFE, 0, b"flags!!!"))
    pong = c.wait_for((PING, GOAWAY))
    assert pong is not None and pong.type == PING and pong.payload == b"flags!!!"
    c.send(frame(PING, 0, 0x80000000, b"reserved"))
    pong = c.wait_for((PING, GOAWAY))
    assert pong is not None and pong.type == PING and pong.payload == b"reserved"


def test_generic_requests(client):
    """generic/4: GET, HEAD, a POST with a full-size DATA frame, padding, priority, a
    CONTINUATION and trailers, each answered on its own stream."""
    c = client(ECHO)
    c.handshake()
    c.send(window(0, 1 << 20))
    head = block(request_headers(b"/h", b"HEAD"))
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, block(request_headers(b"/get"))))
    assert c.response(1) == (b"200", b"")
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 3, head))
    assert c.response(3) == (b"200", b"")
    c.send(frame(HEADERS, END_HEADERS, 5, POST), frame(DATA, END_STREAM, 5, b"a" * 16384))
    assert c.response(5) == (b"200", b"a" * 16384)
    c.send(frame(HEADERS, END_HEADERS | PADDED | PRIORITY_FLAG, 7,
                 b"\x03" + priority(0) + POST + b"\x00" * 3),
           frame(DATA, END_STREAM | PADDED, 7, b"\x02" + b"pad" + b"\x00\x00"))
    assert c.response(7) == (b"200", b"pad")
    c.send(frame(HEADERS, 0, 9, POST[:3]), frame(CONTINUATION, END_HEADERS, 9, POST[3:]),
           frame(DATA, 0, 9, b"body"),
           frame(HEADERS, END_HEADERS | END_STREAM, 9, block([(b"x-trailer", b"1")])))
    assert c.response(9) == (b"200", b"body")


def test_5_1_2_streams_past_the_advertised_limit_are_refused(client):
    """http2/5.1.2/1: with SETTINGS_MAX_CONCURRENT_STREAMS open streams (bodies not sent yet),
    one more is refused with REFUSED_STREAM (or PROTOCOL_ERROR)."""
    c = client(ECHO)
    advertised = dict(struct.unpack(">HI", chunk) for chunk in _chunks(c.handshake().payload))
    limit = advertised.get(MAX_CONCURRENT_STREAMS)
    assert limit is not None and limit <= 1000, advertised
    for sid in range(1, 2 * limit, 2):
        c.send(frame(HEADERS, END_HEADERS, sid, POST))
    c.send(frame(HEADERS, END_HEADERS, 2 * limit + 1, POST))
    assert c.stream_error(2 * limit + 1) in (("reset", REFUSED_STREAM), ("reset", PROTOCOL_ERROR),
                                             ("goaway", PROTOCOL_ERROR))


def _chunks(payload: bytes):
    return [payload[i:i + 6] for i in range(0, len(payload), 6)]


@pytest.mark.parametrize("kind", [DATA, HEADERS, CONTINUATION], ids=["DATA", "HEADERS",
                                                                   "CONTINUATION"])
def test_5_1_frames_on_a_closed_stream(client, kind):
    """http2/5.1/11-13: a frame on a stream both sides ended is STREAM_CLOSED (h2spec wants a
    connection error; RFC 9113 §5.1 lets a server that no longer keeps the stream's state
    answer with a stream error, and PROTOCOL_ERROR is accepted for CONTINUATION)."""
    c = client()
    c.handshake()
    c.request(1, request_headers())
    assert c.response(1)[0] == b"200"
    flags = END_HEADERS | END_STREAM
    payload = {DATA: b"test", HEADERS: GET, CONTINUATION: block([(b"x", b"y")])}[kind]
    c.send(frame(kind, flags if kind != DATA else END_STREAM, 1, payload))
    kind_, code = c.stream_error(1)
    assert kind_ in ("reset", "goaway")
    assert code in ((STREAM_CLOSED, PROTOCOL_ERROR) if kind == CONTINUATION else (STREAM_CLOSED,))
