"""Response writer: status line, validation, Date/Server, framing, persistence, chunks."""

from __future__ import annotations

import pytest

from rocket.http import writer
from rocket.http.dates import http_date
from rocket.http.errors import InvalidResponse
from rocket.http.writer import encode_chunk, last_chunk, plan_response


def plan(status="200 OK", headers=(), method=b"GET", version=b"1.1", keep_alive=True,
         body_length=None, server=b"Rocket 2.0"):
    return plan_response(method, version, keep_alive, status, list(headers), body_length, server)


def lines(head):
    """Header lines of a head, without the status line and the final blank line."""
    assert head.data.endswith(b"\r\n\r\n")
    return head.data[:-4].split(b"\r\n")[1:]


def names(head):
    return [line.split(b":", 1)[0].lower() for line in lines(head)]


def value(head, name):
    found = [line.split(b": ", 1)[1] for line in lines(head)
             if line.split(b":", 1)[0].lower() == name]
    assert len(found) == 1, (name, head.data)
    return found[0]


# --- status line -------------------------------------------------------------------------

def test_status_line_echoes_the_client_version():
    assert plan(version=b"1.1").data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert plan(version=b"1.0").data.startswith(b"HTTP/1.0 200 OK\r\n")


def test_status_code_and_reason_are_kept():
    head = plan("404 Not Found", body_length=0)
    assert head.status_code == 404
    assert head.data.startswith(b"HTTP/1.1 404 Not Found\r\n")
    assert plan("299 ", body_length=0).data.startswith(b"HTTP/1.1 299 \r\n")
    assert plan("200 Caf\xe9\tok", body_length=0).data.startswith(b"HTTP/1.1 200 Caf\xe9\tok\r\n")


@pytest.mark.parametrize("status", [
    "200", "20 OK", "2000 OK", "200OK", " 200 OK", "600 Odd", "099 Low", "abc OK",
    "200 O\r\nX: y", "200 O\nK", "200 N\x00L", "200 \x7f", "200 \u20ac", b"200 OK", 200, None, ["200 OK"],
])
def test_bad_status_is_refused(status):
    with pytest.raises(InvalidResponse) as info:
        plan(status)
    assert info.value.status == 500
    assert repr(status) in info.value.message  # the error names the offending status


# --- header validation -------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "", "X Y", "X:Y", "X\r\nY", "Bad\x00", "Caf\xe9", " Lead", "Trail ", "(paren)", b"X-Bytes", 7,
])
def test_bad_header_name_is_refused_and_named(name):
    with pytest.raises(InvalidResponse) as info:
        plan(headers=[(name, "v")])
    assert repr(name) in info.value.message


@pytest.mark.parametrize("bad", ["a\rb", "a\nb", "a\r\nEvil: 1", "nul\x00", "bell\x07", "del\x7f",
                                 "esc\x1b", "\u20ac", b"bytes", 13, None])
def test_bad_header_value_is_refused_and_names_the_header(bad):
    headers = [("Content-Type", "text/plain"), ("X-Culprit", bad), ("X-After", "ok")]
    with pytest.raises(InvalidResponse) as info:
        plan(headers=headers)
    assert "X-Culprit" in info.value.message


def test_tab_and_obs_text_values_are_allowed():
    head = plan(headers=[("X-Tab", "a\tb"), ("X-Latin", "caf\xe9"), ("X-Empty", "")], body_length=0)
    assert value(head, b"x-tab") == b"a\tb"
    assert value(head, b"x-latin") == b"caf\xe9"
    assert b"X-Empty: \r\n" in head.data


@pytest.mark.parametrize("headers", [[("A", "b", "c")], [("A",)], ["ab"], [None], 5])
def test_malformed_header_list_is_refused(headers):
    with pytest.raises(InvalidResponse):
        plan_response(b"GET", b"1.1", True, "200 OK", headers, None, None)


def test_app_header_order_and_spelling_are_kept():
    head = plan(headers=[("x-lower", "1"), ("X-UPPER", "2"), ("Set-Cookie", "a=1"),
                         ("Set-Cookie", "b=2")], body_length=0)
    assert lines(head)[:4] == [b"x-lower: 1", b"X-UPPER: 2", b"Set-Cookie: a=1", b"Set-Cookie: b=2"]


def test_name_cache_is_bounded():
    for i in range(writer._NAME_CACHE_MAX + 50):
        plan(headers=[(f"X-Gen-{i}", "v")], body_length=0)
    assert len(writer._name_kinds) <= writer._NAME_CACHE_MAX
    # Names past the bound are still validated on every call.
    with pytest.raises(InvalidResponse):
        plan(headers=[("X Gen", "v")])


# --- hop-by-hop ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Keep-Alive", "TE", "te", "Trailer", "Upgrade",
                                  "Proxy-Authenticate", "Proxy-Connection", "proxy-authorization"])
