"""Field-line helpers shared by the request head and the trailer section (RFC 9112 §5)."""

from __future__ import annotations

import re
import sys
from typing import Dict, FrozenSet, List, NoReturn, Optional, Tuple

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
# Whole field lines seen before, mapped to their (name, value) pair. A browser repeats most of
# its lines on every request (User-Agent, Accept, ...) and a line always parses to the same
# pair, so a repeat costs one dict lookup instead of partition, name lookup and strip. Lines
# named in WATCHED_NAMES never enter, so a caller that must look at those fields finds them
# among the lines parsed afresh. Bounded in entries and in line length (memory), and cleared
# when full, so that clients sending ever new lines (a changing cookie) cannot freeze it.
_LINE_CACHE: Dict[bytes, Tuple[bytes, bytes]] = {}
_LINE_CACHE_MAX = 512
_LINE_CACHE_MAX_BYTES = 256
line_pair = _LINE_CACHE.get
"""The cached pair of a field line, or None."""
# The lines of WATCHED_NAMES seen before (Host above all, on every request), apart: the
# caller must still find them among the fresh pairs, but they skip their parsing.
_WATCHED_LINES: Dict[bytes, Tuple[bytes, bytes]] = {}
_WATCHED_LINES_MAX = 64
WATCHED_NAMES: FrozenSet[bytes] = frozenset(
    [b"content-length", b"transfer-encoding", b"host", b"connection", b"expect"]
)
"""The fields that decide a request's framing and persistence (RFC 9112 §6, §9)."""


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


# Every byte to itself but the CTLs (HTAB aside) and CR and LF: a line translates to itself
# exactly when it holds none of them.
CTL_FLAGS = bytes(b if (b >= 0x20 and b != 0x7F) or b == 0x09 else (1 if b == 0 else 0)
                  for b in range(256))
"""The table of a control-character check: ``line.translate(CTL_FLAGS) != line`` when ``line``
holds a CTL, CR or LF (RFC 9110 §5.5, RFC 9112 §2.2). One pass of a C loop, without the
per-call table set-up of a deletion set. Compared with !=, not "is not": CPython returns the
argument itself when nothing changed, PyPy always a copy."""


def name_bad_byte(block: bytes) -> NoReturn:
    """Raise the error of the first CTL, bare CR or bare LF in ``block`` (a head or trailer
    section), for a line of it found to hold one: the lines before it are clean, so the first
    bad byte is that line's."""
    check_line_endings(block, 0)  # no line count fits: the bytes are looked at one by one
    raise BadRequest("malformed line endings")  # not reached: the line held a bad byte


def _split_lines(block: bytes) -> List[bytes]:
    lines = block.splitlines()
    # splitlines() also breaks at a bare CR or LF, and drops a last line break. With no break
    # at the end, the lines and two bytes per break between them make the block only when
    # every break was a CR LF.
    if block[-1:] in _BREAKS or sum(map(len, lines)) + 2 * len(lines) - 2 != len(block):
        return block.split(b"\r\n")
    return lines


_BREAKS = (b"\r", b"\n")


split_lines = _split_lines if sys.implementation.name == "pypy" else None
"""None, or what the parser splits a head on CR LF with (its lines, as ``split(b"\\r\\n")``).
On PyPy ``split(b"\\r\\n")`` costs 0.65-0.98 us for a 670-byte browser head and
``splitlines()`` 0.34 us, so PyPy uses this; CPython splits on CR LF itself (0.46 us there,
``splitlines`` 0.42 us plus the length check)."""


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
    return read_fields(lines, max_field_bytes, check_length)[0]


def read_fields(lines: List[bytes], max_field_bytes: int, check_length: bool,
                block: Optional[bytes] = None
                ) -> Tuple[List[Tuple[bytes, bytes]], List[Tuple[bytes, bytes]]]:
    """:func:`parse_fields`, and the fields of :data:`WATCHED_NAMES` among them, in order
    (none of them comes from the line cache). ``block``: the head the lines come from,
    given when they were not checked for control characters yet; each line not taken from
    a cache is then checked (:data:`CTL_FLAGS`) and a bad byte named (:func:`name_bad_byte`).
    The caches take only lines that passed, so a browser's head costs the check of its few
    changing lines: 0.1 us instead of 0.45 us for the whole head on CPython."""
    if check_length and max(map(len, lines), default=0) > max_field_bytes:
        pairs = [None] * len(lines)  # every line afresh, so the first broken rule is named
    else:
        pairs = list(map(line_pair, lines))
        if None not in pairs:
            return pairs, []
    framing = []
    watched = _WATCHED_LINES
    for i, pair in enumerate(pairs):
        if pair is not None:
            continue
        line = lines[i]
        if check_length and len(line) > max_field_bytes:
            raise HeaderTooLarge(f"a header field exceeds max_field_bytes={max_field_bytes}: {show(line)}")
        pair = watched.get(line)
        if pair is not None:
            pairs[i] = pair
            framing.append(pair)
            continue
        if block is not None and line.translate(CTL_FLAGS) != line:
            name_bad_byte(block)
        name, colon, value = line.partition(b":")
        if not colon:
            if line[:1] in (b" ", b"\t"):  # RFC 9112 §5.2
                raise BadRequest(f"obsolete line folding is not accepted: {show(line)}")
            raise BadRequest(f"header field without a colon: {show(line)}")
        lower = _NAME_CACHE.get(name)
        if lower is None:
            lower = field_name(name, line)
        pair = pairs[i] = (lower, value.strip(OWS))
        if lower not in WATCHED_NAMES:
            if len(line) <= _LINE_CACHE_MAX_BYTES:
                if len(_LINE_CACHE) >= _LINE_CACHE_MAX:
                    _LINE_CACHE.clear()
                _LINE_CACHE[line] = pair
        else:
            framing.append(pair)
            if len(line) <= _LINE_CACHE_MAX_BYTES:
                if len(watched) >= _WATCHED_LINES_MAX:
                    watched.clear()
                watched[line] = pair
    return pairs, framing
