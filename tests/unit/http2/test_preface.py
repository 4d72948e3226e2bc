"""The HTTP/2 preface seen by the HTTP/1 parser: a distinct 505, with the rest kept."""

from __future__ import annotations

import pytest

from rocket.http.errors import HTTP2Preface, VersionNotSupported
from rocket.http.parser import RequestParser

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


@pytest.mark.parametrize("rest", [b"", b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"])
def test_the_preface_raises_http2_preface_and_keeps_what_follows_its_first_line(rest):
    parser = RequestParser()
    parser.feed(PREFACE + rest)
    with pytest.raises(HTTP2Preface) as raised:
        parser.next_event()
    assert raised.value.status == 505
    assert parser.trailing_data == b"SM\r\n\r\n" + rest


@pytest.mark.parametrize("line", [b"GET / HTTP/2.0", b"PRI / HTTP/2.0", b"PRI * HTTP/3.0"])
def test_other_heads_with_a_version_2_or_3_are_a_plain_505(line):
    parser = RequestParser()
    parser.feed(line + b"\r\nHost: a\r\n\r\n")
    with pytest.raises(VersionNotSupported) as raised:
        parser.next_event()
    assert raised.type is VersionNotSupported
