"""Client side of HTTP/1.1: a strict response parser and a request formatter.

``ResponseParser`` mirrors the request parser: ``feed(bytes)`` in (``b""`` is EOF),
``next_event()`` out. Call ``expect(method)`` once per request sent, in order, so it
knows which responses have no body (HEAD). It is strict and bounded like the server side
(RFC 9112): every protocol problem raises ``BadResponse`` (or ``IncompleteResponse`` when
the server closes mid-message), and nothing else escapes. The tests and load tools use it
to check what Rocket writes.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Iterable, List, Optional, Sequence, Tuple, Union

from rocket.http.errors import BadResponse, HTTPError, IncompleteResponse
from rocket.http.events import (
    NEED_DATA,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Headers,
    Response,
)
from rocket.http.fields import TOKEN, check_line_endings, check_new_line_feeds, parse_fields
from rocket.http.writer import encode_chunk, last_chunk

__all__ = ["ResponseParser", "format_request"]

# RFC 9110 §5.6.2: field-name = token.
_TOKEN = TOKEN.fullmatch
# RFC 9110 §5.5: field values are VCHAR, obs-text, SP and HTAB; no other CTL, no bare CR.
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]").search
# RFC 9112 §7.1: chunk-size = 1*HEXDIG; 16 digits already exceed any real body.
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}\Z").match

_HEAD, _LENGTH, _CHUNK_SIZE_LINE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _UNTIL_CLOSE, _CLOSED = (
    range(8)
)

Text = Union[str, bytes]


def _parse_fields(lines: Sequence[bytes], max_field_bytes: int, max_fields: int) -> Headers:
    """Parse header or trailer field lines into (lower-cased name, stripped value) pairs."""
    if len(lines) > max_fields:
        raise BadResponse(f"more than {max_fields} header fields")
    return parse_fields(lines, max_field_bytes, True)


def _members(value: bytes) -> List[bytes]:
    """The lower-cased members of a comma-separated list value (RFC 9110 §5.6.1)."""
    return [t.strip(b" \t").lower() for t in value.split(b",") if t.strip(b" \t")]


_FRAMING_FIELDS = frozenset([b"connection", b"transfer-encoding", b"content-length"])


class ResponseParser:
    """Incremental, strict HTTP/1.x response parser (sans-I/O).

    Limits (keyword, all with defaults): ``max_status_line`` and ``max_field_bytes``
    (8190, as common servers), ``max_header_bytes`` (64 KiB), ``max_headers`` (100),
    ``max_chunk_line`` (4096: a size plus short extensions), ``max_trailer_bytes`` (8192)
    and ``max_body`` (0 = unbounded: a client reads whatever it asked for).
    """

    def __init__(
        self,
        *,
        max_status_line: int = 8190,
        max_field_bytes: int = 8190,
        max_header_bytes: int = 65536,
        max_headers: int = 100,
        max_chunk_line: int = 4096,
        max_trailer_bytes: int = 8192,
        max_body: int = 0,
    ) -> None:
        self.max_status_line = max_status_line
        self.max_field_bytes = max_field_bytes
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        self.max_chunk_line = max_chunk_line
        self.max_trailer_bytes = max_trailer_bytes
        self.max_body = max_body
        self._buf = bytearray()
        self._eof = False
        self._state = _HEAD
        self._remaining = 0
        self._body_bytes = 0
        self._methods: deque = deque()
        self._error: Optional[BadResponse] = None

    def expect(self, method: Text) -> None:
        """Record that a request with ``method`` was sent; call once per request, in order."""
        if isinstance(method, str):
            method = method.encode("ascii")
        self._methods.append(method.upper())

    def feed(self, data: bytes) -> None:
        """Add bytes received from the server; ``b""`` means the server closed (EOF)."""
        if data:
            if self._eof:
                raise RuntimeError("data fed after EOF")
            self._buf += data
        else:
            self._eof = True

    @property
    def trailing_data(self) -> bytes:
        """Bytes buffered but not yet consumed by an event."""
        return bytes(self._buf)

    def next_event(self) -> object:
        """Return the next ``Response``, ``Data``, ``EndOfMessage``, ``ConnectionClosed``
        or ``NEED_DATA``. A ``Response`` with a 1xx status is interim: it has no body
        and no ``EndOfMessage``; the final response follows. Raises ``BadResponse``."""
        if self._error is not None:
            raise self._error
        try:
            return self._next()
        except BadResponse as exc:
            self._error = exc
            raise
        except HTTPError as exc:
            # The field helpers shared with the request parser (fields.py) raise its
            # error classes; on this side every protocol error is a BadResponse.
            self._error = BadResponse(exc.message)
            raise self._error from None

    def _next(self) -> object:
        state = self._state
        buf = self._buf
        if state == _HEAD:
            return self._head()
        if state in (_LENGTH, _CHUNK_DATA):
            if self._remaining == 0:
                if state == _LENGTH:
                    return self._end([])
                self._state = _CHUNK_END
                return self._next()
            if not buf:
                return self._need("body")
            size = min(len(buf), self._remaining)
            self._remaining -= size
            return self._data(size)
        if state == _CHUNK_SIZE_LINE:
            return self._chunk_size()
        if state == _CHUNK_END:
            if len(buf) < 2:
                return self._need("chunk")
            if buf[:2] != b"\r\n":
                raise BadResponse(f"chunk data not followed by CRLF: {bytes(buf[:2])!r}")
            del buf[:2]
            self._state = _CHUNK_SIZE_LINE
            return self._chunk_size()
        if state == _TRAILERS:
            return self._trailers()
        if state == _UNTIL_CLOSE:
            if buf:
                return self._data(len(buf))
            return self._end([]) if self._eof else NEED_DATA
        return ConnectionClosed()

    def _need(self, where: str) -> object:
        if self._eof:
            raise IncompleteResponse(f"connection closed in the middle of the {where}")
        return NEED_DATA

    def _data(self, size: int) -> Data:
        buf = self._buf
        if size == len(buf):
            data = bytes(buf)
            buf.clear()
        else:
            data = bytes(buf[:size])
            del buf[:size]
        self._body_bytes += size
        if self.max_body and self._body_bytes > self.max_body:
            raise BadResponse(f"body exceeds max_body={self.max_body} bytes")
        return Data(data)

    def _end(self, trailers: Headers) -> EndOfMessage:
        self._state = _HEAD
        return EndOfMessage(trailers)

    def _head(self) -> object:
        buf = self._buf
        if not buf:
            if self._eof:
                self._state = _CLOSED
                return ConnectionClosed()
            return NEED_DATA
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            line_end = buf.find(b"\r\n")
            if line_end > self.max_status_line or (
                line_end < 0 and len(buf) > self.max_status_line
            ):
                raise BadResponse(f"status line longer than {self.max_status_line} bytes")
            if line_end >= 0 and len(buf) - line_end - 2 > self.max_header_bytes + 2:
                raise BadResponse(f"header block larger than {self.max_header_bytes} bytes")
            check_new_line_feeds(buf, 0)  # bare LF (RFC 9112 §2.2): fail now, not at EOF
            return self._need("response head")
        head = bytes(buf[:end])
        del buf[: end + 4]
        lines = head.split(b"\r\n")
        status_line = lines[0]
        if len(status_line) > self.max_status_line:
            raise BadResponse(f"status line longer than {self.max_status_line} bytes")
        if len(head) - len(status_line) > self.max_header_bytes:
            raise BadResponse(f"header block larger than {self.max_header_bytes} bytes")
        check_line_endings(head, len(lines))  # RFC 9110 §5.5, RFC 9112 §2.2
        parts = status_line.split(b" ", 2)
        # RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ].
        if len(parts) != 3 or parts[0] not in (b"HTTP/1.1", b"HTTP/1.0"):
            raise BadResponse(f"malformed status line {status_line!r} (RFC 9112 §4)")
        version, code_bytes, reason = parts
        if len(code_bytes) != 3 or not code_bytes.isdigit() or code_bytes[:1] in b"06789":
            raise BadResponse(f"malformed status code {code_bytes!r} (RFC 9110 §15)")
        headers = _parse_fields(lines[1:], self.max_field_bytes, self.max_headers)
        code = int(code_bytes)
        http_version = version[5:]
        connection: List[bytes] = []
        coding: List[bytes] = []
        lengths: List[bytes] = []
        for key, value in headers:
            if key in _FRAMING_FIELDS:
                if key == b"content-length":
                    lengths.append(value)
                elif key == b"connection":
                    connection += _members(value)
                else:
                    coding += _members(value)
        if http_version == b"1.1":
            keep_alive = b"close" not in connection
        else:
            keep_alive = b"keep-alive" in connection and b"close" not in connection
        if code < 200:
            if code == 101:
                raise BadResponse("101 Switching Protocols is not supported by this parser")
            return Response(code, reason, http_version, headers, keep_alive)
        method = self._methods.popleft() if self._methods else b"GET"
        self._body_bytes = 0
        if method == b"HEAD" or code in (204, 304) or (method == b"CONNECT" and code < 300):
            # RFC 9112 §6.3 rules 1-2: no body, whatever the framing fields say.
            self._state = _LENGTH
            self._remaining = 0
            return Response(code, reason, http_version, headers, keep_alive)
        if coding:
            if http_version != b"1.1":
                raise BadResponse("Transfer-Encoding in an HTTP/1.0 response (RFC 9112 §6.1)")
            if coding != [b"chunked"]:
                raise BadResponse(f"unsupported transfer coding {coding!r} (RFC 9112 §6.1)")
            if lengths:
                raise BadResponse("both Content-Length and Transfer-Encoding (RFC 9112 §6.3)")
            self._state = _CHUNK_SIZE_LINE
        elif lengths:
            # RFC 9112 §6.3 rule 5: a single Content-Length = 1*DIGIT.
            if len(lengths) > 1:
                raise BadResponse(f"duplicate Content-Length {lengths!r}")
            if not lengths[0].isdigit():
                raise BadResponse(f"non-numeric Content-Length {lengths[0]!r}")
            self._remaining = int(lengths[0])
            if self.max_body and self._remaining > self.max_body:
                raise BadResponse(f"Content-Length exceeds max_body={self.max_body} bytes")
            self._state = _LENGTH
        else:
            # RFC 9112 §6.3 rule 8: the body runs until the server closes.
            keep_alive = False
            self._state = _UNTIL_CLOSE
        return Response(code, reason, http_version, headers, keep_alive)

    def _chunk_size(self) -> object:
        buf = self._buf
        end = buf.find(b"\r\n")
        if end < 0 or end > self.max_chunk_line:
            if end > self.max_chunk_line or len(buf) > self.max_chunk_line:
                raise BadResponse(f"chunk size line longer than {self.max_chunk_line} bytes")
            return self._need("chunk size line")
        line = bytes(buf[:end])
        del buf[: end + 2]
        size_part, _, extensions = line.partition(b";")
        size_part = size_part.rstrip(b" \t")
        # RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF.
        if not _CHUNK_SIZE(size_part) or _BAD_VALUE(extensions):
            raise BadResponse(f"malformed chunk size line {line!r} (RFC 9112 §7.1)")
        size = int(size_part, 16)
        if size == 0:
            self._state = _TRAILERS
            return self._trailers()
        if self.max_body and self._body_bytes + size > self.max_body:
            raise BadResponse(f"body exceeds max_body={self.max_body} bytes")
        self._remaining = size
        self._state = _CHUNK_DATA
        return self._next()

    def _trailers(self) -> object:
        buf = self._buf
        if buf[:2] == b"\r\n":
            del buf[:2]
            return self._end([])
        end = buf.find(b"\r\n\r\n")
        if end < 0 or end > self.max_trailer_bytes:
            if end > self.max_trailer_bytes or len(buf) > self.max_trailer_bytes + 4:
                raise BadResponse(f"trailer section larger than {self.max_trailer_bytes} bytes")
            check_new_line_feeds(buf, 0)  # bare LF (RFC 9112 §2.2): fail now, not at EOF
            return self._need("trailer section")
        block = bytes(buf[:end])
        del buf[: end + 4]
        lines = block.split(b"\r\n")
        check_line_endings(block, len(lines))
        return self._end(_parse_fields(lines, self.max_field_bytes, self.max_headers))


def _to_bytes(what: str, value: Text) -> bytes:
    if isinstance(value, str):
        value = value.encode("latin-1")
    if not isinstance(value, bytes) or _BAD_VALUE(value):
        raise ValueError(f"{what} {value!r} is not valid bytes without control characters")
    return value


def format_request(
    method: Text,
    target: Text,
    headers: Iterable[Tuple[Text, Text]],
    body: Optional[Union[bytes, Iterable[bytes]]] = None,
    chunked: bool = False,
    http_version: Text = "1.1",
    trailers: Optional[Sequence[Tuple[Text, Text]]] = None,
) -> bytes:
    """Build the bytes of one request. The caller supplies Host.

    A ``body`` gets ``Content-Length`` unless the headers set one or ``chunked`` is true;
    with ``chunked`` the body (bytes, or an iterable of bytes, one chunk each) is chunk
    encoded, ``Transfer-Encoding: chunked`` is added unless present, and ``trailers``
    end it. Raises ``ValueError`` for a name that is not a token or a control character.
    """
    method_b = _to_bytes("method", method)
    target_b = _to_bytes("target", target)
    if not _TOKEN(method_b) or target_b.split() != [target_b]:
        raise ValueError(f"bad request line parts {method_b!r} {target_b!r}")
    out = [method_b, b" ", target_b, b" HTTP/", _to_bytes("version", http_version), b"\r\n"]
    seen = set()
    for name, value in headers:
        name_b = _to_bytes("header name", name)
        if not _TOKEN(name_b):
            raise ValueError(f"header name {name_b!r} is not a token")
        seen.add(name_b.lower())
        out += [name_b, b": ", _to_bytes("header value", value), b"\r\n"]
    if chunked:
        if b"transfer-encoding" not in seen:
            out.append(b"Transfer-Encoding: chunked\r\n")
        out.append(b"\r\n")
        pieces = [body] if isinstance(body, (bytes, bytearray)) else (body or [])
        out += [encode_chunk(bytes(piece)) for piece in pieces]
        out.append(last_chunk(trailers))
    else:
        if body is not None:
            if not isinstance(body, (bytes, bytearray)):
                body = b"".join(body)
            if b"content-length" not in seen:
                out.append(b"Content-Length: %d\r\n" % len(body))
        out.append(b"\r\n")
        if body:
            out.append(bytes(body))
    return b"".join(out)
