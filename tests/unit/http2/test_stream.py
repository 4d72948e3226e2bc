"""The HTTP/2 stream's sans-I/O parts: HEADERS to a Request, a response head to HEADERS."""

from __future__ import annotations

import pytest

pytest.importorskip("h2")

from rocket.http.errors import BadRequest  # noqa: E402
from rocket.http2.stream import build_request, response_headers  # noqa: E402

PSEUDO = [(b":method", b"POST"), (b":scheme", b"https"), (b":path", b"/a?b=1"),
          (b":authority", b"example.test")]


def test_a_request_maps_pseudo_headers_and_keeps_the_fields_in_order():
    request = build_request(PSEUDO + [(b"content-length", b"5"), (b"cookie", b"a=1"),
                                      (b"cookie", b"b=2")], ended=False)
    assert (request.method, request.target, request.http_version) == (b"POST", b"/a?b=1",
                                                                      b"2.0")
    assert request.headers == [(b"content-length", b"5"), (b"cookie", b"a=1"),
                               (b"cookie", b"b=2"), (b"host", b"example.test")]
    assert (request.content_length, request.chunked, request.keep_alive) == (5, False, True)


def test_a_body_without_length_reads_to_end_stream_and_an_ended_one_has_none():
    open_ended = build_request(PSEUDO, ended=False)
    assert (open_ended.content_length, open_ended.chunked) == (None, True)
    ended = build_request(PSEUDO + [(b"content-length", b"0")], ended=True)
    assert (ended.content_length, ended.chunked) == (None, False)


def test_host_wins_over_authority_and_expect_continue_needs_a_body():
    request = build_request(PSEUDO + [(b"host", b"other.test"),
                                      (b"expect", b"100-continue")], ended=False)
    assert [v for n, v in request.headers if n == b"host"] == [b"other.test"]
    assert request.expect_continue
    assert not build_request(PSEUDO + [(b"expect", b"100-continue")], ended=True) \
        .expect_continue


@pytest.mark.parametrize("missing", [b":method", b":path"])
def test_a_request_without_method_or_path_is_refused(missing):
    with pytest.raises(BadRequest):
        build_request([h for h in PSEUDO if h[0] != missing], ended=True)


def test_a_response_head_becomes_lower_cased_fields_without_hop_by_hop_ones():
    head = (b"HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\n"
            b"Set-Cookie: b=2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
            b"Transfer-Encoding: chunked\r\nUpgrade: h2c\r\nProxy-Connection: close\r\n"
            b"Content-Length: 9")
    status, fields = response_headers(head)
    assert status == 404
    assert fields == [(b":status", b"404"), (b"content-type", b"text/plain"),
                      (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2"),
                      (b"content-length", b"9")]
