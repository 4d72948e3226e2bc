"""The WSGI worker at the edge: forwarding headers, request ids, the health path, the JSON
access log and the metrics counters, over scripted connections (no sockets)."""

from __future__ import annotations

import io
import json

import pytest

from rocket import accesslog
from rocket.accesslog import AccessLogWriter
from rocket.http.trust import trust_list
from rocket.metrics.recorder import BYTES_IN, BYTES_OUT, STARTED, method_index, status_index
from rocket.workers.wsgi import WSGIWorker
from tests.unit.workers.fakes import FakeConnection, fake_context

SEEN = {}


def echo(environ, start_response):
    SEEN.clear()
    SEEN.update({k: v for k, v in environ.items() if isinstance(v, str)})
    SEEN["peer"] = environ["rocket.peer_addr"]
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]


def serve(head: bytes, peer=("10.0.0.7", 40123), app=echo, **settings) -> bytes:
    settings.setdefault("forwarded_allow_ips", trust_list("10.0.0.0/8"))
    worker = WSGIWorker({"wsgi_app": app}, fake_context(**settings))
    conn = FakeConnection([head])
    conn.client_addr = peer
    worker.handle(conn)
    return conn.output


def request(*headers: str, target: str = "/") -> bytes:
    lines = "".join(h + "\r\n" for h in headers)
    return f"GET {target} HTTP/1.1\r\nHost: origin.example\r\n{lines}\r\n".encode()


SPOOF = ("X-Forwarded-For: 203.0.113.66", "X-Forwarded-Proto: https",
         "X-Forwarded-Host: evil.example", "Forwarded: for=198.51.100.1;proto=https",
         "X-Real-IP: 203.0.113.66")


def test_trusted_proxy_sets_client_scheme_host_and_port():
    serve(request("X-Forwarded-For: 203.0.113.9", "X-Forwarded-Proto: https",
                  "X-Forwarded-Host: www.example.com", "Forwarded: for=1.1.1.1"))
    assert (SEEN["REMOTE_ADDR"], SEEN["wsgi.url_scheme"], SEEN["HTTP_HOST"],
            SEEN["SERVER_PORT"], SEEN["HTTPS"]) == ("203.0.113.9", "https", "www.example.com",
                                                    "443", "on")
    assert "HTTP_FORWARDED" not in SEEN  # the other family is removed
    assert SEEN["peer"] == ("10.0.0.7", 40123)


def test_forwarded_family_when_asked():
    serve(request('Forwarded: for="[2001:db8::5]:4711";proto=https;host=a.example',
                  "X-Forwarded-For: 1.1.1.1"), forwarded_headers="forwarded")
    assert (SEEN["REMOTE_ADDR"], SEEN["REMOTE_PORT"], SEEN["HTTP_HOST"]) == \
        ("2001:db8::5", "4711", "a.example")
    assert "HTTP_X_FORWARDED_FOR" not in SEEN


def test_untrusted_peer_can_spoof_nothing():
    serve(request(*SPOOF), peer=("192.0.2.50", 5555))
    assert (SEEN["REMOTE_ADDR"], SEEN["wsgi.url_scheme"], SEEN["HTTP_HOST"]) == \
        ("192.0.2.50", "http", "origin.example")
    assert not [k for k in SEEN if "FORWARDED" in k or k == "HTTP_X_REAL_IP"]


def test_untrusted_headers_kept_when_stripping_is_off():
    serve(request(*SPOOF), peer=("192.0.2.50", 5555), strip_untrusted_forwarded=False)
    assert SEEN["REMOTE_ADDR"] == "192.0.2.50" and SEEN["HTTP_X_FORWARDED_PROTO"] == "https"


def test_unix_peer_is_trusted_by_unix(caplog):
    serve(request("X-Forwarded-For: 203.0.113.9"), peer="",
          forwarded_allow_ips=trust_list("unix"))
    assert SEEN["REMOTE_ADDR"] == "203.0.113.9"


def test_malformed_values_change_nothing_and_log_one_debug_line(caplog):
    caplog.set_level("DEBUG", logger="Rocket.Forwarded")
    serve(request("X-Forwarded-For: 203.0.113.9, not-an-ip", "X-Forwarded-Proto: https"))
    assert (SEEN["REMOTE_ADDR"], SEEN["wsgi.url_scheme"]) == ("10.0.0.7", "http")
    assert len([r for r in caplog.records if r.name == "Rocket.Forwarded"]) == 1


