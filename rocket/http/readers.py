"""Body framing readers, shared by the request parser and the response parser (RFC 9112 §6-7).

How it works: both parsers derive from :class:`ReceiveBuffer`, which holds the bytes received
and not consumed yet. A parser reads a message head itself, picks the reader for the message's
framing (``NO_BODY``, a :class:`ContentLengthReader`, a :class:`ChunkedReader` or, for a
response only, an :class:`UntilCloseReader`) and passes itself to ``reader.read`` on each
``next_event()`` until the reader returns ``EndOfMessage``. A read consumes bytes from the
buffer and returns ``Data``, ``EndOfMessage`` or ``NEED_DATA``, or raises.

The rules are the request side's, strict, with the status each broken rule deserves
(``BadRequest``, ``BodyTooLarge``, ``HeaderTooLarge``, ``IncompleteRequest`` at EOF). The
response parser re-raises each as ``BadResponse`` or ``IncompleteResponse``.

Each parser owns one reader of each kind and restarts it per message, so a message with a
body allocates no reader.
"""

from __future__ import annotations

import re
from typing import Optional, Union

from .errors import BadRequest, BodyTooLarge, HeaderTooLarge, IncompleteRequest
from .events import NEED_DATA, NO_TRAILERS, Data, EndOfMessage, _Sentinel
from .fields import OWS, check_line_endings, check_new_line_feeds, parse_fields, show
from .limits import DEFAULT_LIMITS, FREE_CHUNKS, Limits

__all__ = [
    "ReceiveBuffer",
    "NO_BODY",
    "ContentLengthReader",
    "ChunkedReader",
    "UntilCloseReader",
    "END_NO_TRAILERS",
]

BodyEvent = Union[Data, EndOfMessage, _Sentinel]

# RFC 9112 §7.1: chunk-size = 1*HEXDIG
_HEX = re.compile(rb"[0-9A-Fa-f]+")
# RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ),
# chunk-ext-val = token / quoted-string (RFC 9110 §5.6.4)
_CHUNK_EXT = re.compile(
    rb"(?:[ \t]*;[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
    rb"(?:[ \t]*=[ \t]*(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
    rb'|"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"))?)*'
)

END_NO_TRAILERS = EndOfMessage(NO_TRAILERS)
"""The one ``EndOfMessage`` of every message without trailers; its list is read-only."""


class ReceiveBuffer:
    """Bytes received and not consumed yet, and whether input has ended: the base of both parsers.

    ``_buf`` is ``bytes`` while it holds what one ``feed`` brought, and becomes a ``bytearray``
    while a unit (head, chunk line, trailers) accumulates over several feeds. ``_scanned`` is
    how far the buffer has been searched for the end of the current unit, so that a peer
    sending one byte at a time costs linear, not quadratic, time. ``_reader`` is the body
    reader of the message being read, or None while a head is expected.
    """

    __slots__ = ("limits", "_buf", "_eof", "_scanned", "_reader")

    def __init__(self, limits: Optional[Limits] = None) -> None:
        self.limits = limits or DEFAULT_LIMITS
        self._buf = b""
        self._eof = False
        self._scanned = 0
        self._reader: Optional[object] = None

    @property
    def trailing_data(self) -> bytes:
        """Bytes received but not consumed yet (the start of the next pipelined message)."""
        buf = self._buf
        return buf if type(buf) is bytes else bytes(buf)

    @property
    def eof(self) -> bool:
        """True once ``feed(b"")`` has marked the end of input."""
        return self._eof

    def feed(self, data: bytes) -> None:
        """Add received bytes; ``b""`` marks the end of input (the peer closed)."""
        if not data:
            self._eof = True
        elif self._eof:
            raise RuntimeError("feed() after end of input")
        elif self._buf:
            buf = self._buf
            if type(buf) is bytes:
                self._buf = buf = bytearray(buf)
            buf += data
        else:
            self._buf = bytes(data)


class _NoBody:
    """The framing of a message without a body: its end comes at once."""

    __slots__ = ()

    def read(self, stream: ReceiveBuffer) -> BodyEvent:
        """Return the end of the message."""
        return END_NO_TRAILERS


