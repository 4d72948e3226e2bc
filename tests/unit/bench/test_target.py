"""URL and HOST:PORT parsing of the load tools."""

from __future__ import annotations

import pytest

from rocket.bench.target import Target, parse_header, parse_hostport, parse_url


def test_url_parts():
    t = parse_url("http://127.0.0.1:8080/a/b?x=1&y=2")
    assert (t.host, t.port, t.target, t.tls) == ("127.0.0.1", 8080, b"/a/b?x=1&y=2", False)
    assert t.host_header == "127.0.0.1:8080"
    assert t.url() == "http://127.0.0.1:8080/a/b?x=1&y=2"


def test_defaults_scheme_port_and_path():
    t = parse_url("localhost")
    assert (t.host, t.port, t.target, t.host_header) == ("localhost", 80, b"/", "localhost")
    s = parse_url("https://example.test/")
    assert (s.port, s.tls, s.host_header) == (443, True, "example.test")


def test_ipv6_host_header_is_bracketed():
    t = parse_url("http://[::1]:9000/")
    assert t.host == "::1"
    assert t.host_header == "[::1]:9000"
    assert Target("::1", 80).host_header == "[::1]"


@pytest.mark.parametrize("bad", ["ftp://h/", "http://:80/", "http://h:99999/"])
def test_bad_urls_raise_value_error(bad):
    with pytest.raises(ValueError):
        parse_url(bad)


def test_hostport():
    assert parse_hostport("127.0.0.1:8000") == ("127.0.0.1", 8000)
    assert parse_hostport("[::1]:81") == ("::1", 81)
    with pytest.raises(ValueError, match="no port"):
        parse_hostport("127.0.0.1")


def test_header_option():
    assert parse_header("X-Token:  abc ") == ("X-Token", "abc")
    assert parse_header("Empty:") == ("Empty", "")
    for bad in ("no colon", ": value"):
        with pytest.raises(ValueError, match="bad header"):
            parse_header(bad)
