"""A strict, fast HTTP/1.1 request parser (RFC 9112), sans-I/O.

How it works: bytes go in with :meth:`RequestParser.feed`, events come out of
:meth:`RequestParser.next_event`. A request yields ``Request``, then zero or more ``Data``,
then ``EndOfMessage``; the parser then starts on the next request from the bytes it still
holds, so pipelining needs nothing from the caller. ``feed(b"")`` marks end of input: between
messages that gives ``ConnectionClosed``, inside one it raises ``IncompleteRequest``.

Every rule that can be broken raises an :class:`~rocket.http.errors.HTTPError` subclass whose
``status`` is the answer to send; the parser raises nothing else.

The head is parsed in one piece once ``CRLF CRLF`` has arrived: one ``find``, one ``split``,
one ``translate`` to find control characters, and per header a ``partition`` plus a dict
lookup for names already seen. Those are all C loops; the Python work is per line, not per byte.

Line endings: a bare LF (or a bare CR) anywhere in the head, in a chunk line or in trailers is
rejected with 400. RFC 9112 §2.2 lets a recipient accept a bare LF, but accepting it where a
front proxy does not (or the reverse) is a request-smuggling vector, so Rocket stays strict.
"""

from __future__ import annotations

import re
from typing import List, Optional, Union

from .errors import (
    BadRequest,
    BodyTooLarge,
    ExpectationFailed,
    HeaderTooLarge,
    HTTPError,
    IncompleteRequest,
    NotImplementedCoding,
    RequestLineTooLong,
    VersionNotSupported,
)
from .events import NEED_DATA, NO_TRAILERS, ConnectionClosed, Data, EndOfMessage, Request, _Sentinel
from .fields import (
    OWS,
    TOKEN,
    check_line_endings,
    check_new_line_feeds,
    parse_fields,
    show,
)
from .limits import DEFAULT_LIMITS, Limits

__all__ = ["Limits", "RequestParser", "HTTPError"]

Event = Union[Request, Data, EndOfMessage, ConnectionClosed, _Sentinel]


# RFC 9112 §2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT
_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")
# RFC 9112 §7.1: chunk-size = 1*HEXDIG
_HEX = re.compile(rb"[0-9A-Fa-f]+")
# RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ),
# chunk-ext-val = token / quoted-string (RFC 9110 §5.6.4)
_CHUNK_EXT = re.compile(
    rb"(?:[ \t]*;[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
    rb"(?:[ \t]*=[ \t]*(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
    rb'|"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"))?)*'
)
_KNOWN_METHODS = frozenset(
    [b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"TRACE", b"CONNECT"]
)
_CONTENT_LENGTH = b"content-length"
_TRANSFER_ENCODING = b"transfer-encoding"
_HOST = b"host"
_CONNECTION = b"connection"
_EXPECT = b"expect"
_FRAMING_NAMES = frozenset([_CONTENT_LENGTH, _TRANSFER_ENCODING, _HOST, _CONNECTION, _EXPECT])

# States.
_IDLE = 0
_BODY = 1
_CHUNK_SIZE = 2
_CHUNK_DATA = 3
_CHUNK_CRLF = 4
_TRAILERS = 5
_DONE = 6

_NO_TRAILERS = EndOfMessage(NO_TRAILERS)  # one shared event; its trailers are read-only
_MEMO_MAX_BYTES = 2048  # browsers' heads with cookies fit; bigger ones are rarely repeated


