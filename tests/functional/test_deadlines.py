"""Each deadline of a connection's phases, with a client just inside and just past it, and
the lingering close that lets a refused client read its answer (issue 12)."""

from __future__ import annotations

import select
import socket
import ssl
import time

import pytest

from tests.functional.slow_support import GET, PARTIAL, closed_within, hello, recv_all

CLOSE_GET = GET.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")

MARGIN_S = 0.25
"""How far inside or past a deadline the clients act: well above scheduling noise."""


def test_a_new_connection_has_header_timeout_from_accept(start_server):
    server = start_server(None, interfaces=("127.0.0.1", 0), app_info={"wsgi_app": hello},
                            header_timeout=1.0)
    port = server.ports[0]
    inside = socket.create_connection(("127.0.0.1", port), timeout=5)
    past = socket.create_connection(("127.0.0.1", port), timeout=5)
    for sock in (inside, past):
        sock.sendall(PARTIAL)  # accepted at once: the deadline runs from now
    time.sleep(1.0 - MARGIN_S)
    inside.sendall(b"Connection: close\r\n\r\n")
    assert recv_all(inside).startswith(b"HTTP/1.1 200 ")
    time.sleep(2 * MARGIN_S)
    answer = closed_within(past, 0.1)
    assert answer is not None and answer.startswith(b"HTTP/1.1 408 ")
    past.close()
    inside.close()


def test_a_started_head_has_header_timeout_in_total_not_per_read(start_server):
    server = start_server(None, interfaces=("127.0.0.1", 0), app_info={"wsgi_app": hello},
                            header_timeout=1.0)
    with socket.create_connection(("127.0.0.1", server.ports[0]), timeout=5) as sock:
        sock.sendall(GET)
        assert sock.recv(4096).endswith(b"hello")
        time.sleep(0.3)  # idle: parked in the monitor
        started = time.monotonic()
        for byte in PARTIAL:  # one byte every 0.1 s: each read is quick, the head is not
            sock.send(bytes([byte]))
            time.sleep(0.1)
            if time.monotonic() - started > 1.0 + MARGIN_S:
                break
        answer = recv_all(sock)
        assert answer.startswith(b"HTTP/1.1 408 ") and b"header_timeout=1 s" in answer
        assert 1.0 - MARGIN_S < time.monotonic() - started < 1.0 + 2 * MARGIN_S
    with socket.create_connection(("127.0.0.1", server.ports[0]), timeout=5) as sock:
        sock.sendall(GET)
        assert sock.recv(4096).endswith(b"hello")
        time.sleep(0.3)
        sock.sendall(PARTIAL)
        time.sleep(1.0 - MARGIN_S)
        sock.sendall(b"\r\n")  # just in time
        assert sock.recv(4096).endswith(b"hello")


def test_tls_handshake_timeout_then_the_head_deadline(start_server, tls_files):
    server = start_server(None, interfaces=("127.0.0.1", 0, tls_files.key_path, tls_files.cert_path),
                            app_info={"wsgi_app": hello}, tls_handshake_timeout=1.0,
                            header_timeout=1.0)
    port = server.ports[0]
    context = ssl.create_default_context()
    tls_files.ca.configure_trust(context)
    inside = socket.create_connection(("127.0.0.1", port), timeout=5)
    past = socket.create_connection(("127.0.0.1", port), timeout=5)
    past.sendall(b"\x16\x03\x01")  # the start of a ClientHello, never the rest
    time.sleep(1.0 - MARGIN_S)
    tls = context.wrap_socket(inside, server_hostname="127.0.0.1")  # handshake just in time
    time.sleep(1.0 - MARGIN_S)  # the head deadline started after the handshake
    tls.sendall(CLOSE_GET)
    assert recv_all(tls).endswith(b"hello")
    assert closed_within(past, 0.1) == b""  # no handshake: cut, nothing sent
    tls.close()
    past.close()


