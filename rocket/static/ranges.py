"""Byte ranges for static files: parse ``Range``, stream single and multipart bodies.

``parse_range`` turns a header into a list of inclusive ``(first, last)`` pairs, or says to
ignore it, or says nothing is satisfiable (416). The body iterables read their file in bounded
blocks, so a range of any size costs one block of memory.
"""

from __future__ import annotations

import secrets
from typing import BinaryIO, Iterator, List, Optional, Tuple

ByteRange = Tuple[int, int]

MAX_RANGES = 32
"""More ranges than this are ignored (200 with the whole file): many small or overlapping
ranges turn one request into a large amount of work (the CVE-2011-3192 "Apache Killer")."""

BLOCK_SIZE = 256 * 1024
"""Read size for bodies sent without sendfile (TLS, multipart): large enough to keep the
per-block overhead small, small enough that many concurrent downloads stay cheap."""


def parse_range(header: str, size: int) -> Optional[List[ByteRange]]:
    """Parse a ``Range`` value against a representation of ``size`` bytes (RFC 9110 §14.1.2).

    Returns None when the header must be ignored (not ``bytes``, malformed, too many ranges or
    more bytes asked than the file holds), ``[]`` when no range is satisfiable (416), else the
    satisfiable ranges in request order, clipped to the file.
    """
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    parts = spec.split(",")
    if len(parts) > MAX_RANGES:
        return None
    ranges: List[ByteRange] = []
    total = 0
    for part in parts:
        part = part.strip(" \t")
        if not part:
            continue  # RFC 9110 §5.6.1: empty list elements are allowed
        first_s, dash, last_s = part.partition("-")
        if not dash:
            return None
        first_s, last_s = first_s.strip(" \t"), last_s.strip(" \t")
        if first_s:
            if not first_s.isdigit() or (last_s and not last_s.isdigit()):
                return None
            first = int(first_s)
            if last_s and int(last_s) < first:
                return None  # §14.1.1: an invalid range-spec makes the whole set invalid
            if first >= size:
                continue  # unsatisfiable, the others may still be fine
            last = min(int(last_s), size - 1) if last_s else size - 1
        else:
            if not last_s.isdigit():
                return None
            suffix = int(last_s)
            if suffix == 0 or size == 0:
                continue
            first, last = max(0, size - suffix), size - 1
        ranges.append((first, last))
        total += last - first + 1
    if not ranges and not any(p.strip(" \t") for p in parts):
        return None
    if size and total > size and len(ranges) > 1:
        return None  # overlapping ranges would send more than the file: serve it whole
    return ranges


def content_range(first: int, last: int, size: int) -> str:
    """The ``Content-Range`` value of one satisfied range (RFC 9110 §14.4)."""
    return f"bytes {first}-{last}/{size}"


class FileBlocks:
    """Iterate over ``length`` bytes of ``f`` from ``offset`` in blocks; closes ``f``.

    If the file shrinks while being sent the iterator raises, so the server closes the
    connection rather than send a body shorter than its ``Content-Length``.
    """

    def __init__(self, f: BinaryIO, offset: int, length: int, block_size: int = BLOCK_SIZE) -> None:
        self.f = f
        self.offset = offset
        self.length = length
        self.block_size = block_size

    def __iter__(self) -> Iterator[bytes]:
        return _read_span(self.f, self.offset, self.length, self.block_size)

    def close(self) -> None:
        """Close the file (PEP 3333: the server calls this when the response is done)."""
        self.f.close()


def _read_span(f: BinaryIO, offset: int, length: int, block_size: int) -> Iterator[bytes]:
    f.seek(offset)
    remaining = length
    while remaining > 0:
        block = f.read(min(block_size, remaining))
        if not block:
            raise OSError(f"file shrank while being sent ({remaining} bytes missing)")
        remaining -= len(block)
        yield block


class MultipartRanges:
    """A ``multipart/byteranges`` body (RFC 9110 §14.6) read from ``f`` in bounded blocks.

    ``content_type`` is the header to send; ``content_length`` is exact, computed up front.
    """

    def __init__(
        self,
        f: BinaryIO,
        ranges: List[ByteRange],
        size: int,
        part_type: str,
        block_size: int = BLOCK_SIZE,
    ) -> None:
        self.f = f
        self.ranges = ranges
        self.block_size = block_size
        boundary = secrets.token_hex(16)
        self.content_type = f"multipart/byteranges; boundary={boundary}"
        self._heads = [
            (
                f"--{boundary}\r\nContent-Type: {part_type}\r\n"
                f"Content-Range: {content_range(first, last, size)}\r\n\r\n"
            ).encode("latin-1")
            for first, last in ranges
        ]
        self._tail = f"--{boundary}--\r\n".encode("latin-1")
        self.content_length = sum(
            len(h) + (last - first + 1) + 2 for h, (first, last) in zip(self._heads, ranges)
        ) + len(self._tail)

    def __iter__(self) -> Iterator[bytes]:
        for head, (first, last) in zip(self._heads, self.ranges):
            yield head
            yield from _read_span(self.f, first, last - first + 1, self.block_size)
            yield b"\r\n"
        yield self._tail

    def close(self) -> None:
        """Close the file."""
        self.f.close()
