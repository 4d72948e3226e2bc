"""The PROXY protocol in the accept path, with raw sockets against a real server: the header's
client becomes REMOTE_ADDR (the socket's peer stays in rocket.peer_addr), v2 TLVs set the
scheme and the authority, bytes after the header reach HTTP or TLS untouched, and a bad,
untrusted, oversized or slow header closes the connection with one log line."""

from __future__ import annotations

import errno
import ipaddress
import json
import logging
import socket
import ssl
import struct
import time

import pytest

from rocket import SocketServer
from rocket.http.proxy import V2_SIGNATURE
from rocket.server.sockets import LineProtocol
from tests.apps.whoami import app as whoami
from tests.functional.client import read_to_eof

V1 = b"PROXY TCP4 192.0.2.9 127.0.0.1 5555 80\r\n"
CLOSE = b"GET /who HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
KEEP = b"GET /who HTTP/1.1\r\nHost: a\r\n\r\n"


def v2(source="192.0.2.9", port=5555, tlvs=b"", command=1, length=None) -> bytes:
    """A PROXY v2 header (TCP4 or TCP6 as ``source`` is) with ``tlvs`` appended."""
    src = ipaddress.ip_address(source)
    dst = ipaddress.ip_address("127.0.0.1" if src.version == 4 else "::1")
    body = src.packed + dst.packed + struct.pack("!HH", port, 80) + tlvs
    size = len(body) if length is None else length
    family = 0x11 if src.version == 4 else 0x21
    return V2_SIGNATURE + bytes([0x20 | command, family]) + struct.pack("!H", size) + body


def tlv(kind: int, value: bytes) -> bytes:
    return bytes([kind]) + struct.pack("!H", len(value)) + value


SSL_TLV = tlv(0x20, b"\x01" + b"\x00\x00\x00\x00" + tlv(0x21, b"TLSv1.3"))
AUTHORITY_TLV = tlv(0x02, b"shop.example")


def exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send ``data`` in one packet; everything read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_to_eof(sock)


def facts(response: bytes) -> dict:
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), response
    return json.loads(body)


def refused(port: int, data: bytes, timeout: float = 5.0) -> bool:
    """True when the server closes after ``data`` without sending a byte."""
    try:
        return exchange(port, data, timeout) == b""
    except ConnectionResetError:
        return True


@pytest.mark.parametrize("mode", ["v1", "auto"])
def test_v1_header_gives_the_client_address(start_server, mode):
    server = start_server(whoami, proxy_protocol=mode)
    seen = facts(exchange(server.port, V1 + CLOSE))
    assert (seen["REMOTE_ADDR"], seen["REMOTE_PORT"], seen["wsgi.url_scheme"]) == \
        ("192.0.2.9", "5555", "http")
    assert seen["peer"][0] == "127.0.0.1"  # rocket.peer_addr: the socket's own peer


@pytest.mark.parametrize("mode", ["v2", "auto"])
def test_v2_with_ssl_and_authority_tlvs(start_server, mode):
    server = start_server(whoami, proxy_protocol=mode)
    seen = facts(exchange(server.port, v2("2001:db8::7", 443, SSL_TLV + AUTHORITY_TLV) + CLOSE))
    assert (seen["REMOTE_ADDR"], seen["REMOTE_PORT"]) == ("2001:db8::7", "443")
    assert (seen["wsgi.url_scheme"], seen["HTTPS"]) == ("https", "on")
    assert seen["rocket.proxy_authority"] == "shop.example"
    assert seen["peer"][0] == "127.0.0.1"


def test_v2_local_command_keeps_the_socket_peer(start_server):
    server = start_server(whoami, proxy_protocol="v2")
    seen = facts(exchange(server.port, v2(command=0) + CLOSE))
    assert seen["REMOTE_ADDR"] == "127.0.0.1" and seen["rocket.proxy_authority"] is None


def test_auto_without_a_header_serves_as_usual(start_server):
    server = start_server(whoami, proxy_protocol="auto")
    seen = facts(exchange(server.port, CLOSE))
    assert seen["REMOTE_ADDR"] == "127.0.0.1"


