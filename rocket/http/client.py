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

from rocket.http.errors import BadResponse, HTTPError, IncompleteRequest, IncompleteResponse
from rocket.http.events import NEED_DATA, ConnectionClosed, EndOfMessage, Response
from rocket.http.fields import TOKEN, check_line_endings, check_new_line_feeds, parse_fields
from rocket.http.limits import Limits
from rocket.http.readers import (
    NO_BODY,
    ChunkedReader,
    ContentLengthReader,
    ReceiveBuffer,
    UntilCloseReader,
)
from rocket.http.writer import encode_chunk, last_chunk

__all__ = ["ResponseParser", "format_request"]

# RFC 9110 §5.6.2: field-name = token.
_TOKEN = TOKEN.fullmatch
# RFC 9110 §5.5: field values are VCHAR, obs-text, SP and HTAB; no other CTL, no bare CR.
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]").search

Text = Union[str, bytes]


def _members(value: bytes) -> List[bytes]:
    """The lower-cased members of a comma-separated list value (RFC 9110 §5.6.1)."""
    return [t.strip(b" \t").lower() for t in value.split(b",") if t.strip(b" \t")]


_FRAMING_FIELDS = frozenset([b"connection", b"transfer-encoding", b"content-length"])


class ResponseParser(ReceiveBuffer):
    """Incremental, strict HTTP/1.x response parser (sans-I/O).

    Limits (keyword, all with defaults): ``max_status_line`` and ``max_field_bytes``
    (8190, as common servers), ``max_header_bytes`` (64 KiB), ``max_headers`` (100),
    ``max_chunk_line`` (4096: a size plus short extensions), ``max_trailer_bytes`` (8192)
    and ``max_body`` (0 = unbounded: a client reads whatever it asked for).

    Bodies are read by the request parser's framing readers (``readers.py``), so chunk
    sizes, chunk extensions and trailers are held to the same rules on both sides.
    """

    __slots__ = ("_methods", "_error", "_length", "_chunked", "_until_close")

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
        super().__init__(
            Limits(
                max_request_line=max_status_line,
                max_field_bytes=max_field_bytes,
                max_header_bytes=max_header_bytes,
                max_headers=max_headers,
                max_chunk_line=max_chunk_line,
                max_trailer_bytes=max_trailer_bytes,
                max_body=max_body,
                min_chunk_avg_bytes=0,  # a client reads what its server streams, however small
            )
        )
        self._methods: deque = deque()
        self._error: Optional[BadResponse] = None
        self._length = ContentLengthReader()
        self._chunked = ChunkedReader()
        self._until_close = UntilCloseReader()

    def expect(self, method: Text) -> None:
        """Record that a request with ``method`` was sent; call once per request, in order."""
        if isinstance(method, str):
            method = method.encode("ascii")
        self._methods.append(method.upper())

    def next_event(self) -> object:
        """Return the next ``Response``, ``Data``, ``EndOfMessage``, ``ConnectionClosed``
        or ``NEED_DATA``. A ``Response`` with a 1xx status is interim: it has no body
        and no ``EndOfMessage``; the final response follows. Raises ``BadResponse``."""
        if self._error is not None:
            raise self._error
        try:
            reader = self._reader
            if reader is None:
                return self._head()
            event = reader.read(self)
            if type(event) is EndOfMessage:
                self._reader = None
            return event
        except BadResponse as exc:
            self._error = exc
            raise
        except HTTPError as exc:
            # The helpers shared with the request parser (fields.py, readers.py) raise its
            # error classes; on this side every protocol error is a BadResponse.
            error_class = IncompleteResponse if isinstance(exc, IncompleteRequest) else BadResponse
            self._error = error_class(exc.message)
            raise self._error from None

    def _head(self) -> object:
        buf = self._buf
        limits = self.limits
        if not buf:
            return ConnectionClosed() if self._eof else NEED_DATA
        end = buf.find(b"\r\n\r\n", self._scanned)
        if end < 0:
            # Bounded searches only: a server sending one byte at a time costs linear time.
            line_end = buf.find(b"\r\n", 0, limits.max_request_line + 2)
            if line_end > limits.max_request_line or (
                line_end < 0 and len(buf) > limits.max_request_line
            ):
                raise BadResponse(f"status line longer than {limits.max_request_line} bytes")
            if line_end >= 0 and len(buf) - line_end - 2 > limits.max_header_bytes + 2:
                raise BadResponse(f"header block larger than {limits.max_header_bytes} bytes")
            start = self._scanned
            self._scanned = max(0, len(buf) - 3)
            check_new_line_feeds(buf, start)  # bare LF (RFC 9112 §2.2): fail now, not at EOF
            if self._eof:
                raise IncompleteResponse("connection closed in the middle of the response head")
            return NEED_DATA
        head = bytes(buf[:end])
        self._buf = bytes(buf[end + 4 :])
        self._scanned = 0
        lines = head.split(b"\r\n")
        status_line = lines[0]
        if len(status_line) > limits.max_request_line:
            raise BadResponse(f"status line longer than {limits.max_request_line} bytes")
        if len(head) - len(status_line) > limits.max_header_bytes:
            raise BadResponse(f"header block larger than {limits.max_header_bytes} bytes")
        check_line_endings(head, len(lines))  # RFC 9110 §5.5, RFC 9112 §2.2
        parts = status_line.split(b" ", 2)
        # RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ].
        if len(parts) != 3 or parts[0] not in (b"HTTP/1.1", b"HTTP/1.0"):
            raise BadResponse(f"malformed status line {status_line!r} (RFC 9112 §4)")
        version, code_bytes, reason = parts
        if len(code_bytes) != 3 or not code_bytes.isdigit() or code_bytes[:1] in b"06789":
            raise BadResponse(f"malformed status code {code_bytes!r} (RFC 9110 §15)")
        if len(lines) - 1 > limits.max_headers:
            raise BadResponse(f"more than {limits.max_headers} header fields")
        headers = parse_fields(lines[1:], limits.max_field_bytes, True)
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
        if method == b"HEAD" or code in (204, 304) or (method == b"CONNECT" and code < 300):
            # RFC 9112 §6.3 rules 1-2: no body, whatever the framing fields say.
            self._reader = NO_BODY
        elif coding:
            if http_version != b"1.1":
                raise BadResponse("Transfer-Encoding in an HTTP/1.0 response (RFC 9112 §6.1)")
            if coding != [b"chunked"]:
                raise BadResponse(f"unsupported transfer coding {coding!r} (RFC 9112 §6.1)")
            if lengths:
                raise BadResponse("both Content-Length and Transfer-Encoding (RFC 9112 §6.3)")
            self._reader = self._chunked.start()
        elif lengths:
            # RFC 9112 §6.3 rule 5: a single Content-Length = 1*DIGIT.
            if len(lengths) > 1:
                raise BadResponse(f"duplicate Content-Length {lengths!r}")
            if not lengths[0].isdigit():
                raise BadResponse(f"non-numeric Content-Length {lengths[0]!r}")
            length = int(lengths[0])
            if limits.max_body and length > limits.max_body:
                raise BadResponse(f"Content-Length exceeds max_body={limits.max_body} bytes")
            self._reader = self._length.start(length)
        else:
            # RFC 9112 §6.3 rule 8: the body runs until the server closes.
            keep_alive = False
            self._reader = self._until_close.start()
        return Response(code, reason, http_version, headers, keep_alive)


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
