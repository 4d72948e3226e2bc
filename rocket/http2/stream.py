"""One HTTP/2 stream seen by the WSGI worker as a connection of its own.

The worker answers HTTP/1.x requests on a :class:`~rocket.net.connection.Connection`; a
:class:`StreamConn` offers it the same surface (``reader``, ``fill``, ``sendall``,
``sendfile``, the addresses), so the WSGI worker runs an HTTP/2 request with everything it
does for HTTP/1.1 (environ, ``wsgi.input``, hooks, the access log, static files, the 500 of
a raising app) and no second copy of that code:

- the request is a :class:`~rocket.http.events.Request` of version ``2.0`` built from the
  HEADERS (pseudo-headers mapped, ``:authority`` as ``host``); its body is the DATA frames,
  which :class:`StreamBody` hands to ``wsgi.input`` as ``Data`` events, opening the flow
  control window only as the application reads;
- what the worker sends is an HTTP/1.0-framed response (no chunking towards version 2.0): the
  head becomes a HEADERS frame (names lower-cased, hop-by-hop fields dropped) and every byte
  after it DATA, sent through the session as the peer's flow control windows allow.
"""

from __future__ import annotations

import socket
from typing import Any, List, Optional, Tuple

from rocket.http.errors import BadRequest, BodyTooLarge
from rocket.http.events import NEED_DATA, Data, Request
from rocket.http.readers import END_NO_TRAILERS

__all__ = ["StreamConn", "StreamBody", "build_request", "response_headers", "HOP_BY_HOP"]

HOP_BY_HOP = frozenset([b"connection", b"keep-alive", b"transfer-encoding", b"upgrade",
                        b"proxy-connection"])
"""Connection-specific fields, forbidden in HTTP/2 (RFC 9113 §8.2.2): dropped from responses."""

_HEAD_END = b"\r\n\r\n"


def build_request(headers: List[Tuple[bytes, bytes]], ended: bool) -> Request:
    """The Request of a HEADERS block (h2 validated it: RFC 9113 §8.3); ``ended`` when the
    block carried END_STREAM (no body). Raises BadRequest for a missing pseudo-header."""
    method = path = authority = None
    fields = []
    length = None
    has_host = False
    for name, value in headers:
        if name[:1] == b":":
            if name == b":method":
                method = value
            elif name == b":path":
                path = value
            elif name == b":authority":
                authority = value
            continue
        if name == b"content-length":
            length = int(value)
        elif name == b"host":
            has_host = True
        fields.append((name, value))
    if method is None or (path is None and method != b"CONNECT"):
        raise BadRequest("request without :method or :path (RFC 9113 §8.3.1)")
    if authority is not None and not has_host:
        fields.append((b"host", authority))
    if ended:
        length = None
    expect = any(n == b"expect" and v.lower() == b"100-continue" for n, v in fields)
    return Request(method, path or b"*", b"2.0", fields, True, expect and not ended,
                   length or None, not ended and length is None)


def response_headers(head: bytes) -> Tuple[int, List[Tuple[bytes, bytes]]]:
    """The status and HTTP/2 fields of an HTTP/1 response head written by Rocket's response
    writer (``HTTP/1.x NNN reason``, ``Name: value`` lines, no final CRLF CRLF)."""
    lines = head.split(b"\r\n")
    status = lines[0][9:12]
    fields = [(b":status", status)]
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.lower()
        if name not in HOP_BY_HOP:
            fields.append((name, value.strip(b" \t")))
    return int(status), fields


class StreamBody:
    """The request body of one stream as it arrives: DATA pieces with their flow-controlled
    lengths, whether END_STREAM came, and ``max_body`` (413 past it)."""

    __slots__ = ("chunks", "ended", "received", "max_body")

    def __init__(self, ended: bool, max_body: int) -> None:
        self.chunks: List[Tuple[bytes, int]] = []
        self.ended = ended
        self.received = 0
        self.max_body = max_body


