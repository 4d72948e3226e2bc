"""Field-line helpers shared by the request head, trailers and the response head (fields.py)."""

from __future__ import annotations

import pytest

from rocket.http import fields
from rocket.http.errors import BadRequest, HeaderTooLarge
from rocket.http.fields import (
    NOT_CTL,
    OWS,
    TOKEN,
    WATCHED_NAMES,
    check_line_endings,
    check_new_line_feeds,
    field_name,
    parse_fields,
    read_fields,
    show,
)
from rocket.http.parser import RequestParser


def test_show_is_a_truncated_repr():
    assert show(b"abc") == "b'abc'"
    assert show(b"x" * 50, limit=4) == "b'xxxx'..."
    assert show(b"\r\n\x00") == repr(b"\r\n\x00")


def test_token_is_the_rfc_9110_tchar_set():
    tchar = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    assert TOKEN.fullmatch(tchar)
    for byte in set(range(256)) - set(tchar):
        assert TOKEN.fullmatch(bytes([byte])) is None, byte
    assert TOKEN.fullmatch(b"") is None


def test_not_ctl_leaves_only_the_control_characters_but_htab():
    assert bytes(range(256)).translate(None, NOT_CTL) == bytes(range(0, 9)) + bytes(range(10, 32)) + b"\x7f"
    assert OWS == b" \t"


@pytest.mark.parametrize("block,lines", [
    (b"GET / HTTP/1.1", 1),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: \tv\xff", 3),
    (b"", 1),
])
def test_valid_blocks_pass(block, lines):
    check_line_endings(block, lines)


@pytest.mark.parametrize("block,words", [
    (b"GET / HTTP/1.1\r\nX: a\rb", "bare CR at byte 20"),
    (b"GET / HTTP/1.1\r\nX: a\r", "bare CR"),
    (b"GET / HTTP/1.1\nHost: a", "bare LF line ending at byte 14"),
    (b"\nHost: a", "bare LF line ending at byte 0"),
    (b"X: a\x00b", "control character b'\\\\x00' at byte 4"),
    (b"X: a\x7f", "control character b'\\\\x7f'"),
    (b"X: a\x1bb", "control character"),
])
def test_bad_blocks_name_the_byte(block, words):
    with pytest.raises(BadRequest, match=words) as info:
        check_line_endings(block, len(block.split(b"\r\n")))
    assert info.value.status == 400


def test_a_line_count_that_does_not_match_the_crlfs_is_refused():
    with pytest.raises(BadRequest, match="malformed line endings"):
        check_line_endings(b"a\r\nb", 1)


def test_new_line_feeds_are_checked_from_just_before_start():
    check_new_line_feeds(b"GET / HTTP/1.1\r\nHo", 0)
    check_new_line_feeds(b"GET / HTTP/1.1\r\nHo", 16)  # the CR before start is seen
    with pytest.raises(BadRequest, match="bare LF line ending at byte 4"):
        check_new_line_feeds(b"GET \n", 0)
    with pytest.raises(BadRequest, match="at byte 0"):
        check_new_line_feeds(b"\nabc", 0)
    check_new_line_feeds(b"a\nbc\r\n", 3)  # bytes before start - 1 were checked already
    with pytest.raises(BadRequest):
        check_new_line_feeds(bytearray(b"abc\r\nd\n"), 3)


def test_field_name_lowers_a_valid_token():
    assert field_name(b"X-Custom-Thing", b"X-Custom-Thing: 1") == b"x-custom-thing"


@pytest.mark.parametrize("name,line,words", [
    (b" X", b" X: folded", "obsolete line folding"),
    (b"\tX", b"\tX: folded", "obsolete line folding"),
    (b"", b": v", "empty field name"),
    (b"X ", b"X : v", "whitespace between field name and colon"),
    (b"X\t", b"X\t: v", "whitespace between field name and colon"),
    (b"X(Y)", b"X(Y): v", "invalid character in field name"),
    (b"\xe9", b"\xe9: v", "invalid character in field name"),
])
def test_field_name_refuses_what_is_not_a_token(name, line, words):
    with pytest.raises(BadRequest, match=words):
        field_name(name, line)