@pytest.mark.parametrize("incoming, peer, kept", [
    ("abc-123.x:y", ("10.0.0.7", 1), True),
    ("abc-123", ("192.0.2.9", 1), False),          # untrusted peer
    ("bad id with spaces", ("10.0.0.7", 1), False),
    ("x" * 129, ("10.0.0.7", 1), False),
])
def test_request_id(incoming, peer, kept):
    out = serve(request(f"X-Request-ID: {incoming}"), peer=peer, request_id=True)
    rid = SEEN["HTTP_X_REQUEST_ID"]
    assert (rid == incoming) is kept
    assert f"X-Request-ID: {rid}\r\n".encode() in out


def test_no_request_id_when_off():
    out = serve(request())
    assert b"X-Request-ID" not in out and "HTTP_X_REQUEST_ID" not in SEEN


def test_health_path_is_answered_without_the_app():
    def never(environ, start_response):
        raise AssertionError("the app must not see the health check")

    shedding = [False]
    worker = WSGIWorker({"wsgi_app": never}, fake_context(
        health_path="/healthz", is_shedding=lambda: shedding[0]))
    conn = FakeConnection([b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
                           b"HEAD /healthz?full=1 HTTP/1.1\r\nHost: a\r\n\r\n"])
    worker.handle(conn)
    assert conn.output.count(b"HTTP/1.1 200 OK\r\n") == 2 and conn.output.endswith(b"\r\n\r\n")
    shedding[0] = True
    conn = FakeConnection([b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"])
    assert worker.handle(conn) is False
    assert conn.output.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"Connection: close\r\n" in conn.output and conn.output.endswith(b"draining\n")


def test_health_checks_are_not_logged_unless_asked():
    stream = io.StringIO()
    accesslog.install(AccessLogWriter(stream))
    try:
        serve(request(target="/healthz"), health_path="/healthz")
        serve(request(target="/healthz"), health_path="/healthz", health_log=True)
        accesslog.flush()
    finally:
        accesslog.uninstall()
    assert stream.getvalue().count("/healthz") == 1


def test_json_access_line_escapes_every_client_byte():
    stream = io.StringIO()
    accesslog.install(AccessLogWriter(stream))
    nasty = bytes(range(0x80, 0x100)).decode("latin-1") + '"\\\'{}'
    head = (b"GET /p?q=%22 HTTP/1.1\r\nHost: a\r\nUser-Agent: " + nasty.encode("latin-1")
            + b"\r\nReferer: \"quoted\" \\ back\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n")
    try:
        serve(head, access_log_format="json", request_id=True)
        accesslog.flush()
    finally:
        accesslog.uninstall()
    line = stream.getvalue().strip()
    assert line.isascii() and "\n" not in line
    record = json.loads(line)
    assert list(record) == list(accesslog.FIELDS)
    # the Apache-escaped text (as in the combined format), JSON-encoded
    assert record["user_agent"] == accesslog.escape(nasty)
    assert record["referer"] == accesslog.escape('"quoted" \\ back')
    assert record["status"] == 200 and record["size"] == 2 and record["client_ip"] == "203.0.113.9"
    assert record["forwarded_for"] == "203.0.113.9" and record["tls_version"] == "-"
    assert record["request_id"] == SEEN["HTTP_X_REQUEST_ID"] and record["pid"] > 0
    assert isinstance(record["request_time_us"], int) and record["request_time_us"] >= 0


def test_new_atoms_in_a_format():
    stream = io.StringIO()
    accesslog.install(AccessLogWriter(stream))
    fmt = accesslog.access_log_format("%(h)s %(D)s %(p)s %(request_id)s %(tls_version)s")
    try:
        serve(request(), access_log_format=fmt)
        accesslog.flush()
    finally:
        accesslog.uninstall()
    client, micros, pid, rid, tls = stream.getvalue().split()
    assert client == "10.0.0.7" and micros.isdigit() and pid.isdigit() and (rid, tls) == ("-", "-")


def test_metrics_counters_per_request():
    worker = WSGIWorker({"wsgi_app": echo}, fake_context(metrics_bind="127.0.0.1:0"))
    conn = FakeConnection([b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
                           b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"])
    worker.handle(conn)
    counters = worker.metrics.snapshot()
    assert counters[method_index(b"POST") + status_index(200)] == 1
    assert counters[method_index(b"GET") + status_index(200)] == 1
    assert counters[STARTED] == 2 and counters[BYTES_IN] == 5 and counters[BYTES_OUT] == 4


def test_metrics_off_costs_no_recorder():
    assert WSGIWorker({"wsgi_app": echo}, fake_context()).metrics is None