def test_keep_alive_closes_an_idle_connection(start_server):
    server = start_server(None, interfaces=("127.0.0.1", 0), app_info={"wsgi_app": hello}, timeout=1.0)
    with socket.create_connection(("127.0.0.1", server.ports[0]), timeout=5) as sock:
        sock.sendall(GET)
        assert sock.recv(4096).endswith(b"hello")
        time.sleep(1.0 - MARGIN_S)
        sock.sendall(GET)
        assert sock.recv(4096).endswith(b"hello")
        assert closed_within(sock, 1.0 + MARGIN_S) == b""  # idle past keep_alive


def _post(port, body_bytes, rate_bps, timeout=10):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n" % body_bytes)
        piece = max(1, rate_bps // 10)
        sent = 0
        try:
            while sent < body_bytes and not select.select([sock], [], [], 0)[0]:
                sock.sendall(b"x" * min(piece, body_bytes - sent))
                sent += piece
                time.sleep(0.1)
        except OSError:
            pass
        return recv_all(sock), time.monotonic()


def echo_length(environ, start_response):
    body = environ["wsgi.input"].read()
    data = str(len(body)).encode()
    start_response("200 OK", [("Content-Length", str(len(data)))])
    return [data]


def test_body_min_rate_after_its_grace(start_server):
    server = start_server(None, interfaces=("127.0.0.1", 0), app_info={"wsgi_app": echo_length},
                            body_min_rate=1000, min_rate_grace=0.5)
    port = server.ports[0]
    assert _post(port, 1500, 1500)[0].endswith(b"\r\n\r\n1500")  # just above the floor
    started = time.monotonic()
    answer, answered = _post(port, 1500, 600)  # below it: cut once the grace is over
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert 0.5 <= answered - started < 1.2  # well before its 2.5 s of body


def big(environ, start_response):
    start_response("200 OK", [("Content-Length", str(32 << 20))])
    return [b"x" * (32 << 20)]


def test_send_min_rate_cuts_a_slow_reader(start_server):
    server = start_server(None, interfaces=("127.0.0.1", 0), app_info={"wsgi_app": big},
                            send_min_rate=1 << 20, min_rate_grace=0.5)
    port = server.ports[0]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(CLOSE_GET)
        assert _read_at(sock, 64 << 20) > 32 << 20
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        sock.sendall(CLOSE_GET)
        started = time.monotonic()
        got = _read_at(sock, 512 << 10)  # half the floor
        assert got < 32 << 20  # cut short
        assert time.monotonic() - started < 15


def _read_at(sock, bytes_per_s):
    """Read until EOF (or a reset) at about ``bytes_per_s``; the bytes read."""
    total = 0
    sock.settimeout(10)
    try:
        while True:
            chunk = sock.recv(min(65536, bytes_per_s // 20))
            if not chunk:
                return total
            total += len(chunk)
            time.sleep(len(chunk) / bytes_per_s)
    except ConnectionResetError:
        return total


@pytest.mark.parametrize("name, request_bytes, status", [
    ("1 MB request line", b"GET /" + b"a" * 1_000_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ("300 KB header", b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 300_000 + b"\r\n\r\n",
     431),
    ("10 MB body", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"
     + b"c" * 10_000_000, 413),
])
def test_a_refused_request_reads_its_answer_with_no_reset(start_server, name, request_bytes,
                                                          status):
    server = start_server(None, interfaces=("127.0.0.1", 0), app_info={"wsgi_app": hello}, max_body=1 << 20)
    for attempt in range(20):
        with socket.create_connection(("127.0.0.1", server.ports[0]), timeout=10) as sock:
            sock.sendall(request_bytes)  # the server refuses early and drains the rest
            answer = recv_all(sock)  # a reset (ECONNRESET) would raise here
        assert answer.startswith(b"HTTP/1.1 %d " % status), (name, attempt, answer[:60])
        assert b"Connection: close\r\n" in answer