def test_auto_gives_back_bytes_that_began_like_a_header(start_server):
    """"PRO" could start "PROXY "; it turns out to be "PROPFIND": the method arrives whole."""
    def method(environ, start_response):
        start_response("200 OK", [("Content-Length", "0"),
                                  ("X-Method", environ["REQUEST_METHOD"])])
        return [b""]

    server = start_server(method, proxy_protocol="auto")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"PRO")
        time.sleep(0.2)  # the monitor takes "PRO" as part of a header
        sock.sendall(b"PFIND / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        assert b"\r\nX-Method: PROPFIND\r\n" in read_to_eof(sock)


def test_pipelined_requests_in_the_header_packet_are_kept(start_server):
    server = start_server(whoami, proxy_protocol="v1")
    response = exchange(server.port, V1 + KEEP + CLOSE)
    assert response.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert response.count(b'"REMOTE_ADDR": "192.0.2.9"') == 2


def test_header_sent_slowly_in_pieces(start_server):
    server = start_server(whoami, proxy_protocol="v2")
    data = v2(tlvs=AUTHORITY_TLV) + CLOSE
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        for i in range(0, 40, 7):
            sock.sendall(data[i:i + 7])
            time.sleep(0.02)
        sock.sendall(data[40:])
        assert facts(read_to_eof(sock))["REMOTE_ADDR"] == "192.0.2.9"


def test_untrusted_peer_sending_a_header_is_closed_with_one_log_line(start_server, caplog):
    server = start_server(whoami, proxy_protocol="auto", forwarded_allow_ips="10.0.0.0/8")
    caplog.set_level(logging.WARNING, "Rocket.Errors.Proxy")
    assert refused(server.port, V1 + CLOSE)
    assert refused(server.port, v2() + CLOSE)
    facts(exchange(server.port, CLOSE))  # without a header it is served
    lines = [r.getMessage() for r in caplog.records if r.name == "Rocket.Errors.Proxy"]
    assert len(lines) == 1, lines  # rate-limited: the second refusal is counted, not written
    assert "127.0.0.1" in lines[0] and "forwarded_allow_ips" in lines[0]


@pytest.mark.parametrize("mode, data", [
    ("v1", b"PROXY TCP4 192.0.2.999 127.0.0.1 5555 80\r\n" + CLOSE),   # malformed
    ("v1", b"PROXY TCP4 192.0.2.9 127.0.0.1 5555"),                    # truncated, then EOF
    ("v1", b"PROXY TCP4 " + b"1" * 200 + b"\r\n" + CLOSE),            # past 107 bytes
    ("v2", v2(length=5000) + b"\0" * 5000),                            # past the v2 cap
    ("v2", V1 + CLOSE),                                                # the other version
    ("v1", CLOSE),                                                     # required, missing
    ("auto", V2_SIGNATURE + b"\x21\x11\x00"),                          # truncated v2
])
def test_bad_headers_close_the_connection(start_server, caplog, mode, data):
    server = start_server(whoami, proxy_protocol=mode)
    caplog.set_level(logging.WARNING, "Rocket.Errors.Proxy")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)  # the truncated cases end here
            assert read_to_eof(sock) == b""
        except (ConnectionResetError, BrokenPipeError):
            pass  # closed before the client finished: as refused
        except OSError as exc:  # closed before shutdown()
            assert exc.errno == errno.ENOTCONN
    assert any("closed the connection from 127.0.0.1" in r.getMessage() for r in caplog.records)
    assert server.proxy_gate.refused == 1


def test_slow_drip_header_is_cut_at_header_timeout(start_server, caplog):
    server = start_server(whoami, proxy_protocol="v1", header_timeout=0.5)
    caplog.set_level(logging.WARNING, "Rocket.Errors.Proxy")
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        try:
            for byte in V1[:-2]:
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
        except OSError:
            pass
        try:
            assert sock.recv(100) == b""
        except ConnectionResetError:
            pass
    assert time.monotonic() - started < 3.0
    assert any("header_timeout=0.5s" in r.getMessage() for r in caplog.records)


def test_header_then_tls_handshake(start_server, tls_files):
    server = start_server(whoami, interfaces=("127.0.0.1", 0, tls_files.key_path,
                                              tls_files.cert_path), proxy_protocol="v2")
    context = ssl.create_default_context()
    tls_files.ca.configure_trust(context)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(v2(tlvs=AUTHORITY_TLV))
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            sock.sendall(CLOSE)
            seen = facts(read_to_eof(sock))
    assert (seen["REMOTE_ADDR"], seen["wsgi.url_scheme"]) == ("192.0.2.9", "https")
    assert seen["rocket.proxy_authority"] == "shop.example"


def test_access_log_shows_the_proxied_client(start_server, caplog):
    server = start_server(whoami, proxy_protocol="v1")
    caplog.set_level(logging.INFO, "Rocket.Requests")
    exchange(server.port, V1 + CLOSE)
    lines = [r.getMessage() for r in caplog.records if r.name == "Rocket.Requests"]
    assert lines and lines[0].startswith("192.0.2.9 ")


def test_socket_server_protocol_sees_the_proxied_peer(start_server):
    server = start_server(SocketServer(LineProtocol, bind="127.0.0.1:0", handle_signals=False,
                                       handler=lambda conn, line: repr(conn.client_addr),
                                       proxy_protocol="v1"))
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(V1 + b"who\n")
        assert sock.recv(100) == b"('192.0.2.9', 5555)\n"


def test_header_over_a_unix_socket(start_server, tmp_path):
    """haproxy's ``server app1 /run/rocket.sock send-proxy``: a unix-socket peer is trusted
    (``unix`` on the default list) and the header gives the client's TCP address."""
    path = str(tmp_path / "r.sock")
    start_server(whoami, interfaces=f"unix:{path}", proxy_protocol="v1")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(path)
        sock.sendall(V1 + CLOSE)
        seen = facts(read_to_eof(sock))
    assert (seen["REMOTE_ADDR"], seen["REMOTE_PORT"]) == ("192.0.2.9", "5555")
