"""Range parsing and the bounded-block bodies."""

from __future__ import annotations

import io

import pytest

from rocket.static.ranges import MAX_RANGES, FileBlocks, MultipartRanges, parse_range


@pytest.mark.parametrize(
    "header,size,expected",
    [
        ("bytes=0-0", 10, [(0, 0)]),
        ("bytes=0-", 10, [(0, 9)]),
        ("bytes=-3", 10, [(7, 9)]),
        ("bytes=-30", 10, [(0, 9)]),
        ("bytes=5-100", 10, [(5, 9)]),
        ("BYTES = 1-2", 10, [(1, 2)]),
        ("bytes=1-2, 4-5", 10, [(1, 2), (4, 5)]),
        ("bytes=1-2,,4-5", 10, [(1, 2), (4, 5)]),
        ("bytes=10-20", 10, []),
        ("bytes=-0", 10, []),
        ("bytes=0-0", 0, []),
        ("bytes=-5", 0, []),
        ("bytes=1-", 0, []),
        ("bytes=0-", 0, []),
        ("bytes=20-30, 1-1", 10, [(1, 1)]),
        ("bytes=3-1", 10, None),
        ("bytes=a-1", 10, None),
        ("bytes=1-b", 10, None),
        ("bytes=1", 10, None),
        ("bytes=", 10, None),
        ("bytes=-", 10, None),
        ("bytes=+1-2", 10, None),
        ("pages=1-2", 10, None),
        ("bytes 1-2", 10, None),
        ("bytes=0-5, 2-8", 10, None),  # overlap sends more than the file: ignored
        ("bytes=0-9, 0-9", 10, None),
    ],
)
def test_parse_range(header, size, expected):
    assert parse_range(header, size) == expected


def test_too_many_ranges_ignored():
    many = ",".join(f"{i}-{i}" for i in range(MAX_RANGES + 1))
    assert parse_range("bytes=" + many, 1000) is None
    few = ",".join(f"{i}-{i}" for i in range(MAX_RANGES))
    assert len(parse_range("bytes=" + few, 1000)) == MAX_RANGES


def test_file_blocks_bounded():
    f = io.BytesIO(bytes(range(100)))
    blocks = list(FileBlocks(f, 10, 35, block_size=8))
    assert max(len(b) for b in blocks) == 8
    assert b"".join(blocks) == bytes(range(10, 45))


def test_file_blocks_raise_when_file_shrinks():
    with pytest.raises(OSError, match="shrank"):
        list(FileBlocks(io.BytesIO(b"abc"), 0, 10))


def test_multipart_length_matches_and_closes():
    f = io.BytesIO(b"0123456789")
    body = MultipartRanges(f, [(0, 0), (5, 9)], 10, "text/plain", block_size=2)
    data = b"".join(body)
    assert len(data) == body.content_length
    boundary = body.content_type.split("boundary=")[1].encode()
    assert data.startswith(b"--" + boundary + b"\r\n")
    assert data.endswith(b"\r\n--" + boundary + b"--\r\n")
    assert b"Content-Range: bytes 5-9/10\r\n\r\n56789\r\n" in data
    body.close()
    assert f.closed
