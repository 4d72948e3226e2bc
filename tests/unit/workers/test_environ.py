"""Environ construction: CGI keys, path decoding, header mapping, TLS keys."""

from __future__ import annotations

import ssl

import pytest

from rocket.http.events import Request
from rocket.workers import environ
from rocket.workers.environ import (
    base_environ,
    build_environ,
    decode_path,
    environ_key,
)
from tests.unit.http.test_corpus import VALID, parser_for, run
from tests.unit.workers.fakes import FakeConnection


def _request(target=b"/", headers=(), method=b"GET", version=b"1.1"):
    return Request(method, target, version, list(headers), True, False, None, False)


@pytest.mark.parametrize("raw, decoded", [
    (b"/plain", "/plain"),
    (b"/a%20b", "/a b"),
    (b"/a%2Fb%2fc", "/a%2Fb%2fc"),
    (b"/x%252F", "/x%2F"),  # %25 decodes to %, and that is not an encoded slash
    (b"/%E2%82%AC", "/\xe2\x82\xac"),
    (b"/bad%zz", "/bad%zz"),
])
def test_decode_path(raw, decoded):
    assert decode_path(raw) == decoded


def test_environ_key_mapping_and_underscore_drop():
    assert environ_key(b"content-type") == "CONTENT_TYPE"
    assert environ_key(b"content-length") == "CONTENT_LENGTH"
    assert environ_key(b"x-forwarded-for") == "HTTP_X_FORWARDED_FOR"
    assert environ_key(b"x_forwarded_for") == ""


def test_build_environ_request_line_and_headers():
    base = {"SCRIPT_NAME": ""}
    env = build_environ(base, _request(b"/p%20q?a=%20b", [
        (b"host", b"h"), (b"accept", b"x"), (b"accept", b"y"), (b"cookie", b"a=1"),
        (b"cookie", b"b=2"), (b"content-type", b"text/plain"), (b"x_evil", b"1"),
    ], method=b"PATCH", version=b"1.0"))
    assert env["REQUEST_METHOD"] == "PATCH" and env["SERVER_PROTOCOL"] == "HTTP/1.0"
    assert env["PATH_INFO"] == "/p q" and env["QUERY_STRING"] == "a=%20b"
    assert env["REQUEST_URI"] == env["RAW_URI"] == "/p%20q?a=%20b"
    assert env["HTTP_ACCEPT"] == "x, y" and env["HTTP_COOKIE"] == "a=1; b=2"
    assert env["CONTENT_TYPE"] == "text/plain" and "HTTP_X_EVIL" not in env
    assert base == {"SCRIPT_NAME": ""}  # the base is copied, never changed


def test_build_environ_is_stable_across_cached_request_lines():
    base = {}
    first = build_environ(base, _request(b"/same", [(b"host", b"a")]))
    second = build_environ(base, _request(b"/same", [(b"host", b"b")]))
    assert first["HTTP_HOST"] == "a" and second["HTTP_HOST"] == "b"
    assert first["PATH_INFO"] == second["PATH_INFO"] == "/same"


@pytest.mark.parametrize("target, path, query, host", [
    (b"http://example.com/x?y=1", "/x", "y=1", "example.com"),
    (b"http://example.com:81", "/", "", "example.com:81"),
    (b"https://e.org?q", "/", "q", "e.org"),
    (b"*", "", "", "orig"),
])
def test_non_origin_form_targets(target, path, query, host):
    for _ in range(2):  # second time through the request-line cache
        env = build_environ({}, _request(target, [(b"host", b"orig")], method=b"OPTIONS"))
        assert (env["PATH_INFO"], env["QUERY_STRING"], env["HTTP_HOST"]) == (path, query, host)
        assert "_authority" not in env


