"""An HTTP/2 connection is one connection for ``max_connections`` and ``info()``, however many
of its streams run on pool threads (each stream job is a pool item, not a connection)."""

from __future__ import annotations

import socket

from tests.functional.client import read_response
from tests.functional.http2.support import (
    DATA,
    END_STREAM,
    HEADERS,
    FrameClient,
    request_headers,
    rocket_only,
)
from tests.functional.slow_support import wait_until

pytestmark = rocket_only

GET = b"GET /?0 HTTP/1.1\r\nHost: x\r\n\r\n"


def responses(client: FrameClient, stream_ids, timeout: float = 8.0):
    """stream id -> (status, body) of these streams, answered in any order (every HEADERS
    frame is decoded in turn, as HPACK needs)."""
    got = {s: [b"", b""] for s in stream_ids}
    ended = set()
    while ended != set(stream_ids):
        frame_ = client.wait_for((HEADERS, DATA), timeout=timeout)
        assert frame_ is not None, "connection closed before the responses ended"
        if frame_.type == HEADERS:
            fields = dict(client.decoder.decode(frame_.payload, raw=True))
            got[frame_.stream_id][0] = fields[b":status"]
        else:
            got[frame_.stream_id][1] += frame_.payload
        if frame_.flags & END_STREAM:
            ended.add(frame_.stream_id)
    return {s: tuple(v) for s, v in got.items()}


def test_a_connection_with_running_streams_counts_once(h2_server):
    """max_connections 3: an idle HTTP/1.1 connection, an HTTP/2 one running 3 streams, then a
    third client. 3 connections are open, so no idle one is closed to make room."""
    endpoint = h2_server("tests.apps.sleepy:app", max_connections=3, http2_max_threads=4,
                         min_threads=8, max_threads=16)
    server = endpoint.server
    idle = socket.create_connection(("127.0.0.1", endpoint.port), timeout=5.0)
    h2 = FrameClient(endpoint)
    third = None
    try:
        idle.sendall(GET)
        assert read_response(idle) == (b"HTTP/1.1 200 OK", b"ok")
        h2.handshake()
        for stream_id in (1, 3, 5):
            h2.request(stream_id, request_headers(b"/?2"))
        assert wait_until(lambda: server.info()["open_streams"] == 3
                          and server.info()["threads_busy"] == 3)
        assert wait_until(lambda: server.info()["idle_connections"] == 2)  # parked + session
        third = socket.create_connection(("127.0.0.1", endpoint.port), timeout=5.0)
        third.sendall(GET)
        assert read_response(third) == (b"HTTP/1.1 200 OK", b"ok")
        assert server.info()["evictions"] == 0
        idle.sendall(GET)  # still open: it was not closed to make room
        assert read_response(idle) == (b"HTTP/1.1 200 OK", b"ok")
        assert server.info()["active_connections"] == 3
        assert responses(h2, (1, 3, 5)) == {1: (b"200", b"ok"), 3: (b"200", b"ok"),
                                            5: (b"200", b"ok")}
        assert wait_until(lambda: server.stream_jobs() == 0)  # each job counted out once
    finally:
        for sock in (idle, third):
            if sock is not None:
                sock.close()
        h2.close()
