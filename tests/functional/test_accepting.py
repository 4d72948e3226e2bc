"""Accepting: the listener's thread reads once without waiting and queues a connection whose
whole head is there for the pool, hands it to the monitor when it is not, and never runs a TLS
handshake itself."""

from __future__ import annotations

import socket
import ssl
import threading
import time

from rocket import Server
from tests.functional.client import raw_get, read_response
from tests.functional.test_tls import client_context, tls_interface

REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def thread_name(environ, start_response):
    body = threading.current_thread().name.encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


class Recording(Server):
    """Records, for each accepted connection, the accepting thread and whether the
    connection went straight to the pool."""

    def __init__(self, *args, **kwargs):
        super().__init__(thread_name, *args, port=0, **kwargs)
        self.accepts = []

    def _accept(self, sock, addr, listener):
        conn = super()._accept(sock, addr, listener)
        self.accepts.append((threading.current_thread().name, conn is not None))
        return conn


def test_a_whole_head_goes_straight_to_the_pool(start_server):
    server = start_server(Recording())
    for _ in range(5):
        status, served_by = raw_get(server.port)
        assert status == b"HTTP/1.1 200 OK"
        accepted_by, straight = server.accepts[-1]
        assert straight and accepted_by.startswith("rocket-listener-")
        assert served_by.startswith(b"rocket-worker-")
    assert server.monitor.parks == 0  # none waited in the monitor


def test_part_of_a_head_goes_to_the_monitor(start_server):
    server = start_server(Recording())
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(REQUEST[:10])
        deadline = time.monotonic() + 5
        while not server.accepts and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.accepts[0][1] is False  # not queued for the pool: the monitor waits
        sock.sendall(REQUEST[10:])
        status, served_by = read_response(sock)
    assert status == b"HTTP/1.1 200 OK" and served_by.startswith(b"rocket-worker-")
    assert server.monitor.timed_out == 0


def test_tls_never_handshakes_on_the_accepting_thread(start_server, tls_files):
    handshakes = []

    class RecordedSocket(ssl.SSLSocket):
        def do_handshake(self, *args, **kwargs):
            handshakes.append(threading.current_thread().name)
            return super().do_handshake(*args, **kwargs)

    server = start_server(Recording(bind=tls_interface(tls_files)))
    for listener in server.listeners:
        listener.tls_context.sslsocket_class = RecordedSocket
    for _ in range(3):
        status, _ = raw_get(server.ports[0], context=client_context(tls_files))
        assert status == b"HTTP/1.1 200 OK"
    assert [kept for _, kept in server.accepts] == [False] * 3  # each went to the monitor
    assert len(handshakes) >= 3 and not [t for t in handshakes if "listener" in t], handshakes


def test_a_saturated_fixed_pool_still_accepts(start_server):
    """Every thread busy at max_threads: the listener queues what it accepts and goes on
    accepting, instead of leaving new clients in the backlog."""
    release = threading.Event()

    def blocking(environ, start_response):
        release.wait(5)
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    server = start_server(blocking, min_threads=3, max_threads=3)
    socks = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(6)]
    try:
        for sock in socks:
            sock.sendall(REQUEST)
        deadline = time.monotonic() + 5
        while server.connections_received < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.connections_received == 6
        release.set()
        assert [read_response(sock) for sock in socks] == [(b"HTTP/1.1 200 OK", b"ok")] * 6
    finally:
        for sock in socks:
            sock.close()