class StreamConn:
    """One stream as a connection: see the module docstring. ``session`` is the
    :class:`~rocket.http2.session.H2Session` that owns the socket."""

    __slots__ = ("session", "stream_id", "request", "body", "reader", "client_addr",
                 "server_addr", "secure", "peer_cert", "proxy", "sock", "body_min_rate",
                 "min_rate_grace", "send_since", "send_waited", "closed", "on_close",
                 "head_since", "reset", "ended", "_head", "_remaining", "__weakref__")

    def __init__(self, session: Any, stream_id: int, request: Request) -> None:
        conn = session.conn
        options = session.options
        self.session = session
        self.stream_id = stream_id
        self.request = request
        self.body = StreamBody(request.content_length is None and not request.chunked,
                               options.max_body)
        self.reader = self
        self.client_addr = conn.client_addr
        self.server_addr = conn.server_addr
        self.secure = conn.secure
        self.peer_cert = conn.peer_cert
        self.proxy = conn.proxy  # the PROXY header's client, as on HTTP/1.1
        self.sock = conn.sock
        self.body_min_rate = options.body_min_rate  # wsgi.input applies it (as on HTTP/1.1)
        self.min_rate_grace = options.min_rate_grace
        self.send_since = 0.0
        """Since when this stream's sends wait on the client (0 = they do not)."""
        self.send_waited = 0
        """Bytes sent since ``send_since`` (the ``send_min_rate`` floor's average)."""
        self.closed = False
        self.on_close: Any = None
        self.head_since = 0.0
        self.reset = False
        """True once the client reset the stream (or the connection is gone): sends fail."""
        self.ended = False
        """True once END_STREAM went out."""
        self._head: Optional[bytearray] = bytearray()  # None once the final head went out
        self._remaining: Optional[int] = None  # body bytes the head's Content-Length allows

    # -- the parser's side, for wsgi.input ---------------------------------------------------
    trailing_data = b""
    idle = True

    def next_event(self) -> Any:
        """The next body piece, ``EndOfMessage`` or ``NEED_DATA``; acknowledges what is taken
        so the client may send more (the window opens as the application reads)."""
        body = self.body
        if body.chunks:
            data, flow = body.chunks.pop(0)
            self.session.consumed(self.stream_id, flow)
            if data:
                body.received += len(data)
                if body.received > body.max_body:
                    raise BodyTooLarge(f"request body exceeds max_body={body.max_body}")
                return Data(data)
            return NEED_DATA if not body.chunks and not body.ended else self.next_event()
        if body.ended:
            return END_NO_TRAILERS
        if self.reset:
            raise BadRequest("the client reset the stream")
        return NEED_DATA

    def fill(self, timeout: Optional[float] = None) -> bool:
        """Wait up to ``timeout`` s for a DATA frame or the end of the body."""
        self.session.wait_body(self, timeout)
        return True

    # -- the response ------------------------------------------------------------------------
    def sendall(self, data: bytes) -> None:
        """Take bytes the worker writes: the head (HEADERS), then the body (DATA)."""
        if self._head is not None:
            head = self._head
            head += data
            end = head.find(_HEAD_END)
            if end < 0:
                return
            status, fields = response_headers(bytes(head[:end]))
            rest = bytes(head[end + 4:])
            if status < 200:  # 100 Continue: informational, the final head follows
                self._head = bytearray(rest)
                self.session.send_headers(self, fields, False)
                return
            self._head = None
            length = _content_length(fields)
            bodiless = self.request.method == b"HEAD" or status in (204, 304) or length == 0
            self._remaining = 0 if bodiless else length
            if bodiless:
                self.session.send_headers(self, fields, True)
                self.ended = True
                return
            rest, last = self._take(rest)
            self.session.send_headers(self, fields, False, rest, last)
            self.ended = last
            return
        if data:
            data, last = self._take(data)
            self.session.send_body(self, data, last)
            self.ended = last

    def _take(self, data: bytes) -> Tuple[bytes, bool]:
        """The part of ``data`` the Content-Length allows, and whether it ends the body."""
        remaining = self._remaining
        if remaining is None:
            return data, False
        data = data[:remaining]
        self._remaining = remaining - len(data)
        return data, not self._remaining

    def sendmany(self, buffers: Any) -> None:
        """Send several buffers in order."""
        self.sendall(b"".join(buffers))

    def sendfile(self, file: Any, offset: int = 0, count: Optional[int] = None) -> int:
        """Send ``count`` bytes (or to EOF) of ``file`` from ``offset`` as DATA frames."""
        if hasattr(file, "seek"):
            file.seek(offset)
        total = 0
        while count is None or total < count:
            block = file.read(65536 if count is None else min(65536, count - total))
            if not block:
                break
            self.sendall(block)
            total += len(block)
        return total

    def finish(self) -> None:
        """The worker is done: END_STREAM unless it went out with the last bytes; a body
        shorter than its Content-Length (or no final head) resets the stream instead."""
        if self._remaining or self._head is not None:
            self.close()
        elif not self.ended and not self.reset:
            self.ended = True
            self.session.end_stream(self)

    def close(self) -> None:
        """The response cannot complete (an error after the head): reset the stream."""
        if not self.closed:
            self.closed = True
            if not self.ended:
                self.session.reset_stream(self)

    cut_response = close
    """The worker's call when the application failed after the head (HTTP/1 closes then)."""

    def abort(self) -> None:
        """Server stop: wake the stream's thread (its next wait or send fails)."""
        self.session.abort()

    @property
    def has_buffered(self) -> bool:
        """Never: a stream carries one request."""
        return False

    def __repr__(self) -> str:
        return f"<StreamConn {self.client_addr[0]}:{self.client_addr[1]} #{self.stream_id}>"


def _content_length(fields: List[Tuple[bytes, bytes]]) -> Optional[int]:
    for name, value in fields:
        if name == b"content-length":
            return int(value)
    return None


def timed_out() -> socket.timeout:
    """The error of a wait that outlived its timeout (what the worker expects)."""
    return socket.timeout("timed out")