def test_base_environ_plain_and_tls():
    shared = {"SERVER_NAME": "unit-host"}
    env = base_environ(FakeConnection([]), shared)
    assert env["REMOTE_ADDR"] == "10.0.0.7" and env["REMOTE_PORT"] == "40123"
    assert env["SERVER_PORT"] == "8080" and env["wsgi.url_scheme"] == "http"
    assert "HTTPS" not in env and "SSL_CLIENT_RAW_CERT" not in env
    der = b"0\x82\x01\x00fake-der"
    env = base_environ(FakeConnection([], secure=True, peer_cert=der), shared)
    assert env["HTTPS"] == "on" and env["wsgi.url_scheme"] == "https"
    assert env["SSL_CLIENT_RAW_CERT"] == ssl.DER_cert_to_PEM_cert(der)


def test_connections_of_one_listener_share_only_its_part(monkeypatch):
    """The worker makes the listener's part of the environ once per listening address and
    scheme (listener_environ) and copies it per connection: each connection's base equals
    base_environ's, holds its own client, wsgi.errors is sys.stderr as it is when the
    connection comes, and nothing a connection or an app changes reaches the next one."""
    import io
    import sys

    from rocket.workers import wsgi as wsgi_module
    from rocket.workers.wsgi import WSGIWorker

    worker = WSGIWorker({"wsgi_app": lambda env, start: []})
    first = FakeConnection([])
    base, _ = worker._base(first)
    assert base == base_environ(first, worker.shared_environ)
    base["HTTP_X_SET_BY_APP"] = "x"  # the kept dict is the connection's own
    second = FakeConnection([])
    second.client_addr = ("10.0.0.9", 50000)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    other, _ = worker._base(second)
    assert (other["REMOTE_ADDR"], other["REMOTE_PORT"]) == ("10.0.0.9", "50000")
    assert other["rocket.peer_addr"] == ("10.0.0.9", 50000)
    assert other["wsgi.errors"] is sys.stderr and "HTTP_X_SET_BY_APP" not in other
    assert len(worker.listener_environs) == 1
    tls = FakeConnection([], secure=True)
    unix = FakeConnection([])
    unix.client_addr, unix.server_addr = "", ("/run/rocket.sock", 0)
    for conn in (tls, unix):
        assert worker._base(conn)[0] == base_environ(conn, worker.shared_environ)
    assert worker._base(unix)[0]["REMOTE_PORT"] == ""
    assert worker._base(tls)[0]["wsgi.url_scheme"] == "https"
    assert len(worker.listener_environs) == 3
    monkeypatch.setattr(wsgi_module, "_LISTENER_ENVIRONS_MAX", 3)
    many = FakeConnection([])
    many.server_addr = ("10.0.0.1", 9999)
    assert worker._base(many)[0]["SERVER_PORT"] == "9999"
    assert len(worker.listener_environs) == 3  # bounded: made, used, not kept


def test_each_environ_is_a_new_dict_of_its_own_request():
    first = build_environ({}, _request(b"/", [(b"host", b"a"), (b"x-n", b"1")]))
    first["HTTP_X_N"] = "changed by the app"
    again = build_environ({}, _request(b"/", [(b"host", b"a"), (b"x-n", b"1")]))
    assert again["HTTP_X_N"] == "1" and again is not first
    other = build_environ({}, _request(b"/", [(b"host", b"a"), (b"x-n", b"2")]))
    assert other["HTTP_X_N"] == "2"
    fewer = build_environ({}, _request(b"/", [(b"host", b"a")]))
    assert "HTTP_X_N" not in fewer


def test_build_environ_drops_and_combines_like_the_general_loop():
    base = {"SERVER_NAME": "unit"}
    env = build_environ(base, _request(b"/", [
        (b"host", b"h"), (b"accept", b"a"), (b"x_spoof", b"s"), (b"accept", b"b"),
        (b"cookie", b"c=1"), (b"cookie", b"d=2")]))
    assert env["HTTP_ACCEPT"] == "a, b" and env["HTTP_COOKIE"] == "c=1; d=2"
    assert env["HTTP_HOST"] == "h" and env["SERVER_NAME"] == "unit"
    assert not any("SPOOF" in key for key in env)
    twice = build_environ(base, _request(b"/", [(b"host", b"h"), (b"accept", b"a"),
                                                (b"accept", b"b")]))
    assert twice["HTTP_ACCEPT"] == "a, b"
    lists = build_environ(base, _request(b"/", [[b"host", b"h"], [b"x-a", b"1"]]))
    assert lists["HTTP_X_A"] == "1" and lists["HTTP_HOST"] == "h"