def test_parse_fields_keeps_order_and_duplicates_and_strips_ows():
    lines = [b"Host: a", b"X-A:  one two \t", b"x-a:two", b"Empty:", b"Colon: a:b"]
    assert parse_fields(lines, 100, True) == [
        (b"host", b"a"), (b"x-a", b"one two"), (b"x-a", b"two"), (b"empty", b""), (b"colon", b"a:b"),
    ]
    again = parse_fields(lines, 100, False)  # names now come from the cache: same result
    assert again == parse_fields(lines, 100, True)
    assert all(type(name) is bytes and type(value) is bytes for name, value in again)


def test_parse_fields_length_limit_only_when_asked():
    line = b"X: " + b"v" * 20
    with pytest.raises(HeaderTooLarge, match="max_field_bytes=10") as info:
        parse_fields([line], 10, True)
    assert info.value.status == 431
    assert parse_fields([line], 10, False) == [(b"x", b"v" * 20)]
    assert parse_fields([line], len(line), True)  # exactly at the limit


@pytest.mark.parametrize("line,words", [
    (b"no colon here", "header field without a colon"),
    (b" folded value", "obsolete line folding"),
    (b"\tfolded", "obsolete line folding"),
    (b"Bad Name: v", "invalid character in field name"),
])
def test_parse_fields_refuses_malformed_lines(line, words):
    with pytest.raises(BadRequest, match=words):
        parse_fields([b"Host: a", line], 100, True)


def test_the_name_cache_is_bounded():
    saved = dict(fields._NAME_CACHE)
    try:
        parse_fields([b"X-Bound-%d: v" % i for i in range(2 * fields._NAME_CACHE_MAX)], 100, True)
        assert len(fields._NAME_CACHE) == fields._NAME_CACHE_MAX
        # Names past the bound still parse, just without the cache.
        assert parse_fields([b"X-Past-The-Bound: v"], 100, True) == [(b"x-past-the-bound", b"v")]
        assert b"X-Past-The-Bound" not in fields._NAME_CACHE
    finally:
        fields._NAME_CACHE.clear()
        fields._NAME_CACHE.update(saved)


def _raised(check, *args):
    try:
        check(*args)
    except BadRequest as exc:
        return exc.message
    return None


def _parsed(head):
    parser = RequestParser()
    parser.feed(head + b"\r\n\r\n")
    return _raised(parser.next_event)


@pytest.mark.parametrize("warm", [False, True])
@pytest.mark.parametrize("where", [0, 5, 14, 15, 16, 21, 22])
def test_the_parser_names_every_bad_byte_as_check_line_endings_does(where, warm, emptied):
    """The parser checks the request line, and each field line not taken from a cache, for
    CTLs, CR and LF (CTL_FLAGS), and names the first bad byte of the head: whichever line holds
    it, with the other lines cached (warm) or not, the error is check_line_endings'."""
    emptied(fields._LINE_CACHE)
    emptied(fields._WATCHED_LINES)
    valid = b"GET / HTTP/1.1\r\nX: a\r\nY: b"
    host = b"\r\nHost: h"
    if warm:
        assert _parsed(valid + host) is None  # its lines are in the caches now
    for byte in range(256):
        for extra in (bytes([byte]), bytes([byte]) + b"\r\n", b"\r" + bytes([byte])):
            head = valid[:where] + extra + valid[where:] + host
            first = head.split(b"\r\n\r\n")[0]  # an inserted CRLF may end the first head early
            expected = _raised(check_line_endings, first, len(first.split(b"\r\n")))
            if expected is not None:
                assert _parsed(head) == expected, head


def test_a_valid_head_never_takes_the_byte_loop(monkeypatch):
    """The byte-by-byte loop is only for naming an error. On PyPy, translate() returns a copy
    even when nothing changed: a check by identity sent every valid head through the loop."""
    def byte_loop(block, line_count):
        raise AssertionError(f"the byte loop ran for a valid block: {block!r}")

    monkeypatch.setattr(fields, "check_line_endings", byte_loop)
    for head in (b"GET / HTTP/1.1\r\nHost: x", b"GET / HTTP/1.1\r\nHost: x\r\nA: b\tc\r\nD: \x80\xff",
                 b"GET /?\x7e HTTP/1.0"):
        assert _parsed(head) is None
    with pytest.raises(AssertionError, match="byte loop"):
        _parsed(b"GET / HTTP/1.1\r\nHost: x\r\nA: \x7f")


