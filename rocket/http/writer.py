"""Response writer: turns a WSGI status and header list into the bytes of a response head.

``plan_response`` runs once per request, so it is written for speed: header names are
validated once and remembered in a bounded cache, all header values are checked by one
regex over the joined header block (plus two ``str.count`` calls for CR and LF), the block
is encoded to ISO-8859-1 once, and the ``Date`` line is formatted at most once a second.
Any failure on that fast path falls back to a slow pass that names the offending header.

Framing follows RFC 9112 §6.3: no body for HEAD, 1xx, 204, 205 and 304; otherwise
``Content-Length`` when the length is known, else chunked for HTTP/1.1 and
close-delimited for HTTP/1.0.
"""

from __future__ import annotations

import re
from typing import Iterable, List, Optional, Sequence, Tuple

from rocket.http.dates import date_line, http_date
from rocket.http.errors import InvalidResponse

__all__ = ["ResponseHead", "plan_response", "encode_chunk", "last_chunk",
           "http_date", "InvalidResponse"]  # fmt: skip

# RFC 9110 §5.6.2: field-name = token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# RFC 9110 §5.5: field-value chars are VCHAR, obs-text, SP and HTAB; every other CTL is
# refused. CR and LF are left out here because they separate lines in the joined block;
# they are counted instead.
_BAD_IN_BLOCK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]").search
_BAD_IN_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]").search
# RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ];
# RFC 9110 §15: the first digit is 1-5; reason-phrase = *( HTAB / SP / VCHAR / obs-text ).
_STATUS = re.compile(r"([1-5][0-9][0-9]) ([\t\x20-\x7e\x80-\xff]*)\Z")

_PLAIN, _LENGTH, _TRANSFER, _CONNECTION, _DATE, _SERVER = range(6)
_SPECIAL = {
    "content-length": _LENGTH,
    "transfer-encoding": _TRANSFER,
    "connection": _CONNECTION,
    "date": _DATE,
    "server": _SERVER,
}
# RFC 9110 §7.6.1 hop-by-hop fields (and PEP 3333 "Other HTTP Features"): an application
# must not set them; the server owns the connection. Proxy-* are for proxies, not origins.
_REFUSED = frozenset(["keep-alive", "te", "trailer", "upgrade"])

# Apps use a small, fixed set of header names; the bound keeps an app that invents names
# per request (e.g. echoing client input) from growing the cache without limit.
_NAME_CACHE_MAX = 512
# Likewise for status strings: real apps use a few dozen at most.
_STATUS_CACHE_MAX = 256

_name_kinds: dict = {}
_statuses: dict = {}
_server_lines: dict = {}


class ResponseHead:
    """The planned head of one response and how its body must be framed.

    ``data`` is the complete head (status line through the blank line). ``framing`` is
    ``"length"`` (exactly ``content_length`` body bytes follow), ``"chunked"`` (encode
    each piece with ``encode_chunk`` and finish with ``last_chunk``), ``"close"`` (write
    the body raw, then close the connection) or ``"none"`` (send no body at all).
    ``keep_alive`` says whether the connection may carry another request afterwards.
    """

    __slots__ = ("data", "framing", "keep_alive", "status_code", "content_length")

    def __init__(
        self,
        data: bytes,
        framing: str,
        keep_alive: bool,
        status_code: int,
        content_length: Optional[int],
    ) -> None:
        self.data = data
        self.framing = framing
        self.keep_alive = keep_alive
        self.status_code = status_code
        self.content_length = content_length

    def __repr__(self) -> str:
        return (
            f"ResponseHead(status_code={self.status_code}, framing={self.framing!r}, "
            f"keep_alive={self.keep_alive}, content_length={self.content_length}, "
            f"data={self.data!r})"
        )


def _learn_name(name: object) -> int:
    """Validate a header name not seen before; return its kind and remember it."""
    if not isinstance(name, str):
        raise InvalidResponse(f"header name {name!r} is not a str")
    if not _TOKEN.match(name):
        raise InvalidResponse(f"header name {name!r} is not a token (RFC 9110 §5.6.2)")
    lower = name.lower()
    if lower in _REFUSED or lower.startswith("proxy-"):
        raise InvalidResponse(f"hop-by-hop header {name!r} may not be set by the application")
    kind = _SPECIAL.get(lower, _PLAIN)
    if len(_name_kinds) < _NAME_CACHE_MAX:
        _name_kinds[name] = kind
    return kind


def _learn_status(status: object) -> Tuple[int, bytes]:
    """Validate a status string not seen before; return (code, b"200 OK\\r\\n")."""
    if not isinstance(status, str):
        raise InvalidResponse(f"status {status!r} is not a str")
    match = _STATUS.match(status)
    if match is None:
        raise InvalidResponse(
            f"status {status!r} is not a 3-digit code, a space and a reason (RFC 9112 §4)"
        )
    code = int(match.group(1))
    if code == 101:  # RFC 9110 §15.2.2: a protocol switch this server cannot carry out
        raise InvalidResponse("101 Switching Protocols is not supported (no connection upgrades)")
    entry = (code, status.encode("latin-1") + b"\r\n")
    if len(_statuses) < _STATUS_CACHE_MAX:
        _statuses[status] = entry
    return entry