class RequestParser:
    """Parses a stream of HTTP/1.x requests from one connection; see the module docstring."""

    __slots__ = (
        "limits",
        "_buf",
        "_eof",
        "_state",
        "_remaining",
        "_body_bytes",
        "_skipped",
        "_scanned",
        "_memo",
    )

    def __init__(self, limits: Optional[Limits] = None) -> None:
        self.limits = limits or DEFAULT_LIMITS
        self._buf = b""
        self._eof = False
        self._state = _IDLE
        self._remaining = 0
        self._body_bytes = 0
        self._skipped = 0
        # How far the buffer has been searched for the terminator of the current head, chunk
        # line or trailer block: a client sending one byte at a time costs linear, not
        # quadratic, time. (``_buf`` becomes a bytearray while such a unit accumulates.)
        self._scanned = 0
        # The last head parsed on this connection and what it parsed to. Keep-alive clients
        # (API pollers, health checks, load balancers, benchmarks) often repeat a head byte for
        # byte; equal bytes parse to an equal result, so a repeat skips validation. One entry,
        # bounded by _MEMO_MAX_BYTES, so it costs little memory per idle connection.
        self._memo: Optional[tuple] = None

    @property
    def trailing_data(self) -> bytes:
        """Bytes received but not consumed yet (the start of the next pipelined request)."""
        buf = self._buf
        return buf if type(buf) is bytes else bytes(buf)

    @property
    def eof(self) -> bool:
        """True once ``feed(b"")`` has marked the end of input."""
        return self._eof

    @property
    def idle(self) -> bool:
        """True between messages: no part of a request has been consumed."""
        return self._state == _IDLE

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

    def next_event(self) -> Event:
        """Return the next event, or ``NEED_DATA``; raise ``HTTPError`` on a protocol error."""
        state = self._state
        if state == _IDLE:
            return self._head()
        if state == _DONE:
            self._state = _IDLE
            return _NO_TRAILERS
        if state in (_BODY, _CHUNK_DATA):
            return self._body_data()
        if state == _CHUNK_SIZE:
            return self._chunk_size()
        if state == _CHUNK_CRLF:
            return self._chunk_crlf()
        return self._trailers()

    # -- head -------------------------------------------------------------------------------

    def _head(self) -> Event:
        buf = self._buf
        if buf[:2] == b"\r\n":
            # RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the
            # request-line. Bounded, so CRLFs alone cannot keep a connection busy forever.
            skipped = 2
            while buf.startswith(b"\r\n", skipped):
                skipped += 2
            self._skipped += skipped
            if self._skipped > self.limits.max_request_line:
                raise BadRequest("too many empty lines before the request line")
            buf = self._buf = buf[skipped:]
        end = buf.find(b"\r\n\r\n", self._scanned)
        if end < 0:
            return self._incomplete_head(buf)
        if type(buf) is bytes:
            head = buf[:end]
            self._buf = buf[end + 4 :]
        else:
            head = bytes(buf[:end])
            self._buf = bytes(buf[end + 4 :])
        self._skipped = 0
        self._scanned = 0
        memo = self._memo
        if memo is not None and memo[0] == head:
            _, method, target, http_version, fields, keep_alive, expect, length, chunked = memo
            if chunked:
                self._state = _CHUNK_SIZE
                self._body_bytes = 0
            elif length:
                self._state = _BODY
                self._remaining = length
            else:
                self._state = _DONE
            return Request(
                method, target, http_version, list(fields), keep_alive, expect, length, chunked
            )
        limits = self.limits
        lines = head.split(b"\r\n")
        check_line_endings(head, len(lines))

        # Request line: RFC 9112 §3.
        line = lines[0]
        if len(line) > limits.max_request_line:
            raise RequestLineTooLong(
                f"request line of {len(line)} bytes exceeds max_request_line={limits.max_request_line}"
            )
        parts = line.split(b" ")
        if len(parts) != 3:  # RFC 9112 §3: method SP request-target SP HTTP-version
            raise BadRequest(f"request line is not 'METHOD SP TARGET SP VERSION': {show(line)}")
        method, target, version = parts
        if method not in _KNOWN_METHODS and TOKEN.fullmatch(method) is None:  # RFC 9110 §9.1
            raise BadRequest(f"invalid method token: {show(method)}")
        if version == b"HTTP/1.1":
            http_version = b"1.1"
        elif version == b"HTTP/1.0":
            http_version = b"1.0"
        else:
            http_version = self._version(version)
        self._check_target(method, target)

        # Header fields: RFC 9112 §5.
        nfields = len(lines) - 1
        if nfields > limits.max_headers:
            raise HeaderTooLarge(f"{nfields} header fields exceed max_headers={limits.max_headers}")
        if end > limits.max_header_bytes + len(line):
            raise HeaderTooLarge(f"header block exceeds max_header_bytes={limits.max_header_bytes}")
        # No single line can be longer than the whole head: skip the per-line check when short.
        headers = parse_fields(lines[1:], limits.max_field_bytes, end > limits.max_field_bytes)

        content_length = None
        chunked = False
        keep_alive = http_version == b"1.1"
        close = False
        expect_continue = False
        hosts = 0
        codings = None
        for name, value in headers:
            if name not in _FRAMING_NAMES:
                continue
            if name == _HOST:
                hosts += 1
            elif name == _CONTENT_LENGTH:
                if content_length is not None:  # RFC 9112 §6.3 (5): duplicates are not merged
                    raise BadRequest("more than one Content-Length header")
                content_length = self._content_length(value)
            elif name == _TRANSFER_ENCODING:
                codings = (codings or []) + value.lower().split(b",")
            elif name == _CONNECTION:
                tokens = [t.strip(OWS) for t in value.lower().split(b",")]
                if b"close" in tokens:
                    close = True
                elif b"keep-alive" in tokens:  # RFC 9112 §9.3: persistence for HTTP/1.0
                    keep_alive = True
            else:  # Expect: RFC 9110 §10.1.1
                if value.lower() != b"100-continue":
                    raise ExpectationFailed(f"unsupported expectation: {show(value)}")
                # A server MUST ignore a 100-continue expectation in an HTTP/1.0 request.
                expect_continue = http_version == b"1.1"

        if close:  # RFC 9112 §9.6: "close" wins over any keep-alive token
            keep_alive = False
        if hosts != 1 and (http_version == b"1.1" or hosts > 1):  # RFC 9112 §3.2
            raise BadRequest(f"HTTP/{http_version.decode()} request needs exactly one Host, got {hosts}")
        if codings is not None:
            chunked = self._transfer_coding(codings, content_length, http_version)
            self._state = _CHUNK_SIZE
            self._body_bytes = 0
        elif content_length:
            max_body = limits.max_body
            if max_body and content_length > max_body:
                raise BodyTooLarge(f"Content-Length {content_length} exceeds max_body={max_body}")
            self._state = _BODY
            self._remaining = content_length
        else:
            self._state = _DONE
        if end <= _MEMO_MAX_BYTES:
            self._memo = (
                head, method, target, http_version, tuple(headers), keep_alive, expect_continue,
                content_length, chunked,
            )
        return Request(
            method, target, http_version, headers, keep_alive, expect_continue, content_length, chunked
        )

    def _incomplete_head(self, buf: bytes) -> Event:
        """No complete head yet: enforce the limits on what is buffered, or see EOF."""
        limits = self.limits
        if self._eof:
            if buf:
                raise IncompleteRequest(f"connection closed inside a request head: {show(buf)}")
            return ConnectionClosed()
        line_end = buf.find(b"\r\n")
        if line_end < 0:
            if len(buf) > limits.max_request_line:
                raise RequestLineTooLong(f"request line exceeds max_request_line={limits.max_request_line}")
        elif line_end > limits.max_request_line:
            raise RequestLineTooLong(f"request line exceeds max_request_line={limits.max_request_line}")
        elif len(buf) > line_end + 2 + limits.max_header_bytes:
            raise HeaderTooLarge(f"header block exceeds max_header_bytes={limits.max_header_bytes}")
        start = self._scanned
        self._scanned = max(0, len(buf) - 3)
        check_new_line_feeds(buf, start)  # do not wait for a CRLF CRLF that never comes
        return NEED_DATA

    @staticmethod
    def _version(version: bytes) -> bytes:
        match = _VERSION.fullmatch(version)
        if match is None:
            raise BadRequest(f"malformed HTTP version: {show(version)}")
        if match.group(1) != b"1":  # RFC 9110 §2.5
            raise VersionNotSupported(f"HTTP major version {match.group(1).decode()} is not supported")
        # A higher minor version is answered as the highest we implement (RFC 9110 §2.5).
        return b"1.0" if match.group(2) == b"0" else b"1.1"

    @staticmethod
    def _check_target(method: bytes, target: bytes) -> None:
        """RFC 9112 §3.2: origin-, absolute-, authority- (CONNECT) or asterisk-form (OPTIONS)."""
        first = target[:1]
        if first == b"/":
            pass
        elif target == b"*":
            if method != b"OPTIONS":
                raise BadRequest(f"asterisk-form target is only allowed with OPTIONS, not {show(method)}")
        elif method == b"CONNECT":
            host, colon, port = target.rpartition(b":")
            if not colon or not host or not port.isdigit():
                raise BadRequest(f"CONNECT needs an authority-form target host:port: {show(target)}")
        elif b"://" not in target or not target[:1].isalpha():
            raise BadRequest(f"invalid request target: {show(target)}")
        # RFC 3986: a target is ASCII without spaces (already split on) or a fragment.
        if not target.isascii() or b"#" in target or b"\t" in target:
            raise BadRequest(f"invalid character in request target: {show(target)}")

    def _content_length(self, value: bytes) -> int:
        # RFC 9110 §8.6: Content-Length = 1*DIGIT. No sign, no spaces, no lists.
        if not value.isdigit():
            raise BadRequest(f"Content-Length is not a non-negative integer: {show(value)}")
        if len(value) > 18:  # past any real body, and short of int()'s digit limit
            raise BodyTooLarge(f"Content-Length {show(value)} is too large")
        return int(value)

    @staticmethod
    def _transfer_coding(codings: List[bytes], content_length: Optional[int], http_version: bytes) -> bool:
        if content_length is not None:  # RFC 9112 §6.1: a smuggling vector; reject, then close
            raise BadRequest("both Content-Length and Transfer-Encoding are present")
        if http_version == b"1.0":  # RFC 9112 §6.1: treat as faulty framing
            raise BadRequest("Transfer-Encoding in an HTTP/1.0 request")
        codings = [c for c in (c.strip(OWS) for c in codings) if c]  # RFC 9110 §5.6.1
        if not codings:
            raise BadRequest("empty Transfer-Encoding")
        if codings[-1] != b"chunked":  # RFC 9112 §6.3 (4): length unknowable → 400, then close
            raise BadRequest(f"Transfer-Encoding must end with chunked, not {show(codings[-1])}")
        if codings.count(b"chunked") > 1:  # RFC 9112 §7: chunked MUST NOT be applied twice
            raise BadRequest("chunked applied more than once")
        if len(codings) > 1:  # RFC 9112 §6.1: a coding we do not understand → 501
            raise NotImplementedCoding(
                f"transfer coding {show(b', '.join(codings[:-1]))} is not implemented"
            )
        return True

    # -- body -------------------------------------------------------------------------------

    def _body_data(self) -> Event:
        buf = self._buf
        if not buf:
            if self._eof:
                raise IncompleteRequest(f"connection closed with {self._remaining} body bytes missing")
            return NEED_DATA
        remaining = self._remaining
        if len(buf) <= remaining:
            data = buf if type(buf) is bytes else bytes(buf)
            self._buf = b""
        else:
            data = bytes(buf[:remaining])
            self._buf = buf[remaining:]
        remaining -= len(data)
        self._remaining = remaining
        if not remaining:
            self._state = _DONE if self._state == _BODY else _CHUNK_CRLF
        return Data(data)

    def _chunk_size(self) -> Event:
        buf = self._buf
        limits = self.limits
        start = self._scanned
        end = buf.find(b"\r\n", start)
        if end < 0 or end > limits.max_chunk_line:
            if len(buf) > limits.max_chunk_line:
                raise BadRequest(f"chunk-size line exceeds max_chunk_line={limits.max_chunk_line}")
            # RFC 9112 §7.1: the line ends with CRLF; a CR or LF inside it is never valid.
            if buf.find(b"\n", start) >= 0 or buf.find(b"\r", start, len(buf) - 1) >= 0:
                raise BadRequest(f"chunk-size line not ended by CRLF: {show(bytes(buf))}")
            if self._eof:
                raise IncompleteRequest("connection closed inside a chunk-size line")
            self._scanned = max(0, len(buf) - 1)
            return NEED_DATA
        self._scanned = 0
        line = bytes(buf[:end])
        self._buf = buf[end + 2 :]
        size, semi, ext = line.partition(b";")
        if semi:
            size = size.rstrip(OWS)  # BWS before the first ';' (RFC 9112 §7.1.1)
            if _CHUNK_EXT.fullmatch(semi + ext) is None:
                raise BadRequest(f"malformed chunk extension: {show(line)}")
        if len(size) > 15 or _HEX.fullmatch(size) is None:  # RFC 9112 §7.1; 15 hex digits < 2**60
            raise BadRequest(f"invalid chunk size: {show(size)}")
        n = int(size, 16)
        if n == 0:
            self._state = _TRAILERS
            return self._trailers()
        max_body = limits.max_body
        self._body_bytes += n
        if max_body and self._body_bytes > max_body:
            raise BodyTooLarge(f"chunked body exceeds max_body={max_body}")
        self._remaining = n
        self._state = _CHUNK_DATA
        return self._body_data()

    def _chunk_crlf(self) -> Event:
        buf = self._buf
        if buf[:2] == b"\r\n":
            self._buf = buf[2:]
            self._state = _CHUNK_SIZE
            return self._chunk_size()
        if len(buf) >= 2 or (buf and buf != b"\r"):  # RFC 9112 §7.1: chunk-data CRLF
            raise BadRequest(f"chunk data not followed by CRLF: {show(buf)}")
        if self._eof:
            raise IncompleteRequest("connection closed after chunk data")
        return NEED_DATA

    def _trailers(self) -> Event:
        buf = self._buf
        if buf[:2] == b"\r\n":
            self._buf = buf[2:]
            self._state = _IDLE
            return _NO_TRAILERS
        limits = self.limits
        start = self._scanned
        end = buf.find(b"\r\n\r\n", start)
        if end < 0:
            if len(buf) > limits.max_trailer_bytes:
                raise HeaderTooLarge(f"trailer block exceeds max_trailer_bytes={limits.max_trailer_bytes}")
            check_new_line_feeds(buf, start)
            if self._eof:
                raise IncompleteRequest("connection closed inside the trailer section")
            self._scanned = max(0, len(buf) - 3)
            return NEED_DATA
        if end > limits.max_trailer_bytes:
            raise HeaderTooLarge(f"trailer block exceeds max_trailer_bytes={limits.max_trailer_bytes}")
        self._scanned = 0
        block = bytes(buf[:end])
        self._buf = buf[end + 4 :]
        lines = block.split(b"\r\n")
        check_line_endings(block, len(lines))
        if len(lines) > limits.max_headers:
            raise HeaderTooLarge(f"{len(lines)} trailer fields exceed max_headers={limits.max_headers}")
        trailers = parse_fields(lines, limits.max_field_bytes, True)
        self._state = _IDLE
        return EndOfMessage(trailers)
