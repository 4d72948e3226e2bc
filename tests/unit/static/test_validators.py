"""Validators, dates, preconditions and Accept-Encoding."""

from __future__ import annotations

import os

from rocket.static.validators import (
    accepted_q,
    content_type,
    evaluate_preconditions,
    http_date,
    if_range_allows,
    make_etag,
    maybe_parse_etags,
    maybe_parse_http_date,
)

T = 784111777  # Sun, 06 Nov 1994 08:49:37 GMT


def test_http_date_forms():
    assert http_date(T) == "Sun, 06 Nov 1994 08:49:37 GMT"
    for form in (
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
    ):
        assert maybe_parse_http_date(form) == T, form
    for bad in ("", "garbage", "Sun, 99 Nov 1994 08:49:37 GMT", "1994"):
        assert maybe_parse_http_date(bad) is None, bad


def test_etags(tmp_path):
    assert maybe_parse_etags('"a", W/"b" ,"c"') == [(False, '"a"'), (True, '"b"'), (False, '"c"')]
    assert maybe_parse_etags('"a" "b"') is None
    assert maybe_parse_etags("a") is None
    (tmp_path / "f").write_bytes(b"x" * 255)
    os.utime(tmp_path / "f", ns=(0, 5 * 10**9 + 7))
    st = os.stat(tmp_path / "f")
    assert make_etag(st) == f'"ff-{5 * 10**9 + 7:x}"'
    assert make_etag(st, "-gzip") == f'"ff-{5 * 10**9 + 7:x}-gzip"'


def test_preconditions_order():
    etag = '"x"'
    assert evaluate_preconditions({}, etag, T) is None
    assert evaluate_preconditions({"HTTP_IF_MATCH": '"y"'}, etag, T) == 412
    assert evaluate_preconditions({"HTTP_IF_MATCH": "garbage"}, etag, T) is None
    both = {"HTTP_IF_MATCH": '"x"', "HTTP_IF_UNMODIFIED_SINCE": http_date(T - 5)}
    assert evaluate_preconditions(both, etag, T) is None  # IUS ignored when If-Match present
    assert evaluate_preconditions({"HTTP_IF_UNMODIFIED_SINCE": http_date(T - 5)}, etag, T) == 412
    assert evaluate_preconditions({"HTTP_IF_NONE_MATCH": 'W/"x"'}, etag, T) == 304
    assert evaluate_preconditions({"HTTP_IF_MODIFIED_SINCE": http_date(T)}, etag, T) == 304
    assert evaluate_preconditions({"HTTP_IF_MODIFIED_SINCE": http_date(T - 1)}, etag, T) is None


def test_if_range():
    assert if_range_allows({}, '"x"', T)
    assert if_range_allows({"HTTP_IF_RANGE": '"x"'}, '"x"', T)
    assert not if_range_allows({"HTTP_IF_RANGE": 'W/"x"'}, '"x"', T)
    assert if_range_allows({"HTTP_IF_RANGE": http_date(T)}, '"x"', T)
    assert not if_range_allows({"HTTP_IF_RANGE": http_date(T + 1)}, '"x"', T)
    assert not if_range_allows({"HTTP_IF_RANGE": "nonsense"}, '"x"', T)


def test_accepted_q():
    assert accepted_q("gzip, br", "br") == 1.0
    assert accepted_q("gzip;q=0.5", "gzip") == 0.5
    assert accepted_q("x-gzip", "gzip") == 1.0
    assert accepted_q("gzip;q=0", "gzip") == 0.0
    assert accepted_q("*;q=0.2", "br") == 0.2
    assert accepted_q("*;q=0.2, br;q=0", "br") == 0.0
    assert accepted_q("identity", "br") == 0.0
    assert accepted_q("gzip;q=bad", "gzip") == 0.0


def test_content_type():
    assert content_type("a.html") == "text/html; charset=utf-8"
    assert content_type("a.svg") == "image/svg+xml; charset=utf-8"
    assert content_type("a.woff2") == "font/woff2"
    assert content_type("a.png") == "image/png"
    assert content_type("a.tar.gz") == "application/gzip"
    assert content_type("README") == "application/octet-stream"
