"""Attacks on HTTP/2 servers: each is refused with the right frame, the attacker's connection is
closed, the server's memory stays bounded and other connections are still answered.

- rapid reset (CVE-2023-44487): thousands of streams opened and reset at once;
- CONTINUATION flood (CVE-2024-27316 class): a header block that never ends;
- HPACK bomb: one big header put in the dynamic table, then referenced by one-byte indexes,
  and an 80 KiB list of distinct header fields;
- a client that never opens its flow-control window: the app's thread is freed in time.
"""

from __future__ import annotations

import struct
import time
from typing import Iterable

import pytest

from tests.functional.http2.support import (
    CANCEL,
    CONTINUATION,
    END_HEADERS,
    END_STREAM,
    ENHANCE_YOUR_CALM,
    GOAWAY,
    HEADERS,
    INITIAL_WINDOW_SIZE,
    NO_ERROR,
    PREFACE,
    RST_STREAM,
    FrameClient,
    block,
    frame,
    get_ok,
    hpack_int,
    literal,
    request_headers,
    rocket_only,
    settings,
)

MIB = 1 << 20
GET = block(request_headers())


def flood(client: FrameClient, chunks: Iterable[bytes]) -> int:
    """Send ``chunks`` until the server says GOAWAY or stops taking them; the bytes sent."""
    sent = 0
    for chunk in chunks:
        try:
            client.send(chunk)
        except OSError:  # closed, reset, or no longer read (the socket's timeout)
            break
        sent += len(chunk)
        client.read_available()
        if client.goaway() is not None or client.eof:
            break
    return sent


def streams_reset_at_once(count: int, batch: int = 100) -> Iterable[bytes]:
    """HEADERS then RST_STREAM(CANCEL) for ``count`` streams, ``batch`` streams per send."""
    cancel = struct.pack(">I", CANCEL)
    for first in range(1, 2 * count, 2 * batch):
        yield b"".join(frame(HEADERS, END_HEADERS | END_STREAM, sid, GET)
                       + frame(RST_STREAM, 0, sid, cancel)
                       for sid in range(first, min(first + 2 * batch, 2 * count), 2))


@rocket_only
@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "tls"])
def test_rapid_reset_gets_enhance_your_calm(h2_server, tls):
    endpoint = h2_server(tls=tls)
    attacker = FrameClient(endpoint)
    try:
        attacker.handshake()
        flood(attacker, streams_reset_at_once(20000))
        assert get_ok(endpoint) == b"Hello, World!"  # others are served meanwhile
        assert attacker.connection_error(timeout=10) == ENHANCE_YOUR_CALM
        assert attacker.closed(timeout=10)
    finally:
        attacker.close()
    assert get_ok(endpoint) == b"Hello, World!"


def header_block_without_end(frame_bytes: int, frames: int) -> Iterable[bytes]:
    """HEADERS without END_HEADERS, then ``frames`` CONTINUATION frames of distinct literal
    headers, ``frame_bytes`` each, none ending the block."""
    yield frame(HEADERS, END_STREAM, 1, GET)
    value = b"v" * (frame_bytes - 40)
    for i in range(frames):
        yield frame(CONTINUATION, 0, 1, literal(b"x-flood-%d" % i, value))


