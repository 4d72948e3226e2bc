"""Slow HTTP/2 clients are cut as slow HTTP/1.1 clients are:

- a header block that stops half way (HEADERS or CONTINUATION without END_HEADERS, or half a
  HEADERS frame) gets GOAWAY ``PROTOCOL_ERROR`` ``header_timeout`` s after it began, also while
  other streams run, and the connection is freed;
- a request body dripped slower than ``body_min_rate`` gets a 408 on its stream, and a response
  read slower than ``send_min_rate`` gets its stream reset, each within ``min_rate_grace`` plus
  a little, though every single wait ends within ``body_timeout``.
"""

from __future__ import annotations

import struct
import time

import pytest

from tests.functional.http2.support import (
    CONTINUATION,
    DATA,
    END_HEADERS,
    END_STREAM,
    HEADERS,
    INITIAL_WINDOW_SIZE,
    PREFACE,
    PROTOCOL_ERROR,
    RST_STREAM,
    WINDOW_UPDATE,
    FrameClient,
    block,
    frame,
    get_ok,
    request_headers,
    rocket_only,
    settings,
)
from tests.functional.slow_support import wait_until

pytestmark = rocket_only

GET = block(request_headers())


def maybe_frame(client: FrameClient, kinds, stream_id: int, timeout: float):
    """The first frame of ``kinds`` on ``stream_id`` within ``timeout`` s, else None."""
    try:
        return client.wait_for(kinds, stream_id=stream_id, timeout=timeout)
    except AssertionError:
        return None


def half_blocks(stream_id: int):
    """How a header block can stop half way."""
    first = block(request_headers(extra=[(b"x-a", b"1")]))
    return {
        "headers-without-end": frame(HEADERS, END_STREAM, stream_id, first),
        "continuation-without-end": frame(HEADERS, END_STREAM, stream_id, first)
        + frame(CONTINUATION, 0, stream_id, block([(b"x-b", b"2")])),
        "half-a-headers-frame": frame(HEADERS, END_STREAM | END_HEADERS, stream_id, first)[:20],
    }


@pytest.mark.parametrize("cut", ["headers-without-end", "continuation-without-end",
                                 "half-a-headers-frame"])
@pytest.mark.parametrize("busy", [False, True], ids=["idle", "stream-running"])
def test_a_header_block_that_stops_half_way_gets_goaway_at_header_timeout(h2_server, cut, busy):
    endpoint = h2_server("tests.apps.sleepy:app", header_timeout=1.0, keep_alive=60.0)
    server = endpoint.server
    client = FrameClient(endpoint)
    try:
        client.handshake()
        if busy:  # stream 1 runs for 3 s: the connection is not idle meanwhile
            client.request(1, request_headers(b"/?3"))
            assert wait_until(lambda: server.info()["open_streams"] == 1)
        started = time.monotonic()
        client.send(half_blocks(3)[cut])
        assert client.connection_error(timeout=8.0) == PROTOCOL_ERROR
        elapsed = time.monotonic() - started
        goaway = client.goaway()
        assert struct.unpack(">I", goaway.payload[:4])[0] == (1 if busy else 0)  # §6.8
        assert 0.8 < elapsed < 2.5, elapsed
        assert client.closed(timeout=5.0)
    finally:
        client.close()
    assert wait_until(lambda: server.info()["active_connections"] == 0)
    assert wait_until(lambda: server.info()["open_streams"] == 0)  # once the app returned
    for session in server._http2.sessions:  # what may still point at it holds no h2 state
        assert session.dead and session.h2 is None and not session.streams
    assert get_ok(endpoint, b"/?0") == b"ok"


def test_over_tls_a_header_block_that_stops_half_way_gets_goaway_too(h2_server):
    endpoint = h2_server(tls=True, header_timeout=1.0, keep_alive=60.0)
    client = FrameClient(endpoint)
    try:
        client.handshake()
        client.send(half_blocks(1)["continuation-without-end"])
        started = time.monotonic()
        assert client.connection_error(timeout=8.0) == PROTOCOL_ERROR
        assert time.monotonic() - started < 2.5
        assert client.closed(timeout=5.0)
    finally:
        client.close()
    assert get_ok(endpoint) == b"Hello, World!"


