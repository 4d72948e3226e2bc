"""Error responses: exact layout, one message that closes, HEAD, a bad status refused."""

from __future__ import annotations

import pytest

from rocket.http.client import ResponseParser
from rocket.http.dates import http_date
from rocket.http.errorpage import error_response
from rocket.http.errors import InvalidResponse
from rocket.http.events import Data, EndOfMessage, Response


def test_error_response_layout_is_exact():
    body = b"request head not received\n"
    data = error_response(408, "Request Timeout", body, server=b"R")
    assert data in (
        b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Length: 26\r\nConnection: close\r\nDate: " + d + b"\r\nServer: R\r\n\r\n"
        + body for d in (http_date(), http_date())
    )


@pytest.mark.parametrize("version", [b"1.0", b"1.1"])
def test_error_response_parses_as_one_message_that_closes(version):
    data = error_response(500, "Internal Server Error", b"Internal Server Error\n", version,
                          b"R", "text/plain")
    parser = ResponseParser()
    parser.expect(b"GET")
    parser.feed(data)
    response = parser.next_event()
    assert isinstance(response, Response) and response.status == 500
    assert response.http_version == version and response.keep_alive is False
    assert (b"content-type", b"text/plain") in response.headers
    event = parser.next_event()
    assert isinstance(event, Data) and event.data == b"Internal Server Error\n"
    assert isinstance(parser.next_event(), EndOfMessage) and not parser.trailing_data


def test_error_response_to_head_keeps_the_length_without_the_body():
    full = error_response(413, "Content Too Large", b"too large\n")
    head_only = error_response(413, "Content Too Large", b"too large\n", head_only=True)
    assert full == head_only + b"too large\n"
    assert head_only.endswith(b"\r\n\r\n") and b"\r\nContent-Length: 10\r\n" in head_only
    assert b"\r\nServer:" not in full  # none given


def test_error_response_refuses_a_bad_status():
    with pytest.raises(InvalidResponse):
        error_response(42, "Odd", b"")