def _parse_length(name: str, value: object) -> int:
    # RFC 9110 §8.6: Content-Length = 1*DIGIT.
    if not (isinstance(value, str) and value.isdigit() and value.isascii()):
        raise InvalidResponse(f"header {name!r} has a non-numeric value {value!r}")
    return int(value)


def _connection_closes(name: str, value: object) -> bool:
    """Read an app-set Connection value; only ``close`` and ``keep-alive`` are allowed."""
    if not isinstance(value, str):
        raise InvalidResponse(f"header {name!r} value {value!r} is not a str")
    closes = False
    for token in value.split(","):
        token = token.strip(" \t").lower()
        if token == "close":
            closes = True
        elif token not in ("keep-alive", ""):
            # RFC 9110 §7.6.1: other options name hop-by-hop fields, which are refused.
            raise InvalidResponse(f"header {name!r} has an unsupported option {token!r}")
    return closes


def _explain(headers: Iterable) -> InvalidResponse:
    """Slow path: find the header that made the fast path fail and describe it."""
    try:
        for item in headers:
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                return InvalidResponse(f"header {item!r} is not a (name, value) pair")
            name, value = item
            _learn_name(name)
            if not isinstance(value, str):
                return InvalidResponse(f"header {name!r} value {value!r} is not a str")
            if _BAD_IN_VALUE(value):
                return InvalidResponse(
                    f"header {name!r} value {value!r} contains CR, LF, NUL or another "
                    "control character (RFC 9110 §5.5)"
                )
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:
                return InvalidResponse(
                    f"header {name!r} value {value!r} is not ISO-8859-1 (PEP 3333)"
                )
    except InvalidResponse as exc:
        return exc
    except TypeError:
        pass
    return InvalidResponse(f"malformed header list {headers!r}")


def plan_response(
    request_method: bytes,
    request_version: bytes,
    request_keep_alive: bool,
    status: str,
    headers: Sequence[Tuple[str, str]],
    body_length: Optional[int] = None,
    server: Optional[bytes] = None,
) -> ResponseHead:
    """Validate an application's status and headers and plan the response head.

    ``request_version`` is the client's (``b"1.0"`` or ``b"1.1"``) and is echoed in the
    status line. ``body_length`` is the total body size when the server knows it (for
    example a single-block WSGI result), else None. ``server`` is the ``Server`` value to
    add unless the application set one (None adds nothing). Raises ``InvalidResponse``
    (status 500) naming the problem for a bad status, a bad header name or value, a
    refused hop-by-hop header, or a duplicate, non-numeric or wrong Content-Length.
    """
    try:
        entry = _statuses[status]
    except (KeyError, TypeError):
        entry = _learn_status(status)
    code, status_line = entry
    is_head = request_method == b"HEAD"
    # RFC 9110 §8.6: no Content-Length in a 1xx or 204 response; 205 gets exactly 0
    # (RFC 9110 §15.3.6). HEAD and 304 keep the app's, which describes the GET response.
    drops_length = code < 200 or code == 204 or code == 205
    bodiless = drops_length or code == 304 or is_head

    lines: List[str] = []
    append = lines.append
    app_length = None
    app_chunked = app_close = has_date = has_server = False
    kinds = _name_kinds
    try:
        for item in headers:
            # PEP 3333: a list of (name, value) tuples; a 2-char str would unpack too.
            if item.__class__ is not tuple and not isinstance(item, (tuple, list)):
                raise _explain(headers)
            name, value = item
            kind = kinds.get(name)
            if kind is None:
                kind = _learn_name(name)
            if kind:
                if kind == _LENGTH:
                    if app_length is not None:
                        raise InvalidResponse(f"duplicate header {name!r} (RFC 9110 §8.6)")
                    app_length = _parse_length(name, value)
                    if drops_length:
                        continue
                elif kind == _TRANSFER:
                    # RFC 9112 §6.1: only chunked is implemented; the server encodes it.
                    if not (isinstance(value, str) and value.strip(" \t").lower() == "chunked"):
                        raise InvalidResponse(f"header {name!r} value {value!r} is not 'chunked'")
                    app_chunked = True
                    continue
                elif kind == _CONNECTION:
                    if _connection_closes(name, value):
                        app_close = True
                    continue
                elif kind == _DATE:
                    has_date = True
                else:
                    has_server = True
            append(name + ": " + value)
    except (TypeError, ValueError):
        raise _explain(headers) from None

    count = len(lines)
    if count:
        block = "\r\n".join(lines)
        if (
            _BAD_IN_BLOCK(block)
            or block.count("\n") != count - 1
            or block.count("\r") != count - 1
        ):
            raise _explain(headers)
        try:
            out = [block.encode("latin-1"), b"\r\n"]
        except UnicodeEncodeError:
            raise _explain(headers) from None
    else:
        out = []

    if app_chunked and app_length is not None:
        # RFC 9112 §6.2: a sender MUST NOT send Content-Length with Transfer-Encoding.
        raise InvalidResponse("the application set both Content-Length and Transfer-Encoding")
    is_11 = request_version == b"1.1"
    if bodiless:
        framing = "none"
        if drops_length:
            if code == 205:
                out.append(b"Content-Length: 0\r\n")
                content_length: Optional[int] = 0
            else:
                content_length = None
        else:
            content_length = app_length
    elif app_length is not None:
        if body_length is not None and body_length != app_length:
            raise InvalidResponse(
                f"Content-Length {app_length} does not match the {body_length}-byte body"
            )
        framing = "length"
        content_length = app_length
    elif app_chunked or body_length is None:
        # RFC 9112 §6.1: no Transfer-Encoding towards an HTTP/1.0 client.
        content_length = None
        if is_11:
            framing = "chunked"
            out.append(b"Transfer-Encoding: chunked\r\n")
        else:
            framing = "close"
    else:
        framing = "length"
        content_length = body_length
        out.append(b"Content-Length: %d\r\n" % body_length)

    # RFC 9112 §9.3: 1.1 persists unless either side says close; 1.0 only when asked
    # (the parser folds that into request_keep_alive). A close-delimited body ends the
    # connection by definition (RFC 9112 §6.3, rule 8).
    keep_alive = request_keep_alive and not app_close and framing != "close"
    if code >= 200:
        if not keep_alive:
            out.append(b"Connection: close\r\n")
        elif not is_11:
            out.append(b"Connection: keep-alive\r\n")
    if not has_date:
        out.append(date_line())
    if server is not None and not has_server:
        line = _server_lines.get(server)
        if line is None:
            line = _server_line(server)
        out.append(line)
    out.append(b"\r\n")
    return ResponseHead(
        (b"HTTP/1.1 " if is_11 else b"HTTP/1.0 ") + status_line + b"".join(out),
        framing,
        keep_alive,
        code,
        content_length,
    )


