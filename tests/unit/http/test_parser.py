"""Targeted tests of RequestParser behaviour that the corpus does not express well:
limits hit before a head is complete, EOF handling, state across pipelined messages."""

from __future__ import annotations

import pytest

from rocket.http.errors import (
    BadRequest,
    BodyTooLarge,
    HeaderTooLarge,
    HTTPError,
    IncompleteRequest,
    RequestLineTooLong,
)
from rocket.http.events import NEED_DATA, ConnectionClosed, Data, EndOfMessage, Request
from rocket.http.parser import Limits, RequestParser


def events(parser: RequestParser) -> list:
    out = []
    while True:
        ev = parser.next_event()
        if ev is NEED_DATA or isinstance(ev, ConnectionClosed):
            out.append(ev)
            return out
        out.append(ev)


def test_minimal_get_then_need_data():
    p = RequestParser()
    p.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    req, eom, more = events(p)
    assert isinstance(req, Request) and req.method == b"GET" and req.target == b"/"
    assert req.headers == [(b"host", b"a")]
    assert req.keep_alive and not req.has_body
    assert isinstance(eom, EndOfMessage) and eom.trailers == []
    assert more is NEED_DATA
    assert p.idle


def test_pipelined_requests_keep_order_and_leftover():
    p = RequestParser()
    p.feed(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HT")
    evs = events(p)
    assert [e.target for e in evs if isinstance(e, Request)] == [b"/1", b"/2"]
    assert p.trailing_data == b"GET /3 HT"
    p.feed(b"TP/1.1\r\nHost: a\r\n\r\n")
    assert p.next_event().target == b"/3"


@pytest.mark.parametrize("memo", [False, True])
def test_a_buffer_ending_in_crlf_crlf_is_one_head_only_when_nothing_else_ends_there(memo):
    """The parser takes a buffer that ends with CRLF CRLF as one whole head without a find()
    (the common case); an earlier CRLF CRLF must still end the first head. Each buffer here
    ends with CRLF CRLF and holds more than one head, or a head and a body."""
    get = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    post = b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n"
    p = RequestParser(Limits(max_headers=3, max_header_bytes=200))
    if memo:  # the heads below come after the same head parsed alone (the memo holds it)
        for head in (get, post + b"ab\r\n\r\n"):
            p.feed(head)
            events(p)
    p.feed(post + b"ab\r\n\r\n")  # a body that ends in CRLF CRLF
    req, data, eom, more = events(p)
    assert req.target == b"/p" and req.content_length == 6 and data.data == b"ab\r\n\r\n"
    assert isinstance(eom, EndOfMessage) and more is NEED_DATA
    p.feed(get * 5)  # pipelined: five heads, more lines than max_headers in all
    assert [type(e) for e in events(p)] == [Request, EndOfMessage] * 5 + [type(NEED_DATA)]
    # Each of these, taken as one head, breaks a rule before its empty line is reached: the
    # parser looks for an earlier end only when a rule breaks, and must find it then.
    p.feed(b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n\x00\x01\r\n\r\n")
    req, data, eom, more = events(p)  # a body with control characters
    assert data.data == b"\x00\x01\r\n\r\n" and more is NEED_DATA
    p.feed(get + b"GET /" + b"x" * 170 + b" HTTP/1.1\r\nHost: a\r\n\r\n")  # 200 bytes of fields
    assert [e.target for e in events(p) if type(e) is Request] == [b"/", b"/" + b"x" * 170]
    p.feed(get + b"\r\n\r\n")  # empty lines after the head: skipped before the next one
    req, eom, more = events(p)
    assert req.headers == [(b"host", b"a")] and more is NEED_DATA and not p.trailing_data
    p.feed(b"GET / HTTP/1.1\r\n\r\n")  # the head ends before the Host line would: 400
    with pytest.raises(BadRequest, match="exactly one Host"):
        p.next_event()


def test_one_leading_empty_line_is_ignored():
    p = RequestParser()
    p.feed(b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert isinstance(p.next_event(), Request)


def test_endless_empty_lines_are_bounded():
    p = RequestParser(Limits(max_request_line=64))
    with pytest.raises(BadRequest):
        for _ in range(100):
            p.feed(b"\r\n" * 10)
            assert p.next_event() is NEED_DATA


def test_request_line_limit_applies_before_the_line_ends():
    p = RequestParser(Limits(max_request_line=100))
    p.feed(b"GET /" + b"a" * 200)
    with pytest.raises(RequestLineTooLong) as info:
        p.next_event()
    assert info.value.status == 414 and "max_request_line=100" in str(info.value)


def test_header_block_limit_applies_before_the_head_ends():
    p = RequestParser(Limits(max_header_bytes=1000))
    p.feed(b"GET / HTTP/1.1\r\nHost: a\r\n")
    for _ in range(20):
        p.feed(b"X-A: " + b"b" * 100 + b"\r\n")
    with pytest.raises(HeaderTooLarge) as info:
        p.next_event()
    assert info.value.status == 431


def test_one_field_limit_and_field_count_limit():
    p = RequestParser(Limits(max_field_bytes=50))
    p.feed(b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: " + b"v" * 60 + b"\r\n\r\n")
    with pytest.raises(HeaderTooLarge, match="max_field_bytes=50"):
        p.next_event()
    p = RequestParser(Limits(max_headers=3))
    p.feed(b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n")
    with pytest.raises(HeaderTooLarge, match="max_headers=3"):
        p.next_event()


def test_bare_lf_is_reported_without_waiting_for_the_end_of_the_head():
    p = RequestParser()
    p.feed(b"GET / HTTP/1.1\nHost: a\n")
    with pytest.raises(BadRequest, match="bare LF"):
        p.next_event()


def test_eof_between_messages_is_a_clean_close():
    p = RequestParser()
    p.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    events(p)
    p.feed(b"")
    assert isinstance(p.next_event(), ConnectionClosed)
    assert p.eof


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\r\nHost: a\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n",
    ],
)
def test_eof_inside_a_message_is_an_error(data):
    p = RequestParser()
    p.feed(data)
    p.feed(b"")
    with pytest.raises(IncompleteRequest) as info:
        events(p)
    assert info.value.status == 400


def test_body_arrives_in_pieces():
    p = RequestParser()
    p.feed(b"POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234")
    req = p.next_event()
    assert req.content_length == 10 and req.has_body
    assert p.next_event().data == b"01234"
    assert p.next_event() is NEED_DATA
    p.feed(b"56789GET")
    assert p.next_event().data == b"56789"
    assert isinstance(p.next_event(), EndOfMessage)
    assert p.next_event() is NEED_DATA
    assert p.trailing_data == b"GET"


def test_chunked_split_at_every_byte():
    raw = (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=\"quoted;value\"\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\n"
    )
    p = RequestParser()
    body = b""
    seen = []
    for i in range(len(raw)):
        p.feed(raw[i : i + 1])
        while True:
            ev = p.next_event()
            if ev is NEED_DATA:
                break
            seen.append(ev)
            if isinstance(ev, Data):
                body += ev.data
    assert body == b"hello0123456789"
    assert isinstance(seen[0], Request) and seen[0].chunked
    assert seen[-1].trailers == [(b"x-sum", b"1")]


def test_chunked_body_limit():
    p = RequestParser(Limits(max_body=8))
    p.feed(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n")
    with pytest.raises(BodyTooLarge, match="max_body=8"):
        events(p)


def test_content_length_limit_and_huge_values():
    p = RequestParser(Limits(max_body=100))
    p.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n")
    with pytest.raises(BodyTooLarge):
        p.next_event()
    p = RequestParser(Limits(max_body=0))
    p.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n")
    with pytest.raises(BodyTooLarge):
        p.next_event()


def test_keep_alive_rules():
    def parse(head: bytes) -> Request:
        p = RequestParser()
        p.feed(head + b"\r\n\r\n")
        return p.next_event()

    assert parse(b"GET / HTTP/1.1\r\nHost: a").keep_alive
    assert not parse(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Close").keep_alive
    assert not parse(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, close").keep_alive
    assert not parse(b"GET / HTTP/1.0").keep_alive
    assert parse(b"GET / HTTP/1.0\r\nConnection: Keep-Alive").keep_alive
    assert not parse(b"GET / HTTP/1.0\r\nConnection: keep-alive, close").keep_alive


def test_expect_continue_only_for_http_11():
    p = RequestParser()
    p.feed(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n")
    assert p.next_event().expect_continue
    p = RequestParser()
    p.feed(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")
    assert not p.next_event().expect_continue


def test_higher_minor_version_is_served_as_11():
    p = RequestParser()
    p.feed(b"GET / HTTP/1.7\r\nHost: a\r\n\r\n")
    assert p.next_event().http_version == b"1.1"


def test_errors_carry_status_and_name_the_rule():
    p = RequestParser()
    p.feed(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
    with pytest.raises(HTTPError) as info:
        p.next_event()
    assert info.value.status == 400
    assert "Content-Length and Transfer-Encoding" in info.value.message


def test_feed_after_eof_is_a_programming_error():
    p = RequestParser()
    p.feed(b"")
    with pytest.raises(RuntimeError):
        p.feed(b"GET")


def test_limits_are_validated():
    with pytest.raises(ValueError, match="max_headers"):
        Limits(max_headers=0)
    with pytest.raises(ValueError, match="max_body"):
        Limits(max_body=-1)


def test_a_repeated_head_parses_to_an_equal_independent_request():
    head = b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nX-A: 1\r\n\r\n"
    p = RequestParser()
    p.feed(head + b"abc" + head + b"xyz" + head.replace(b"X-A: 1", b"X-A: 2") + b"123")
    first, data1, _ = p.next_event(), p.next_event(), p.next_event()
    first.headers.append((b"mutated", b"yes"))
    second, data2, _ = p.next_event(), p.next_event(), p.next_event()
    third = p.next_event()
    assert (data1.data, data2.data) == (b"abc", b"xyz")
    assert second.headers == [(b"host", b"a"), (b"content-length", b"3"), (b"x-a", b"1")]
    assert second.content_length == 3 and second.target == b"/p"
    assert third.headers[-1] == (b"x-a", b"2")
    assert p.next_event().data == b"123"


def test_a_repeated_chunked_head_still_decodes_its_body():
    head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    p = RequestParser()
    p.feed(head + b"2\r\nab\r\n0\r\n\r\n" + head + b"1\r\nc\r\n0\r\n\r\n")
    bodies = []
    for _ in range(2):
        assert p.next_event().chunked
        bodies.append(p.next_event().data)
        assert isinstance(p.next_event(), EndOfMessage)
    assert bodies == [b"ab", b"c"]


@pytest.mark.parametrize("body", [b"", b"Content-Length: 1\r\n\r\nx", b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"])
def test_messages_without_trailers_share_a_read_only_empty_list(body):
    message = b"POST / HTTP/1.1\r\nHost: a\r\n" + (body or b"\r\n")
    p = RequestParser()
    p.feed(message + message)
    ends = [ev for ev in events(p) if isinstance(ev, EndOfMessage)]
    assert len(ends) == 2 and ends[0].trailers == [] and isinstance(ends[0].trailers, list)
    with pytest.raises(TypeError):
        ends[0].trailers.append((b"x", b"1"))
    with pytest.raises(TypeError):
        ends[0].trailers += [(b"x", b"1")]
    assert ends[1].trailers == [] and list(ends[1].trailers) == []


@pytest.mark.parametrize("target", [b"/a\tb", b"/a#b", b"/caf\xc3\xa9", b"a/b", b"*", b"//"])
def test_origin_form_targets_still_go_through_every_target_rule(target):
    """The parser skips ``_check_target`` for an ASCII origin-form target without "#" or HTAB;
    every other target must still meet it (the last two pass it: "*" is asterisk-form, whose
    method rule applies, and "//" is an origin-form path)."""
    p = RequestParser()
    p.feed(b"GET " + target + b" HTTP/1.1\r\nHost: a\r\n\r\n")
    if target == b"//":
        assert p.next_event().target == b"//"
    else:
        with pytest.raises(BadRequest):
            p.next_event()
    p = RequestParser()
    p.feed(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")
    assert p.next_event().target == b"*"


@pytest.mark.parametrize("value,keep_alive", [
    (b"keep-alive", True), (b"Keep-Alive", True), (b"keep-alive, close", False),
    (b"close", False), (b"upgrade", False),
])
def test_connection_tokens_of_an_http_1_0_request(value, keep_alive):
    """``Connection: keep-alive`` exactly takes a shortcut; every spelling means the same."""
    p = RequestParser()
    p.feed(b"GET / HTTP/1.0\r\nConnection: " + value + b"\r\n\r\n")
    assert p.next_event().keep_alive is keep_alive
    p = RequestParser()
    p.feed(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: " + value + b"\r\n\r\n")
    assert p.next_event().keep_alive is (b"close" not in value)