def test_hop_by_hop_headers_are_refused(name):
    with pytest.raises(InvalidResponse) as info:
        plan(headers=[(name, "x")])
    assert name in info.value.message


def test_connection_close_from_the_app_is_honoured():
    head = plan(headers=[("Connection", "close")], body_length=3)
    assert head.keep_alive is False
    assert value(head, b"connection") == b"close"
    head = plan(headers=[("connection", "Keep-Alive, CLOSE")], version=b"1.0", body_length=3)
    assert head.keep_alive is False and value(head, b"connection") == b"close"


def test_connection_keep_alive_from_the_app_does_not_override_the_client():
    head = plan(headers=[("Connection", "keep-alive")], keep_alive=False, body_length=3)
    assert head.keep_alive is False and value(head, b"connection") == b"close"
    head = plan(headers=[("Connection", "keep-alive")], body_length=3)
    assert head.keep_alive is True and b"connection" not in names(head)


@pytest.mark.parametrize("bad", ["Upgrade", "close, x-custom", "close\r\n", 1])
def test_connection_options_other_than_close_and_keep_alive_are_refused(bad):
    with pytest.raises(InvalidResponse):
        plan(headers=[("Connection", bad)])


# --- Date and Server -----------------------------------------------------------------------

def test_date_and_server_are_added():
    head = plan(body_length=0)
    assert value(head, b"date") == http_date()
    assert value(head, b"server") == b"Rocket 2.0"


def test_app_date_and_server_are_kept_not_duplicated():
    head = plan(headers=[("Date", "yesterday"), ("server", "Mine")], body_length=0)
    assert value(head, b"date") == b"yesterday"
    assert value(head, b"server") == b"Mine"


def test_no_server_header_when_none_is_configured():
    assert b"server" not in names(plan(server=None, body_length=0))


def test_bad_server_software_is_refused():
    with pytest.raises(InvalidResponse):
        plan(server=b"Rocket\r\nX: y")


# --- framing -------------------------------------------------------------------------------

def test_known_length_gives_content_length():
    head = plan(body_length=13)
    assert (head.framing, head.content_length, head.keep_alive) == ("length", 13, True)
    assert value(head, b"content-length") == b"13"
    assert b"transfer-encoding" not in names(head)


def test_app_content_length_is_used_once():
    head = plan(headers=[("Content-Length", "5")], body_length=5)
    assert head.framing == "length" and head.content_length == 5
    assert names(head).count(b"content-length") == 1
    head = plan(headers=[("Content-Length", "7")])  # streaming app that knows its length
    assert head.framing == "length" and head.content_length == 7


def test_app_content_length_must_match_the_known_body():
    with pytest.raises(InvalidResponse, match="does not match"):
        plan(headers=[("Content-Length", "5")], body_length=6)


@pytest.mark.parametrize("bad", ["-1", "1.5", "0x10", " 5", "5 ", "", "\u0665", "1e3", 5])
def test_non_digit_content_length_is_refused(bad):
    with pytest.raises(InvalidResponse):
        plan(headers=[("Content-Length", bad)])


def test_duplicate_content_length_is_refused():
    with pytest.raises(InvalidResponse, match="duplicate"):
        plan(headers=[("Content-Length", "5"), ("content-length", "5")])


def test_unknown_length_is_chunked_on_1_1():
    head = plan()
    assert (head.framing, head.content_length, head.keep_alive) == ("chunked", None, True)
    assert value(head, b"transfer-encoding") == b"chunked"


def test_unknown_length_is_close_delimited_on_1_0():
    head = plan(version=b"1.0", keep_alive=True)
    assert (head.framing, head.keep_alive) == ("close", False)
    assert value(head, b"connection") == b"close"
    assert b"transfer-encoding" not in names(head)


def test_app_chunked_is_honoured_on_1_1_and_dropped_on_1_0():
    head = plan(headers=[("Transfer-Encoding", "Chunked")], body_length=5)
    assert head.framing == "chunked" and b"content-length" not in names(head)
    assert names(head).count(b"transfer-encoding") == 1
    head = plan(headers=[("Transfer-Encoding", "chunked")], version=b"1.0")
    assert head.framing == "close" and b"transfer-encoding" not in names(head)


@pytest.mark.parametrize("bad", ["gzip", "gzip, chunked", "identity", ""])
def test_other_transfer_codings_are_refused(bad):
    with pytest.raises(InvalidResponse):
        plan(headers=[("Transfer-Encoding", bad)])


def test_content_length_with_transfer_encoding_is_refused():
    with pytest.raises(InvalidResponse, match="both"):
        plan(headers=[("Content-Length", "3"), ("Transfer-Encoding", "chunked")])


