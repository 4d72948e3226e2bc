"""Field-line helpers shared by the request head and the trailer section (RFC 9112 §5)."""

from __future__ import annotations

import re
from typing import Dict, List, Tuple

from .errors import BadRequest, HeaderTooLarge

# RFC 9110 §5.6.2: token = 1*tchar
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Bytes that may appear in a head besides CR LF pairs: everything but the CTLs (RFC 9110 §5.5,
# RFC 9112 §2.2). HTAB is allowed (OWS in field values); the request line rules exclude it there.
NOT_CTL = bytes(b for b in range(256) if b >= 0x20 and b != 0x7F) + b"\t"
OWS = b" \t"
# Field names seen before, mapped to their lower-case form. Validating a name is a regex match;
# remembering the few dozen names real clients send skips it. Bounded so that a client sending
# random names cannot grow it.
_NAME_CACHE: Dict[bytes, bytes] = {}
_NAME_CACHE_MAX = 512


def show(data: bytes, limit: int = 40) -> str:
    """repr of the offending bytes, truncated, for error messages."""
    return repr(data[:limit]) + ("..." if len(data) > limit else "")


def check_line_endings(block: bytes, line_count: int) -> None:
    """Reject CTLs, bare CR and bare LF in a head or trailer block split into ``line_count``."""
    # After deleting every allowed byte, only CRs, LFs and other CTLs remain. A valid block
    # has exactly the CR LF pairs that separate its lines, so the rest must be that long.
    rest = block.translate(None, NOT_CTL)
    if len(rest) == 2 * (line_count - 1):
        return
    for i, b in enumerate(block):
        if b == 0x0D:
            if block[i + 1 : i + 2] != b"\n":  # RFC 9112 §2.2
                raise BadRequest(f"bare CR at byte {i}; CR is only allowed before LF")
        elif b == 0x0A:
            if i == 0 or block[i - 1] != 0x0D:  # RFC 9112 §2.2
                raise BadRequest(f"bare LF line ending at byte {i}; lines must end with CRLF")
        elif (b < 0x20 and b != 0x09) or b == 0x7F:  # RFC 9110 §5.5
            raise BadRequest(f"control character {bytes([b])!r} at byte {i}")
    raise BadRequest("malformed line endings")


def check_new_line_feeds(buf: bytes, start: int) -> None:
    """Raise on a bare LF at or after ``start`` in a partly received block (RFC 9112 §2.2)."""
    i = buf.find(b"\n", max(start - 1, 0))
    while i >= 0:
        if i == 0 or buf[i - 1] != 0x0D:
            raise BadRequest(f"bare LF line ending at byte {i}; lines must end with CRLF")
        i = buf.find(b"\n", i + 1)


def field_name(name: bytes, line: bytes) -> bytes:
    """Validate an uncached field name and return it lower-cased (RFC 9112 §5.1)."""
    if TOKEN.fullmatch(name) is None:
        if line[:1] in (b" ", b"\t"):  # RFC 9112 §5.2
            raise BadRequest(f"obsolete line folding is not accepted: {show(line)}")
        if not name:
            raise BadRequest(f"empty field name: {show(line)}")
        if name[-1:] in (b" ", b"\t"):  # RFC 9112 §5.1
            raise BadRequest(f"whitespace between field name and colon: {show(line)}")
        raise BadRequest(f"invalid character in field name: {show(name)}")
    lower = name.lower()
    if len(_NAME_CACHE) < _NAME_CACHE_MAX:
        _NAME_CACHE[name] = lower
    return lower


def parse_fields(lines: List[bytes], max_field_bytes: int, check_length: bool) -> List[Tuple[bytes, bytes]]:
    """Turn field lines into (lower-case name, stripped value) pairs (RFC 9112 §5)."""
    fields = []
    append = fields.append
    cache_get = _NAME_CACHE.get
    for line in lines:
        if check_length and len(line) > max_field_bytes:
            raise HeaderTooLarge(f"a header field exceeds max_field_bytes={max_field_bytes}: {show(line)}")
        name, colon, value = line.partition(b":")
        if not colon:
            if line[:1] in (b" ", b"\t"):  # RFC 9112 §5.2
                raise BadRequest(f"obsolete line folding is not accepted: {show(line)}")
            raise BadRequest(f"header field without a colon: {show(line)}")
        lower = cache_get(name)
        if lower is None:
            lower = field_name(name, line)
        append((lower, value.strip(OWS)))
    return fields