def _server_line(server: bytes) -> bytes:
    if not isinstance(server, bytes) or _BAD_IN_VALUE(server.decode("latin-1")):
        raise InvalidResponse(f"server software {server!r} is not a valid header value")
    line = b"Server: " + server + b"\r\n"
    if len(_server_lines) < 8:
        _server_lines[server] = line
    return line


def encode_chunk(data: bytes) -> bytes:
    """Frame ``data`` as one chunk (RFC 9112 §7.1). Empty data gives b"": an empty chunk
    would be read as the last chunk and end the body early."""
    if not data:
        return b""
    return b"%x\r\n%b\r\n" % (len(data), data)


# RFC 9110 §6.5.1: framing, routing, authentication and control fields may not be trailers.
_TRAILER_REFUSED = frozenset(
    ["content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer",
     "upgrade", "host", "content-type", "content-encoding", "content-range", "set-cookie",
     "authorization", "www-authenticate", "cache-control", "expect", "max-forwards", "range",
     "location", "age", "expires", "date", "vary", "retry-after"]
)  # fmt: skip


def last_chunk(trailers: Optional[Sequence[Tuple[object, object]]] = None) -> bytes:
    """The end of a chunked body (RFC 9112 §7.1), with optional trailer fields.

    Trailer names and values may be str (ISO-8859-1) or bytes; they are validated like
    response headers, and fields that control framing, routing or authentication are
    refused (RFC 9110 §6.5.1).
    """
    if not trailers:
        return b"0\r\n\r\n"
    out = [b"0\r\n"]
    for item in trailers:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise InvalidResponse(f"trailer {item!r} is not a (name, value) pair")
        name, value = item
        try:
            if isinstance(name, bytes):
                name = name.decode("latin-1")
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            if not isinstance(name, str) or not _TOKEN.match(name):
                raise InvalidResponse(f"trailer name {name!r} is not a token (RFC 9110 §5.6.2)")
            if name.lower() in _TRAILER_REFUSED or name.lower().startswith("proxy-"):
                raise InvalidResponse(f"field {name!r} is not allowed in trailers (RFC 9110 §6.5.1)")
            if not isinstance(value, str) or _BAD_IN_VALUE(value):
                raise InvalidResponse(f"trailer {name!r} has an invalid value {value!r}")
            out.append(name.encode("latin-1") + b": " + value.encode("latin-1") + b"\r\n")
        except UnicodeEncodeError:
            raise InvalidResponse(f"trailer {name!r} value {value!r} is not ISO-8859-1") from None
    out.append(b"\r\n")
    return b"".join(out)