def test_head_adds_no_framing_but_keeps_the_app_length():
    head = plan(method=b"HEAD", body_length=13)
    assert (head.framing, head.content_length, head.keep_alive) == ("none", None, True)
    assert b"content-length" not in names(head) and b"transfer-encoding" not in names(head)
    head = plan(method=b"HEAD", headers=[("Content-Length", "1234")], body_length=0)
    assert head.framing == "none" and head.content_length == 1234
    assert value(head, b"content-length") == b"1234"
    head = plan(method=b"HEAD", headers=[("Transfer-Encoding", "chunked")])
    assert b"transfer-encoding" not in names(head)


@pytest.mark.parametrize("status", ["100 Continue", "103 Early Hints", "204 No Content"])
def test_1xx_and_204_drop_content_length(status):
    head = plan(status, headers=[("Content-Length", "0")], body_length=0)
    assert head.framing == "none" and head.content_length is None
    assert b"content-length" not in names(head) and b"transfer-encoding" not in names(head)


def test_204_without_length_stays_persistent():
    head = plan("204 No Content")
    assert head.framing == "none" and head.keep_alive
    assert head.keep_alive is True and b"connection" not in names(head)
    head = plan("204 No Content", version=b"1.0")  # no body => no close-delimiting needed
    assert head.framing == "none" and head.keep_alive is True


def test_1xx_has_no_connection_header():
    assert b"connection" not in names(plan("100 Continue", keep_alive=False))


def test_304_keeps_the_app_length_and_adds_none():
    head = plan("304 Not Modified", headers=[("Content-Length", "99")], body_length=0)
    assert head.framing == "none" and value(head, b"content-length") == b"99"
    head = plan("304 Not Modified")
    assert head.framing == "none" and b"content-length" not in names(head)


def test_205_has_an_empty_body_with_content_length_zero():
    head = plan("205 Reset Content", headers=[("Content-Length", "12")], body_length=12)
    assert (head.framing, head.content_length) == ("none", 0)
    assert value(head, b"content-length") == b"0"


# --- persistence ---------------------------------------------------------------------------

@pytest.mark.parametrize("version,asked,length,keep,connection", [
    (b"1.1", True, 3, True, None),
    (b"1.1", False, 3, False, b"close"),
    (b"1.1", True, None, True, None),          # chunked
    (b"1.0", True, 3, True, b"keep-alive"),
    (b"1.0", False, 3, False, b"close"),
    (b"1.0", True, None, False, b"close"),     # close-delimited
])
def test_persistence_decision(version, asked, length, keep, connection):
    head = plan(version=version, keep_alive=asked, body_length=length)
    assert head.keep_alive is keep
    if connection is None:
        assert b"connection" not in names(head)
    else:
        assert value(head, b"connection") == connection


def test_head_layout_is_exact():
    head = plan(headers=[("Content-Type", "text/plain")], body_length=13, server=b"R")
    date = http_date()
    assert head.data in (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
        b"Date: " + d + b"\r\nServer: R\r\n\r\n" for d in (date, http_date())
    )


# --- chunks --------------------------------------------------------------------------------

def test_encode_chunk():
    assert encode_chunk(b"abc") == b"3\r\nabc\r\n"
    assert encode_chunk(b"x" * 255) == b"ff\r\n" + b"x" * 255 + b"\r\n"
    assert encode_chunk(memoryview(b"hello")) == b"5\r\nhello\r\n"
    assert encode_chunk(bytearray(b"hi")) == b"2\r\nhi\r\n"


def test_empty_chunk_is_not_a_last_chunk():
    assert encode_chunk(b"") == b""


def test_last_chunk_with_and_without_trailers():
    assert last_chunk() == b"0\r\n\r\n"
    assert last_chunk([]) == b"0\r\n\r\n"
    assert last_chunk([("X-Checksum", "abc"), (b"X-Bytes", b"caf\xe9")]) == (
        b"0\r\nX-Checksum: abc\r\nX-Bytes: caf\xe9\r\n\r\n"
    )


@pytest.mark.parametrize("trailer", [
    ("Content-Length", "3"), ("Transfer-Encoding", "chunked"), ("Host", "a"), ("proxy-x", "1"),
    ("X Bad", "1"), ("X-Ok", "a\r\nb"), ("X-Ok", "\u20ac"), ("X-Ok", 5), ("X-Only",), "xy",
])
def test_bad_trailers_are_refused(trailer):
    with pytest.raises(InvalidResponse):
        last_chunk([trailer])


def test_switching_protocols_is_refused():
    with pytest.raises(InvalidResponse, match="101"):
        plan_response(b"GET", b"1.1", True, "101 Switching Protocols", [("Upgrade", "x")])
    with pytest.raises(InvalidResponse, match="101"):
        plan_response(b"GET", b"1.1", True, "101 ", [])
