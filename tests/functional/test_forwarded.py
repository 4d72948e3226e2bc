"""Forwarding headers over real sockets: a client that is not a trusted proxy cannot change
REMOTE_ADDR or the scheme, and its headers never reach the app (Django's
SECURE_PROXY_SSL_HEADER included); a trusted peer's do; request ids travel both ways."""

from __future__ import annotations

import http.client
import json

import pytest

from tests.apps import whoami

UNTRUSTED = "127.0.0.2"  # loopback, but not on the default forwarded_allow_ips
SPOOF = {"X-Forwarded-For": "203.0.113.66", "X-Forwarded-Proto": "https",
         "X-Forwarded-Host": "evil.example", "Forwarded": "for=1.2.3.4;proto=https",
         "X-Real-IP": "203.0.113.66"}


def get(port: int, path: str = "/", source: str = "127.0.0.1", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5,
                                      source_address=(source, 0))
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response, json.loads(response.read())
    finally:
        conn.close()


def test_spoofed_headers_from_an_untrusted_client_change_nothing(start_server):
    server = start_server(whoami.app)
    _, facts = get(server.port, source=UNTRUSTED, headers=SPOOF)
    assert (facts["REMOTE_ADDR"], facts["wsgi.url_scheme"], facts["HTTPS"]) == \
        (UNTRUSTED, "http", None)
    assert facts["HTTP_HOST"] == f"127.0.0.1:{server.port}"
    assert [k for k, v in facts.items() if v is not None and ("FORWARD" in k or "REAL" in k)] == []


def test_trusted_peer_is_believed(start_server):
    server = start_server(whoami.app, forwarded_allow_ips="127.0.0.0/8")
    _, facts = get(server.port, source=UNTRUSTED, headers=SPOOF)
    assert (facts["REMOTE_ADDR"], facts["wsgi.url_scheme"], facts["HTTP_HOST"]) == \
        ("203.0.113.66", "https", "evil.example")


def test_django_secure_proxy_ssl_header_cannot_be_spoofed(start_server):
    pytest.importorskip("django")
    from tests.apps.django_app import make_app

    server = start_server(make_app())
    _, facts = get(server.port, "/secure", source=UNTRUSTED, headers=SPOOF)
    assert facts == {"is_secure": False, "remote": UNTRUSTED}
    _, facts = get(server.port, "/secure", headers={"X-Forwarded-Proto": "https"})
    assert facts["is_secure"] is True  # from a trusted proxy (127.0.0.1) it works as meant


def test_request_id_round_trip(start_server):
    server = start_server(whoami.app, request_id=True)
    response, facts = get(server.port, headers={"X-Request-ID": "edge-42"})
    assert facts["HTTP_X_REQUEST_ID"] == "edge-42" == response.getheader("X-Request-ID")
    response, facts = get(server.port, source=UNTRUSTED, headers={"X-Request-ID": "edge-42"})
    assert facts["HTTP_X_REQUEST_ID"] != "edge-42"
    assert response.getheader("X-Request-ID") == facts["HTTP_X_REQUEST_ID"]