NO_BODY = _NoBody()
"""The reader of every message without a body (RFC 9112 §6.3)."""


class ContentLengthReader:
    """A body of ``Content-Length`` bytes (RFC 9112 §6.2), or one chunk's data.

    The ``max_body`` limit is checked on the head (or the chunk-size line) before it starts.
    """

    __slots__ = ("remaining",)

    def __init__(self) -> None:
        self.remaining = 0

    def start(self, length: int) -> ContentLengthReader:
        """Begin a body of ``length`` bytes; return self."""
        self.remaining = length
        return self

    def read(self, stream: ReceiveBuffer) -> BodyEvent:
        """The next piece of the body, its end, or ``NEED_DATA``."""
        remaining = self.remaining
        if not remaining:
            return END_NO_TRAILERS
        buf = stream._buf
        if not buf:
            if stream._eof:
                raise IncompleteRequest(f"connection closed with {remaining} body bytes missing")
            return NEED_DATA
        if len(buf) <= remaining:
            data = buf if type(buf) is bytes else bytes(buf)
            stream._buf = b""
        else:
            data = bytes(buf[:remaining])
            stream._buf = buf[remaining:]
        self.remaining = remaining - len(data)
        return Data(data)


_SIZE_LINE, _CHUNK_DATA, _CHUNK_CRLF, _TRAILERS = range(4)


