"""Forwarded (RFC 7239) and X-Forwarded-* parsing: the right-most untrusted hop, and every
malformed value raising ValueError (never anything else)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rocket.http.forwarded import (
    Hop,
    from_forwarded,
    from_x_forwarded,
    header_family,
    parse_forwarded,
    parse_node,
)
from rocket.http.trust import trust_list

LOCAL = trust_list("127.0.0.1,::1,unix,10.0.0.0/8")


def test_x_forwarded_takes_the_right_most_untrusted_hop():
    hop = from_x_forwarded("203.0.113.5, 198.51.100.1, 10.0.0.2", "https", "www.example.com",
                           "8443", LOCAL)
    assert hop == Hop("198.51.100.1", None, "https", "www.example.com", "8443")


def test_x_forwarded_all_trusted_gives_the_left_most():
    assert from_x_forwarded("10.1.1.1, 10.0.0.2", None, None, None, LOCAL).addr == "10.1.1.1"


def test_x_forwarded_ports_and_ipv6_nodes():
    assert parse_node("[2001:db8::1]:4711") == ("2001:db8::1", "4711")
    assert parse_node("192.0.2.1:80") == ("192.0.2.1", "80")
    assert parse_node("2001:db8::1") == ("2001:db8::1", None)
    assert parse_node("unknown") == (None, None) and parse_node("_hidden") == (None, None)


def test_right_most_item_of_proto_host_port_lists():
    hop = from_x_forwarded(None, "http, https", "a.example, b.example", "80, 443", LOCAL)
    assert (hop.proto, hop.host, hop.server_port) == ("https", "b.example", "443")


def test_forwarded_element_of_the_client_hop():
    value = ('for=192.0.2.60;proto=https;host="shop.example:8443", '
             'for="[2001:db8:cafe::17]:4711";proto=http, for=10.0.0.2')
    hop = from_forwarded(value, LOCAL)
    assert hop == Hop("2001:db8:cafe::17", "4711", "http", None, None)
    hop = from_forwarded(value, trust_list("10.0.0.0/8,2001:db8::/32"))
    assert hop == Hop("192.0.2.60", None, "https", "shop.example:8443", None)


def test_forwarded_without_for_still_gives_proto():
    assert from_forwarded("proto=https;host=a.example", LOCAL) == \
        Hop(None, None, "https", "a.example", None)


def test_forwarded_quoting():
    assert parse_forwarded('for="\\"x\\"";by=_p, For=1.2.3.4') == [
        {"for": '"x"', "by": "_p"}, {"for": "1.2.3.4"}]


@pytest.mark.parametrize("xff, proto, host, port", [
    ("not-an-ip", None, None, None),
    ("1.2.3.4, evil", None, None, None),
    ("1.2.3.4:99999", None, None, None),
    ("[::1", None, None, None),
    (None, "ftp", None, None),
    (None, None, "a.example/path", None),
    (None, None, "user@a.example", None),
    (None, None, "a.example:0", None),
    (None, None, None, "http"),
    (None, None, None, "70000"),
    ("unknown", None, None, None),
])
def test_malformed_x_forwarded_raises_value_error(xff, proto, host, port):
    with pytest.raises(ValueError):
        from_x_forwarded(xff, proto, host, port, LOCAL)


@pytest.mark.parametrize("value", [
    "for", "for=1.2.3.4;for=5.6.7.8", 'for="1.2.3.4', "for=1.2.3.4,,", "for=a b",
    "for=300.1.1.1", "proto=gopher", 'host="a/b"', "for=unknown",
])
def test_malformed_forwarded_raises_value_error(value):
    with pytest.raises(ValueError):
        from_forwarded(value, LOCAL)


@given(st.text(max_size=60), st.text(max_size=20), st.text(max_size=20), st.text(max_size=8))
def test_any_text_parses_or_raises_value_error(xff, proto, host, port):
    for call in (lambda: from_x_forwarded(xff, proto, host, port, LOCAL),
                 lambda: from_forwarded(xff, LOCAL)):
        try:
            call()
        except ValueError:
            pass


def test_header_family():
    assert header_family(" Forwarded ") == "forwarded"
    with pytest.raises(ValueError, match="one family only"):
        header_family("both")