def test_a_header_block_dripped_frame_by_frame_is_cut_at_header_timeout_in_total(h2_server):
    """Each CONTINUATION within the timeout, the block as a whole past it: cut, as a head
    dripped byte by byte is on HTTP/1.1 (the timeout counts from the block's first frame)."""
    endpoint = h2_server(header_timeout=1.0)
    client = FrameClient(endpoint)
    try:
        client.handshake()
        client.send(frame(HEADERS, END_STREAM, 1, GET))
        for i in range(5):
            time.sleep(0.4)
            try:
                client.send(frame(CONTINUATION, 0, 1, block([(b"x-%d" % i, b"v")])))
            except OSError:
                break
        assert client.connection_error(timeout=5.0) == PROTOCOL_ERROR
    finally:
        client.close()


def test_a_header_block_within_the_timeout_is_answered(h2_server):
    endpoint = h2_server(header_timeout=1.0)
    client = FrameClient(endpoint)
    try:
        client.handshake()
        client.send(frame(HEADERS, END_STREAM, 1, GET))
        time.sleep(0.5)
        client.send(frame(CONTINUATION, END_HEADERS, 1, block([(b"x-a", b"1")])))
        assert client.response(1) == (b"200", b"Hello, World!")
        time.sleep(0.7)  # past the first block's timeout: the deadline went with the block
        client.request(3, request_headers())
        assert client.response(3) == (b"200", b"Hello, World!")
    finally:
        client.close()


def test_a_body_dripped_below_body_min_rate_gets_408(h2_server):
    """One byte every 0.3 s (each wait well within body_timeout): 408 once min_rate_grace
    (1 s) passed and the average fell below 100 B/s, not when the client stops."""
    endpoint = h2_server("tests.apps.echo:app", body_timeout=2.0, body_min_rate=100.0,
                         min_rate_grace=1.0)
    client = FrameClient(endpoint)
    try:
        client.handshake()
        client.request(1, request_headers(b"/", b"POST", extra=[(b"content-length", b"40")]),
                       end_stream=False)
        started = time.monotonic()
        status = None
        for _ in range(30):  # 9 s of drip at most
            try:
                client.send(frame(DATA, 0, 1, b"x"))
            except OSError:
                break
            status = maybe_frame(client, (HEADERS, RST_STREAM), 1, 0.3)
            if status is not None:
                break
        assert status is not None, "the drip was never cut"
        assert time.monotonic() - started < 4.0
        assert status.type == HEADERS, status
        assert dict(client.decoder.decode(status.payload, raw=True))[b":status"] == b"408"
    finally:
        client.close()


def test_a_response_read_below_send_min_rate_gets_its_stream_reset(h2_server):
    """The client opens the window 100 bytes every 0.3 s (each wait within body_timeout): the
    2 MiB answer's stream is reset once min_rate_grace (1 s) passed below 1000 B/s, and the
    thread is back in the pool."""
    endpoint = h2_server("tests.apps.huge:app", body_timeout=2.0, send_min_rate=1000.0,
                         min_rate_grace=1.0)
    server = endpoint.server
    client = FrameClient(endpoint, preface=PREFACE + settings((INITIAL_WINDOW_SIZE, 0)))
    try:
        client.handshake()
        client.request(1, request_headers(b"/list"))
        started = time.monotonic()
        reset = None
        for _ in range(30):
            try:
                client.send(frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 100)))
            except OSError:
                break
            reset = maybe_frame(client, (RST_STREAM,), 1, 0.3)
            if reset is not None:
                break
        assert reset is not None, "the slow reader was never cut"
        assert time.monotonic() - started < 4.0
        assert wait_until(lambda: server.info()["threads_busy"] == 0)
    finally:
        client.close()