@pytest.fixture
def line_cache(emptied):
    """The line cache, emptied for the test and restored after it."""
    return emptied(fields._LINE_CACHE)


def test_read_fields_serves_repeated_lines_from_the_cache_but_not_watched_names(line_cache):
    lines = [b"Host: a", b"User-Agent: x/1 ", b"Connection: close", b"Accept: */*"]
    pairs, framing = read_fields(lines, 100, True)
    assert pairs == [(b"host", b"a"), (b"user-agent", b"x/1"), (b"connection", b"close"),
                     (b"accept", b"*/*")]
    assert framing == [(b"host", b"a"), (b"connection", b"close")]  # the watched fields only
    again, framing = read_fields(lines, 100, True)
    assert again == pairs
    assert framing == [(b"host", b"a"), (b"connection", b"close")]  # cached or not
    assert again[1] is pairs[1] and again[3] is pairs[3]
    assert set(line_cache) == {b"User-Agent: x/1 ", b"Accept: */*"}
    assert {b"content-length", b"transfer-encoding", b"host", b"connection",
                             b"expect"} == WATCHED_NAMES


def test_watched_lines_are_kept_apart_and_still_reported(line_cache, monkeypatch):
    monkeypatch.setattr(fields, "_WATCHED_LINES", {})
    lines = [b"Host: a", b"Accept: */*", b"Content-Length: 3"]
    pairs, framing = read_fields(lines, 100, True)
    again, framing_again = read_fields(lines, 100, True)
    assert again == pairs and framing_again == framing == [(b"host", b"a"), (b"content-length", b"3")]
    assert framing_again[0] is framing[0] and framing_again[1] is framing[1]  # kept, not parsed again
    assert set(fields._WATCHED_LINES) == {b"Host: a", b"Content-Length: 3"}
    with pytest.raises(HeaderTooLarge, match="max_field_bytes=5"):
        read_fields(lines, 5, True)  # a kept line still obeys the length limit
    fields._WATCHED_LINES.clear()
    for i in range(fields._WATCHED_LINES_MAX + 3):
        assert parse_fields([b"Host: h%d" % i], 100, True) == [(b"host", b"h%d" % i)]
    assert len(fields._WATCHED_LINES) == 3  # cleared when full


def test_cached_lines_still_obey_max_field_bytes(line_cache):
    line = b"X: " + b"v" * 20
    assert parse_fields([line], 100, True) == [(b"x", b"v" * 20)]
    assert line in line_cache
    with pytest.raises(HeaderTooLarge, match="max_field_bytes=10"):
        parse_fields([line], 10, True)
    # The first broken rule is named, as without the cache.
    with pytest.raises(BadRequest, match="without a colon"):
        parse_fields([line, b"no colon", b"Y: " + b"w" * 21], 23, True)


def test_the_line_cache_is_bounded_and_skips_long_lines(line_cache):
    long_line = b"X-Long: " + b"v" * fields._LINE_CACHE_MAX_BYTES
    parse_fields([long_line], 1 << 16, True)
    assert not line_cache
    for i in range(fields._LINE_CACHE_MAX + 5):
        assert parse_fields([b"X-Seq: %d" % i], 100, True) == [(b"x-seq", b"%d" % i)]
        assert 0 < len(line_cache) <= fields._LINE_CACHE_MAX
    assert len(line_cache) == 5  # cleared when full: new lines are not shut out


def test_split_lines_is_a_split_on_cr_lf():
    """PyPy's fields.split_lines (splitlines() where every break is a CR LF) against
    split(b"\\r\\n"), on every string of up to 7 bytes over a, CR, LF (bare CRs and LFs, CR LF
    at either end, LF CR, empty lines), and on a browser head."""
    import itertools

    for size in range(8):
        for chars in itertools.product(b"a\r\n", repeat=size):
            block = bytes(chars)
            assert fields._split_lines(block) == block.split(b"\r\n"), block
    head = b"GET / HTTP/1.1\r\nHost: x\r\nCookie: a=b\r\nAccept: */*"
    assert fields._split_lines(head) == head.split(b"\r\n")
