"""The HTTP/2 deadlines' pure parts: whether h2's frame buffer is inside a header block, and
the send_min_rate floor of a stream's sends."""

from __future__ import annotations

import struct
from types import SimpleNamespace

import pytest

pytest.importorskip("h2")

from h2.frame_buffer import FrameBuffer  # noqa: E402

from rocket.http2.deadlines import mid_header_block, rate_deadline  # noqa: E402

HEADERS, CONTINUATION, DATA, PING = 0x1, 0x9, 0x0, 0x6
END_HEADERS = 0x4


def frame(kind: int, flags: int, stream_id: int, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", kind, flags, stream_id) \
        + payload


def fed(*chunks: bytes) -> FrameBuffer:
    """An h2 frame buffer (the preface already taken) that was fed these bytes and yielded
    every whole frame it could."""
    frames = FrameBuffer(server=False)
    frames.max_frame_size = 16384
    for chunk in chunks:
        frames.add_data(chunk)
        list(frames)
    return frames


BLOCK = b"\x82\x86\x84"  # :method GET, :scheme http, :path / (HPACK static indexes)


@pytest.mark.parametrize("chunks, inside", [
    ((), False),
    ((frame(HEADERS, END_HEADERS, 1, BLOCK),), False),
    ((frame(HEADERS, 0, 1, BLOCK),), True),
    ((frame(HEADERS, 0, 1, BLOCK), frame(CONTINUATION, 0, 1, b"")), True),
    ((frame(HEADERS, 0, 1, BLOCK), frame(CONTINUATION, END_HEADERS, 1, b"")), False),
    ((frame(HEADERS, END_HEADERS, 1, BLOCK)[:5],), True),  # part of a HEADERS frame
    ((frame(DATA, 0, 1, b"x" * 100)[:50],), False),  # part of a DATA frame: body, not head
    ((frame(PING, 0, 0, b"\0" * 8)[:3],), False),  # too little to know the type
], ids=["nothing", "whole", "headers-open", "continuation-open", "continuation-ends",
        "half-a-headers-frame", "half-a-data-frame", "three-bytes"])
def test_mid_header_block(chunks, inside):
    assert mid_header_block(fed(*chunks)) is inside


def test_the_rate_floor_starts_at_the_first_wait_and_grows_with_the_bytes_sent():
    stream = SimpleNamespace(send_since=0.0, send_waited=0)
    assert rate_deadline(stream, 0.0, 5.0, 100.0) == float("inf")  # no floor
    assert stream.send_since == 0.0
    assert rate_deadline(stream, 240.0, 5.0, 100.0) == 105.0  # the grace first
    assert stream.send_since == 100.0
    stream.send_waited = 2400  # 10 s worth at 240 B/s
    assert rate_deadline(stream, 240.0, 5.0, 104.0) == 110.0  # since stays at the first wait