def empty_continuations(frames: int) -> Iterable[bytes]:
    """HEADERS without END_HEADERS, then empty CONTINUATION frames (CPU, not memory)."""
    yield frame(HEADERS, END_STREAM, 1, GET)
    for _ in range(frames // 100):
        yield frame(CONTINUATION, 0, 1, b"") * 100


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "tls"])
@pytest.mark.parametrize("kind", ["16k-frames", "empty-frames"])
def test_continuation_flood_gets_goaway(h2_server, tls, kind):
    """Up to 64 MiB of CONTINUATION (or 100000 empty ones): the server sends GOAWAY with an
    error code and closes long before, and does not grow by more than 32 MiB."""
    endpoint = h2_server(tls=tls)
    assert get_ok(endpoint) == b"Hello, World!"
    before = endpoint.rss_bytes()
    attacker = FrameClient(endpoint)
    try:
        attacker.handshake()
        chunks = (header_block_without_end(16384, 4096) if kind == "16k-frames"
                  else empty_continuations(100000))
        sent = flood(attacker, chunks)
        code = attacker.connection_error(timeout=10)
        assert code is not None and code != NO_ERROR, f"closed without GOAWAY after {sent} B"
        assert attacker.closed(timeout=10)
    finally:
        attacker.close()
    assert endpoint.rss_bytes() - before < 32 * MIB
    assert get_ok(endpoint) == b"Hello, World!"


def hpack_bomb(continuations: int) -> Iterable[bytes]:
    """A 4000-byte header added to the dynamic table, then referenced (index 62, one byte
    each) about 16000 times per frame: 64 MiB of decoded headers per 16 KiB frame."""
    first = literal(b"x-bomb", b"b" * 4000, indexed=True)
    refs = hpack_int(62, 7, 0x80) * (16384 - len(first) - len(GET))
    yield frame(HEADERS, END_STREAM | (0 if continuations else END_HEADERS), 1, GET + first + refs)
    for i in range(continuations):
        last = END_HEADERS if i == continuations - 1 else 0
        yield frame(CONTINUATION, last, 1, hpack_int(62, 7, 0x80) * 16384)


def oversized_header_list() -> Iterable[bytes]:
    """80 KiB of distinct header fields in HEADERS and 6 CONTINUATION frames, then the end of
    the block: over the 64 KiB that servers commonly allow (Rocket's
    http2_max_header_list_size)."""
    yield from header_block_without_end(16384, 5)
    yield frame(CONTINUATION, END_HEADERS, 1, b"")


@pytest.mark.parametrize("blocks", [lambda: hpack_bomb(0), lambda: hpack_bomb(8),
                                    oversized_header_list],
                         ids=["hpack-bomb", "hpack-bomb-continuations", "80KiB-list"])
def test_oversized_header_list_is_refused(h2_server, blocks):
    """The decoded header list is refused (GOAWAY or a stream reset, never an answer), and the
    server does not grow by more than 32 MiB."""
    endpoint = h2_server()
    assert get_ok(endpoint) == b"Hello, World!"
    before = endpoint.rss_bytes()
    attacker = FrameClient(endpoint)
    try:
        attacker.handshake()
        flood(attacker, blocks())
        refused = attacker.wait_for((HEADERS, RST_STREAM, GOAWAY), timeout=10)
        assert refused is None or refused.type != HEADERS, "the header list was answered"
    finally:
        attacker.close()
    assert endpoint.rss_bytes() - before < 32 * MIB
    assert get_ok(endpoint) == b"Hello, World!"


@rocket_only
def test_client_that_never_opens_its_window_frees_the_thread(h2_server):
    """INITIAL_WINDOW_SIZE 0 and no WINDOW_UPDATE: the 2 MiB answer cannot be sent, and after
    ``body_timeout`` (1 s here) the stream is reset and the thread is back in the pool."""
    endpoint = h2_server("tests.apps.huge:app", body_timeout=1.0)
    server = endpoint.server
    reader = FrameClient(endpoint, preface=PREFACE + settings((INITIAL_WINDOW_SIZE, 0)))
    try:
        reader.handshake()
        reader.request(1, request_headers(b"/list"))
        started = time.monotonic()
        kind, code = reader.stream_error(1, timeout=15)
        assert kind in ("reset", "goaway", "closed")
        assert time.monotonic() - started < 10
        deadline = time.monotonic() + 5
        while server.info()["threads_busy"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.info()["threads_busy"] == 0
    finally:
        reader.close()
    assert len(get_ok(endpoint, b"/list")) == 2 * MIB
