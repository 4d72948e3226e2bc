"""How long an HTTP/2 client may keep the server waiting: the same limits as on HTTP/1.1.

- ``header_timeout`` bounds a header block from its first bytes to its END_HEADERS. Until the
  block ends no other frame may come (RFC 9113 §4.3, §6.10), and the block must be decoded
  whole to keep the HPACK state, even for a stream reset meanwhile (§4.3, §5.4.2): a stalled
  block stalls the whole connection, and resetting its stream would free nothing. So the session answers it
  with GOAWAY ``PROTOCOL_ERROR`` naming the last stream processed (§6.8: the client knows the
  stalled one was not) and closes. :func:`mid_header_block` tells that a block is arriving.
- ``body_min_rate`` and ``send_min_rate`` apply to each stream. Flow control bounds the bytes a
  client holds back, and ``body_timeout`` each single wait, but a client that sends one byte,
  or opens its window by one byte, within every ``body_timeout`` would hold a pool thread for
  as long as it likes. ``wsgi.input`` applies ``body_min_rate`` to a stream as to a connection
  (the stream offers ``body_min_rate`` and ``min_rate_grace``); :func:`rate_deadline` is
  ``send_min_rate``'s floor for a stream's sends, averaged from the first time they waited on
  the client, as :meth:`rocket.net.connection.Connection.sendall` does.
"""

from __future__ import annotations

import socket
from typing import Any

__all__ = ["mid_header_block", "rate_deadline", "too_slow"]

_HEADER_FRAME_TYPES = (0x1, 0x9)
"""HEADERS and CONTINUATION (RFC 9113 §6.2, §6.10)."""

_INF = float("inf")


def mid_header_block(frames: Any) -> bool:
    """Whether ``h2``'s frame buffer (``H2Connection.incoming_buffer``) holds part of a
    header block: HEADERS or CONTINUATION frames waiting for END_HEADERS, or the first bytes of
    such a frame. Reads ``h2``'s private fields (``data`` before h2 4.2, ``_data`` since); the
    header_timeout tests of tests/functional/http2 fail if they change."""
    if frames._headers_buffer:
        return True
    data = getattr(frames, "_data", None)
    if data is None:
        data = frames.data
    return len(data) >= 4 and data[3] in _HEADER_FRAME_TYPES


def rate_deadline(stream: Any, rate: float, grace_s: float, now: float) -> float:
    """When the sends of ``stream``, waiting on the client since ``stream.send_since`` (set
    now if not yet), fall below ``rate`` bytes/s on average over the bytes sent since
    (``stream.send_waited``), ``grace_s`` at the earliest; ``inf`` with no floor."""
    if not rate:
        return _INF
    if not stream.send_since:
        stream.send_since, stream.send_waited = now, 0
    return float(stream.send_since + max(grace_s, stream.send_waited / rate))


def too_slow(rate: float) -> socket.timeout:
    """The error of a stream's send cut by ``send_min_rate`` (what the worker expects)."""
    return socket.timeout(f"the client reads slower than send_min_rate={rate:g} B/s")
