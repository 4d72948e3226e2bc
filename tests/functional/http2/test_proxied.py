"""HTTP/2 behind a PROXY-protocol balancer (haproxy ``send-proxy`` to an h2c backend): the
header's client is every stream's REMOTE_ADDR, the socket's peer stays rocket.peer_addr."""

from __future__ import annotations

import json

from tests.apps.whoami import app as whoami
from tests.functional.h2client import H2Client

V1 = b"PROXY TCP4 192.0.2.9 127.0.0.1 5555 80\r\n"


def test_streams_see_the_proxy_headers_client(start_server):
    server = start_server(whoami, proxy_protocol="v1", http2="true")
    client = H2Client(server.port, preamble=V1)
    try:
        replies = client.wait_for(client.request("/a"), client.request("/b"))
    finally:
        client.close()
    for reply in replies:
        assert reply["status"] == 200
        seen = json.loads(reply["body"])
        assert (seen["REMOTE_ADDR"], seen["REMOTE_PORT"]) == ("192.0.2.9", "5555")
        assert seen["peer"][0] == "127.0.0.1"


def test_without_the_header_an_h2c_client_is_refused(start_server, caplog):
    server = start_server(whoami, proxy_protocol="v1", http2="true")
    client = H2Client(server.port)
    try:
        try:
            client.request("/a")  # the reset may already be in when the request goes out
            while client.read_once():
                pass
        except (ConnectionResetError, BrokenPipeError):  # closed with the preface unread
            pass
        assert all(reply["status"] is None for reply in client.responses.values())
    finally:
        client.close()
    assert any("expected a PROXY v1 header" in r.getMessage() for r in caplog.records)