class ChunkedReader:
    """A chunked body (RFC 9112 §7.1): chunk-size line, data, CRLF, ..., last chunk, trailers.

    Steps: size line -> data (size > 0) -> CRLF -> size line; size line -> trailers (size 0)
    -> end. ``max_body`` bounds the sum of the chunk sizes (413); ``max_chunk_line`` a size
    line, extensions included (400); ``max_trailer_bytes`` and ``max_headers`` the trailer
    section (431).
    """

    __slots__ = ("_step", "_body_bytes", "_chunks", "_chunk")

    def __init__(self) -> None:
        self._step = _SIZE_LINE
        self._body_bytes = 0
        self._chunks = 0
        self._chunk = ContentLengthReader()

    def start(self) -> ChunkedReader:
        """Begin a new chunked body; return self."""
        self._step = _SIZE_LINE
        self._body_bytes = 0
        self._chunks = 0
        return self

    def read(self, stream: ReceiveBuffer) -> BodyEvent:
        """The next piece of the body, its end (with trailers), or ``NEED_DATA``."""
        step = self._step
        if step == _CHUNK_DATA:
            return self._chunk_data(stream)
        if step == _SIZE_LINE:
            return self._size_line(stream)
        if step == _CHUNK_CRLF:
            return self._chunk_crlf(stream)
        return self._trailers(stream)

    def _chunk_data(self, stream: ReceiveBuffer) -> BodyEvent:
        chunk = self._chunk
        event = chunk.read(stream)
        if not chunk.remaining:
            self._step = _CHUNK_CRLF
        return event

    def _size_line(self, stream: ReceiveBuffer) -> BodyEvent:
        buf = stream._buf
        limits = stream.limits
        start = stream._scanned
        end = buf.find(b"\r\n", start)
        if end < 0 or end > limits.max_chunk_line:
            if len(buf) > limits.max_chunk_line:
                raise BadRequest(f"chunk-size line exceeds max_chunk_line={limits.max_chunk_line}")
            # RFC 9112 §7.1: the line ends with CRLF; a CR or LF inside it is never valid.
            if buf.find(b"\n", start) >= 0 or buf.find(b"\r", start, len(buf) - 1) >= 0:
                raise BadRequest(f"chunk-size line not ended by CRLF: {show(bytes(buf))}")
            if stream._eof:
                raise IncompleteRequest("connection closed inside a chunk-size line")
            stream._scanned = max(0, len(buf) - 1)
            return NEED_DATA
        stream._scanned = 0
        line = bytes(buf[:end])
        stream._buf = buf[end + 2 :]
        size, semi, ext = line.partition(b";")
        if semi:
            size = size.rstrip(OWS)  # BWS before the first ';' (RFC 9112 §7.1.1)
            if _CHUNK_EXT.fullmatch(semi + ext) is None:
                raise BadRequest(f"malformed chunk extension: {show(line)}")
        if len(size) > 15 or _HEX.fullmatch(size) is None:  # RFC 9112 §7.1; 15 hex digits < 2**60
            raise BadRequest(f"invalid chunk size: {show(size)}")
        n = int(size, 16)
        if n == 0:
            self._step = _TRAILERS
            return self._trailers(stream)
        max_body = limits.max_body
        self._body_bytes += n
        if max_body and self._body_bytes > max_body:
            raise BodyTooLarge(f"chunked body exceeds max_body={max_body}")
        self._chunks += 1
        if self._chunks > FREE_CHUNKS and limits.min_chunk_avg_bytes and \
                self._body_bytes < self._chunks * limits.min_chunk_avg_bytes:
            raise BadRequest(f"{self._chunks} chunks averaging less than min_chunk_avg_bytes="
                             f"{limits.min_chunk_avg_bytes}: chunks too small to be worth parsing")
        self._chunk.start(n)
        self._step = _CHUNK_DATA
        return self._chunk_data(stream)

    def _chunk_crlf(self, stream: ReceiveBuffer) -> BodyEvent:
        buf = stream._buf
        if buf[:2] == b"\r\n":
            stream._buf = buf[2:]
            self._step = _SIZE_LINE
            return self._size_line(stream)
        if len(buf) >= 2 or (buf and buf != b"\r"):  # RFC 9112 §7.1: chunk-data CRLF
            raise BadRequest(f"chunk data not followed by CRLF: {show(buf)}")
        if stream._eof:
            raise IncompleteRequest("connection closed after chunk data")
        return NEED_DATA

    def _trailers(self, stream: ReceiveBuffer) -> BodyEvent:
        buf = stream._buf
        if buf[:2] == b"\r\n":
            stream._buf = buf[2:]
            return END_NO_TRAILERS
        limits = stream.limits
        start = stream._scanned
        end = buf.find(b"\r\n\r\n", start)
        if end < 0:
            if len(buf) > limits.max_trailer_bytes:
                raise HeaderTooLarge(f"trailer block exceeds max_trailer_bytes={limits.max_trailer_bytes}")
            check_new_line_feeds(buf, start)
            if stream._eof:
                raise IncompleteRequest("connection closed inside the trailer section")
            stream._scanned = max(0, len(buf) - 3)
            return NEED_DATA
        if end > limits.max_trailer_bytes:
            raise HeaderTooLarge(f"trailer block exceeds max_trailer_bytes={limits.max_trailer_bytes}")
        stream._scanned = 0
        block = bytes(buf[:end])
        stream._buf = buf[end + 4 :]
        lines = block.split(b"\r\n")
        check_line_endings(block, len(lines))
        if len(lines) > limits.max_headers:
            raise HeaderTooLarge(f"{len(lines)} trailer fields exceed max_headers={limits.max_headers}")
        return EndOfMessage(parse_fields(lines, limits.max_field_bytes, True))


class UntilCloseReader:
    """A body that ends when the peer closes (RFC 9112 §6.3 rule 8; responses only)."""

    __slots__ = ("_body_bytes",)

    def __init__(self) -> None:
        self._body_bytes = 0

    def start(self) -> UntilCloseReader:
        """Begin a new body; return self."""
        self._body_bytes = 0
        return self

    def read(self, stream: ReceiveBuffer) -> BodyEvent:
        """Whatever is buffered, the end once input has ended, or ``NEED_DATA``."""
        buf = stream._buf
        if not buf:
            return END_NO_TRAILERS if stream._eof else NEED_DATA
        data = buf if type(buf) is bytes else bytes(buf)
        stream._buf = b""
        self._body_bytes += len(data)
        max_body = stream.limits.max_body
        if max_body and self._body_bytes > max_body:
            raise BodyTooLarge(f"body exceeds max_body={max_body} bytes")
        return Data(data)