def test_forwarding_keys_are_found_once_a_forwarding_key_was_made(monkeypatch):
    monkeypatch.setattr(environ, "_forwarding_seen", False)
    monkeypatch.setattr(environ, "_KEYS", {})
    plain = build_environ({}, _request(b"/", [(b"host", b"a")]))
    assert environ.forwarding_keys(plain) == () and not environ._forwarding_seen
    env = build_environ({}, _request(b"/", [(b"host", b"a"), (b"x-forwarded-for", b"1.2.3.4"),
                                            (b"x-real-ip", b"1.2.3.4")]))
    assert environ._forwarding_seen
    assert sorted(environ.forwarding_keys(env)) == ["HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP"]
    assert environ.forwarding_keys(plain) == ()


def _corpus_requests():
    for _, raw, meta in VALID:
        yield from (e for e in run(parser_for(meta), [raw]) if isinstance(e, Request))


@pytest.fixture
def value_cache(emptied):
    """The value cache, emptied for the test and restored after it."""
    return emptied(environ._VALUES)


def test_build_environ_agrees_with_the_general_path_on_the_whole_corpus(value_cache):
    """The fast path (keys and values set straight into the copy) against the request
    line's keys plus :func:`environ._combined`, values decoded and then cached."""
    base = {"SERVER_NAME": "unit", "wsgi.url_scheme": "http"}
    requests = list(_corpus_requests())
    assert len(requests) >= 90
    for request in requests + requests:
        expected = dict(base)
        expected.update(environ._line_keys(request))
        expected.update(environ._combined(request.headers))
        authority = expected.pop("_authority", None)
        if authority is not None:
            expected["HTTP_HOST"] = authority
        assert build_environ(base, request) == expected
    assert value_cache


def _headers(headers):
    """The header keys build_environ gives ``headers`` (the request line's keys left out)."""
    return {k: v for k, v in build_environ({}, _request(b"/", headers)).items()
            if k.startswith("HTTP_")}


def test_the_value_cache_is_bounded_and_skips_long_values(value_cache):
    _headers([(b"x-long", b"v" * (environ._VALUE_MAX_BYTES + 1))])
    assert not value_cache
    for i in range(environ._VALUES_MAX + 3):
        assert _headers([(b"x-seq", b"%d" % i)]) == {"HTTP_X_SEQ": str(i)}
    assert len(value_cache) == 3  # cleared when full
    assert _headers([[b"x-list", b"1"], [b"x-list", b"2"]]) == {"HTTP_X_LIST": "1, 2"}
    assert _headers([(b"x-a", b"\xe9")]) == {"HTTP_X_A": "\xe9"}  # latin-1, as decoded


def test_the_request_line_cache_is_bounded_and_takes_new_lines_once_full(emptied):
    """Past _LINES_MAX distinct request lines the cache is emptied, not frozen: a line that
    comes after thousands of distinct ones (a site's hot path after a crawl) is cached too,
    and its environ is the same from the cache."""
    lines = emptied(environ._LINES)
    for n in range(environ._LINES_MAX + 10):
        build_environ({}, _request(b"/crawl/%d" % n))
        assert len(lines) <= environ._LINES_MAX
    hot = _request(b"/hot?x=1")
    first = build_environ({}, hot)
    assert (b"GET", b"/hot?x=1", b"1.1") in lines
    assert build_environ({}, hot) == first
    assert first["PATH_INFO"] == "/hot" and first["QUERY_STRING"] == "x=1"
