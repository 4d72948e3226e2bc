"""A strict, fast HTTP/1.1 request parser (RFC 9112), sans-I/O.

How it works: bytes go in with :meth:`RequestParser.feed`, events come out of
:meth:`RequestParser.next_event`. A request yields ``Request``, then zero or more ``Data``,
then ``EndOfMessage``; the parser then starts on the next request from the bytes it still
holds, so pipelining needs nothing from the caller. ``feed(b"")`` marks end of input: between
messages that gives ``ConnectionClosed``, inside one it raises ``IncompleteRequest``.
This module reads heads; bodies are read by the framing readers of ``readers.py``, which
the response parser shares, and :data:`TRANSITIONS` lists every state change.

Every rule that can be broken raises an :class:`~rocket.http.errors.HTTPError` subclass whose
``status`` is the answer to send; the parser raises nothing else.

The head is parsed in one piece once ``CRLF CRLF`` has arrived: one ``find`` (none when the
buffer ends with the head, the usual case: any earlier end is then an empty line among the split
lines, which breaks a rule, and only a broken rule sends the parser looking for one), one ``split``,
one dict lookup per line in a cache of field lines seen before, and for the request line and
the lines not cached, one ``translate`` to find control characters (``fields.CTL_FLAGS``: a
cached line passed it), a ``partition`` and a dict lookup for names already seen. Those are
all C loops; the Python work is per line, not per byte. Framing fields never enter the line
cache, so they all reach the framing rules; a framing line seen before (Host, on every
request) skips only its own parsing, and framing fields equal to the last head's (with the
same HTTP version) skip the rules, whose outcome they already decided; so do fields another
connection already sent (``_FRAMINGS``: a new connection's first head).

Line endings: a bare LF (or a bare CR) anywhere in the head, in a chunk line or in trailers is
rejected with 400. RFC 9112 §2.2 lets a recipient accept a bare LF, but accepting it where a
front proxy does not (or the reverse) is a request-smuggling vector, so Rocket stays strict.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Union

from .errors import (
    BadRequest,
    BodyTooLarge,
    ExpectationFailed,
    HeaderTooLarge,
    HTTP2Preface,
    HTTPError,
    IncompleteRequest,
    NotImplementedCoding,
    RequestLineTooLong,
    VersionNotSupported,
)
from .events import NEED_DATA, ConnectionClosed, Data, EndOfMessage, Request, _Sentinel
from .fields import (
    CTL_FLAGS,
    OWS,
    TOKEN,
    check_new_line_feeds,
    name_bad_byte,
    read_fields,
    show,
    split_lines,
)
from .limits import Limits
from .readers import END_NO_TRAILERS, NO_BODY, ChunkedReader, ContentLengthReader, ReceiveBuffer

__all__ = ["Limits", "RequestParser", "HTTPError"]

Event = Union[Request, Data, EndOfMessage, ConnectionClosed, _Sentinel]


# RFC 9112 §2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT
_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")
_KNOWN_METHODS = frozenset(
    [b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"TRACE", b"CONNECT"]
)
_CONTENT_LENGTH = b"content-length"
_TRANSFER_ENCODING = b"transfer-encoding"
_HOST = b"host"
_CONNECTION = b"connection"
_MEMO_MAX_BYTES = 2048  # browsers' heads with cookies fit; bigger ones are rarely repeated
# What framing fields decided, shared by every parser: (framing fields..., HTTP version) -> a
# parser's ``_framed`` entry. Behind each parser's own last entry: it serves the first head
# of a connection (and clients that open one per request), whose Host and Connection lines
# other connections sent before. Outcomes only (a head that breaks a rule raises before it
# is stored); bounded, emptied when full (Content-Length values make new keys).
_FRAMINGS: Dict[tuple, tuple] = {}
_FRAMINGS_MAX = 256

IDLE = "IDLE"
SEND_BODY = "SEND_BODY"
TRANSITIONS: Dict[str, Dict[type, str]] = {
    IDLE: {Request: SEND_BODY, ConnectionClosed: IDLE},
    SEND_BODY: {Data: SEND_BODY, EndOfMessage: IDLE},
}
"""Every state change of the parser: state -> {event type: next state} (h11's ``_state.py``).

IDLE expects a head; a ``Request`` enters SEND_BODY with the reader its framing picks
(RFC 9112 §6.3: chunked, Content-Length, or none, whose ``EndOfMessage`` follows at once);
the reader's ``EndOfMessage`` returns to IDLE, and the next request may already be buffered.
EOF between messages gives ``ConnectionClosed`` and stays IDLE; mid-message it raises.
The code keeps the state in ``_reader`` (None = IDLE) instead of looking the table up per
event, which measured 6-13% slower on short requests; tests/unit/http/test_parser_states.py
holds every transition the parser makes, on every corpus request, to this table.
"""


class RequestParser(ReceiveBuffer):
    """Parses a stream of HTTP/1.x requests from one connection; see the module docstring."""

    __slots__ = ("_skipped", "_memo", "_framed", "_length", "_chunked")

    def __init__(self, limits: Optional[Limits] = None) -> None:
        super().__init__(limits)
        self._skipped = 0
        # The last head parsed on this connection and what it parsed to. Keep-alive clients
        # (API pollers, health checks, load balancers, benchmarks) often repeat a head byte for
        # byte; equal bytes parse to an equal result, so a repeat skips validation. One entry,
        # bounded by _MEMO_MAX_BYTES, so it costs little memory per idle connection.
        self._memo: Optional[tuple] = None
        # The framing fields of the last head parsed afresh (WATCHED_NAMES: the same pairs,
        # from the watched-lines cache, on a keep-alive connection) and what they decided.
        self._framed: Optional[tuple] = None
        # The body readers, made when a body first comes (most connections never send one).
        self._length: Optional[ContentLengthReader] = None
        self._chunked: Optional[ChunkedReader] = None

    @property
    def idle(self) -> bool:
        """True between messages: no part of a request has been consumed."""
        return self._reader is None

    @property
    def state(self) -> str:
        """``IDLE`` or ``SEND_BODY``, as in :data:`TRANSITIONS`."""
        return IDLE if self._reader is None else SEND_BODY

    def next_event(self) -> Event:
        """Return the next event, or ``NEED_DATA``; raise ``HTTPError`` on a protocol error."""
        reader = self._reader
        if reader is None:
            return self._head()
        if reader is NO_BODY:  # the common case, without a call
            self._reader = None
            return END_NO_TRAILERS
        event = reader.read(self)
        if type(event) is EndOfMessage:
            self._reader = None
        elif reader is self._length and not reader.remaining:
            self._reader = NO_BODY  # the end follows without another read
        return event

    # -- head -------------------------------------------------------------------------------

    def _head(self, whole: bool = True) -> Event:
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
        if whole and type(buf) is bytes and buf.endswith(b"\r\n\r\n"):
            # Nearly always the buffer is one head and nothing more: take its end as the
            # head's, and skip the find(). Were there an earlier CRLF CRLF (a pipelined request,
            # or a body ending in one), splitting on CRLF gives an empty line: see "except" below.
            end = len(buf) - 4
            head = buf[:end]
            self._buf = b""
        else:
            whole = False
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
                self._start_chunked()
            elif length:
                self._start_length(length)
            else:
                self._reader = NO_BODY
            return Request(
                method, target, http_version, list(fields), keep_alive, expect, length, chunked
            )
        # (A head equal to the memo's has no empty line: the memo's was parsed whole.)
        lines = head.split(b"\r\n") if split_lines is None else split_lines(head)
        try:
            limits = self.limits
            # Request line: RFC 9112 §3. No CTL, CR or LF (RFC 9110 §5.5, RFC 9112 §2.2);
            # each field line is checked the same way by read_fields, unless it comes from a
            # cache, which holds only lines that passed.
            line = lines[0]
            if line.translate(CTL_FLAGS) != line:
                name_bad_byte(head)
            if len(line) > limits.max_request_line:
                raise RequestLineTooLong(
                    f"request line of {len(line)} bytes exceeds max_request_line={limits.max_request_line}"
                )
            try:
                method, target, version = line.split(b" ")
            except ValueError:  # RFC 9112 §3: method SP request-target SP HTTP-version
                raise BadRequest(f"request line is not 'METHOD SP TARGET SP VERSION': {show(line)}"
                                 ) from None
            if method not in _KNOWN_METHODS and TOKEN.fullmatch(method) is None:  # RFC 9110 §9.1
                raise BadRequest(f"invalid method token: {show(method)}")
            if version == b"HTTP/1.1":
                http_version = b"1.1"
            elif version == b"HTTP/1.0":
                http_version = b"1.0"
            else:
                if line == b"PRI * HTTP/2.0":  # RFC 9113 §3.4; the rest of the preface follows
                    raise HTTP2Preface("HTTP/2 connection preface")
                http_version = self._version(version)
            # An origin-form target of ASCII without "#" or HTAB passes _check_target: skip the call.
            # find(), not "in": bytes.__contains__ first tries its argument as an int.
            if (target[:1] != b"/" or not target.isascii() or target.find(b"#") >= 0
                    or target.find(b"\t") >= 0):
                self._check_target(method, target)

            # Header fields: RFC 9112 §5.
            del lines[0]
            nfields = len(lines)
            if nfields > limits.max_headers:
                raise HeaderTooLarge(f"{nfields} header fields exceed max_headers={limits.max_headers}")
            if end > limits.max_header_bytes + len(line):
                raise HeaderTooLarge(f"header block exceeds max_header_bytes={limits.max_header_bytes}")
            # No single line can be longer than the whole head: skip the per-line check when short.
            headers, framing = read_fields(lines, limits.max_field_bytes,
                                           end > limits.max_field_bytes, head)

            chunked = False
            framed = self._framed
            if framed is None or framed[0] != framing or framed[1] != http_version:
                # Not the framing fields of the last head again (a keep-alive client repeats
                # its Host and Connection, whose same values give the same outcome).
                key = (*framing, http_version)
                framed = _FRAMINGS.get(key)
                if framed is None:
                    framed = (framing, http_version, *self._framing(framing, http_version))
                    if len(_FRAMINGS) >= _FRAMINGS_MAX:
                        _FRAMINGS.clear()
                    _FRAMINGS[key] = framed
                self._framed = framed
            _, _, keep_alive, expect_continue, content_length, codings = framed
            if codings is not None:
                chunked = self._transfer_coding(codings, content_length, http_version)
                self._start_chunked()
            elif content_length:
                max_body = limits.max_body
                if max_body and content_length > max_body:
                    raise BodyTooLarge(f"Content-Length {content_length} exceeds max_body={max_body}")
                self._start_length(content_length)
            else:
                self._reader = NO_BODY
            if end <= _MEMO_MAX_BYTES:
                self._memo = (
                    head, method, target, http_version, tuple(headers), keep_alive, expect_continue,
                    content_length, chunked,
                )
            return Request(
                method, target, http_version, headers, keep_alive, expect_continue, content_length, chunked
            )
        except HTTPError:
            # An empty line (an earlier CRLF CRLF: a pipelined request, or a body that ends in
            # one) fails as a field line without a colon, if nothing before it failed: only
            # then is it looked for, and the first head's end found.
            if whole and b"" in lines:
                self._buf = buf
                return self._head(False)
            raise

    def _start_length(self, length: int) -> None:
        """Read a body of ``length`` bytes next."""
        reader = self._length
        if reader is None:
            reader = self._length = ContentLengthReader()
        reader.remaining = length
        self._reader = reader

    def _start_chunked(self) -> None:
        """Read a chunked body next."""
        reader = self._chunked
        if reader is None:
            reader = self._chunked = ChunkedReader()
        self._reader = reader.start()

    def _framing(self, framing: List[tuple], http_version: bytes) -> tuple:
        """What the framing fields (:data:`~rocket.http.fields.WATCHED_NAMES`, in order)
        decide: (keep-alive, expect 100-continue, Content-Length, transfer codings)."""
        content_length = None
        keep_alive = http_version == b"1.1"
        close = False
        expect_continue = False
        hosts = 0
        codings = None
        for name, value in framing:
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
        return keep_alive, expect_continue, content_length, codings

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
        # RFC 3986: a target is ASCII without spaces (already split on) or a fragment. find(),
        # not "in": bytes.__contains__ first tries its argument as an int and pays a TypeError.
        if not target.isascii() or target.find(b"#") >= 0 or target.find(b"\t") >= 0:
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
        codings = [c.strip(OWS) for c in codings]
        if not any(codings):
            raise BadRequest("empty Transfer-Encoding")
        # RFC 9110 §5.6.1 has recipients skip empty list elements, but a front end that does
        # not (or keeps one of two Transfer-Encoding lines) sees no chunked coding and frames
        # the body differently: a smuggling vector. h11, llhttp and nginx refuse them too.
        if b"" in codings:
            raise BadRequest("empty element in the Transfer-Encoding list")
        if codings[-1] != b"chunked":  # RFC 9112 §6.3 (4): length unknowable → 400, then close
            raise BadRequest(f"Transfer-Encoding must end with chunked, not {show(codings[-1])}")
        if codings.count(b"chunked") > 1:  # RFC 9112 §7: chunked MUST NOT be applied twice
            raise BadRequest("chunked applied more than once")
        if len(codings) > 1:  # RFC 9112 §6.1: a coding we do not understand → 501
            raise NotImplementedCoding(
                f"transfer coding {show(b', '.join(codings[:-1]))} is not implemented"
            )
        return True
