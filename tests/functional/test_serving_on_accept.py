"""Serving on the accepting thread (rocket.server.lifecycle, ``SERVE_ON_ACCEPT``): while the
pool reads a busy lock, the thread that accepted a connection with a whole head serves that
first request itself and parks the connection; a slow request there makes a new thread accept,
a graceful stop waits for it, and anything short of a whole plain-TCP head still goes to the
monitor."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from rocket.server import wsgi as wsgi_module
from tests.functional.client import raw_get, read_response
from tests.functional.test_serving_on_monitor import make_app, request, saturate_pool
from tests.functional.test_tls import client_context, tls_interface

CLOSE = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


@pytest.fixture
def events(monkeypatch):
    """(release, started) for the app's /slow; serving on the accepting thread on (PyPy's
    default), serving on the monitor's thread off (parked connections go to the pool)."""
    monkeypatch.setattr(wsgi_module, "SERVE_ON_ACCEPT", True)
    monkeypatch.setattr(wsgi_module, "SERVE_ON_MONITOR_BEYOND", None)
    release, started = threading.Event(), threading.Event()
    yield release, started
    release.set()


def busy(server) -> None:
    """Make the pool read a busy lock, then wait until the accepting thread serves."""
    saturate_pool(server)
    deadline = time.monotonic() + 5
    while server._serve_accepted is None:
        assert time.monotonic() < deadline, "the accepting thread never started serving"
        time.sleep(0.01)


def served_by(body: bytes) -> str:
    return body.decode().split()[1]


def close_request(port: int, path: str = "/") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(CLOSE.replace(b"/ ", path.encode() + b" ", 1))
        status, body = read_response(sock)
    assert status == b"HTTP/1.1 200 OK", status
    return body


def test_a_new_connection_is_served_on_the_accepting_thread(start_server, events):
    server = start_server(make_app(*events), min_threads=2, max_threads=4)
    busy(server)
    for _ in range(5):
        assert served_by(close_request(server.port)).startswith("rocket-listener-")
    # Keep-alive: the first request there, then the connection is parked and its next
    # requests come from the monitor to the pool.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        parks = server.monitor.parks
        assert served_by(request(sock)).startswith("rocket-listener-")
        deadline = time.monotonic() + 5
        while server.monitor.parks == parks:  # parked once the answer is out
            assert time.monotonic() < deadline, "the connection was never parked"
            time.sleep(0.01)
        assert server.monitor.parks == parks + 1
        for _ in range(3):
            assert served_by(request(sock)).startswith("rocket-worker-")
    deadline = time.monotonic() + 5
    while server.figures()["busy"]:  # the last pool thread lets the closed connection go
        assert time.monotonic() < deadline, "a request is still counted busy"
        time.sleep(0.01)
    assert server.accept_serving == 0


def test_without_a_busy_lock_new_connections_go_to_the_pool(start_server, events):
    server = start_server(make_app(*events), min_threads=2, max_threads=4)
    server.pool.process_time = lambda: 0.0  # no CPU at all: never busy
    time.sleep(0.2)  # a few ticks
    assert server._serve_accepted is None
    for _ in range(5):
        assert served_by(close_request(server.port)).startswith("rocket-worker-")


def test_off_on_cpython_by_default(start_server, monkeypatch):
    """SERVE_ON_ACCEPT False (CPython's default): a busy pool still gets every connection."""
    monkeypatch.setattr(wsgi_module, "SERVE_ON_ACCEPT", False)
    release, started = threading.Event(), threading.Event()
    release.set()
    server = start_server(make_app(release, started), min_threads=2, max_threads=4)
    saturate_pool(server)
    time.sleep(0.2)
    assert server._serve_accepted is None
    for _ in range(5):
        assert not served_by(close_request(server.port)).startswith("rocket-listener-")


def test_a_slow_request_there_makes_a_new_thread_accept(start_server, events, monkeypatch):
    from rocket.server import lifecycle

    monkeypatch.setattr(lifecycle, "ACCEPT_BACKOFF_S", 3.0)  # outlasts the checks below
    release, started = events
    server = start_server(make_app(release, started), min_threads=2, max_threads=4)
    busy(server)
    slow = socket.create_connection(("127.0.0.1", server.port), timeout=20)
    try:
        slow.sendall(CLOSE.replace(b"/ ", b"/slow ", 1))
        assert started.wait(10)
        assert server.accept_serving == 1  # on the accepting thread
        assert server.figures()["busy"] >= 1 and server.info()["threads_busy"] >= 1
        # The accepting thread is in the application: new clients are answered all the same,
        # by the pool (serving on the accepting thread is off for a while after a hand-over).
        began = time.monotonic()
        for _ in range(3):
            assert served_by(close_request(server.port)).startswith("rocket-worker-")
        assert time.monotonic() - began < 5
        listener = server.listeners[0]
        assert listener.hand_overs == 1
        assert server._serve_accepted is None
        release.set()
        status, body = read_response(slow)
        assert status == b"HTTP/1.1 200 OK" and served_by(body).startswith("rocket-listener-")
        deadline = time.monotonic() + 5
        name = f"rocket-listener-{server.port}"
        while sum(t.name == name for t in threading.enumerate()) > 1:
            assert time.monotonic() < deadline, "the old accepting thread did not end"
            time.sleep(0.01)
        assert server.accept_serving == 0
        # After the back-off, the (new) accepting thread serves again.
        deadline = time.monotonic() + 10
        while not served_by(close_request(server.port)).startswith("rocket-listener-"):
            assert time.monotonic() < deadline, "serving on the accepting thread never resumed"
            time.sleep(0.05)
    finally:
        slow.close()


def test_a_graceful_stop_waits_for_a_request_on_the_accepting_thread(start_server, events):
    release, started = events
    server = start_server(make_app(release, started), min_threads=2, max_threads=4,
                          graceful_timeout=10)
    busy(server)
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
    try:
        sock.sendall(CLOSE.replace(b"/ ", b"/slow ", 1))
        assert started.wait(10)
        assert server.accept_serving == 1
        stopper = threading.Thread(target=server.stop)
        began = time.monotonic()
        stopper.start()
        time.sleep(0.3)  # the stop is under way, waiting for the request in flight
        assert stopper.is_alive()
        release.set()
        status, body = read_response(sock)
        assert status == b"HTTP/1.1 200 OK" and served_by(body).startswith("rocket-listener-")
        stopper.join(10)
        assert not stopper.is_alive()
        assert time.monotonic() - began < 5
    finally:
        sock.close()


def test_part_of_a_head_still_goes_to_the_monitor(start_server, events):
    server = start_server(make_app(*events), min_threads=2, max_threads=4)
    busy(server)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(CLOSE[:10])
        deadline = time.monotonic() + 5
        while not len(server.monitor):  # accepted, read once, and held by the monitor
            assert time.monotonic() < deadline, "the partial head never reached the monitor"
            time.sleep(0.01)
        sock.sendall(CLOSE[10:])
        status, body = read_response(sock)
    assert status == b"HTTP/1.1 200 OK"
    assert not served_by(body).startswith("rocket-listener-")


def test_tls_is_never_served_on_the_accepting_thread(start_server, events, tls_files):
    server = start_server(make_app(*events), interfaces=tls_interface(tls_files),
                          min_threads=2, max_threads=4)
    busy(server)
    for _ in range(3):
        status, body = raw_get(server.ports[0], context=client_context(tls_files))
        assert status == b"HTTP/1.1 200 OK"
        assert not served_by(body).startswith("rocket-listener-")
