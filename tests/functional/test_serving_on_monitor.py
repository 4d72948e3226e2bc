"""A saturated server serves keep-alive requests on the monitor's thread (rocket.net.monitor,
"Serving on the monitor's thread"): every client still gets its own environ and its answers,
a slow request there does not hold the others, and a graceful stop waits for it."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from rocket.server import wsgi as wsgi_module
from tests.functional.client import read_response


class Saturated:
    """A process CPU clock reading one whole CPU per wall second: the pool's measure of a
    saturated interpreter lock, without burning a CPU in the test."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() - self.start


def saturate_pool(server) -> None:
    """Make the pool read a saturated lock from its next tick on."""
    server.pool.process_time = Saturated()
    deadline = time.monotonic() + 5
    while not server.pool.cpu_bound:
        assert time.monotonic() < deadline, "the pool never read a saturated lock"
        time.sleep(0.01)


def saturate(server) -> None:
    """:func:`saturate_pool`, then wait until the monitor serves on its thread."""
    saturate_pool(server)
    deadline = time.monotonic() + 5
    while not server.monitor.inline:
        assert time.monotonic() < deadline, "the monitor never started serving on its thread"
        time.sleep(0.01)


def request(sock: socket.socket, path: str = "/") -> bytes:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    status, body = read_response(sock)
    assert status == b"HTTP/1.1 200 OK", status
    return body


def make_app(release: threading.Event, started: threading.Event):
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            started.set()
            release.wait(10)
        body = " ".join([environ["REMOTE_PORT"], threading.current_thread().name]).encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    return app


@pytest.fixture
def events(monkeypatch):
    """(release, started) for the app's /slow; the monitor serves whenever saturated (PyPy's
    default; CPython waits for a crowd, see the last test)."""
    monkeypatch.setattr(wsgi_module, "SERVE_ON_MONITOR_BEYOND", 0)
    release, started = threading.Event(), threading.Event()
    yield release, started
    release.set()


def test_each_connection_keeps_its_own_environ_when_served_on_the_monitor(start_server, events):
    server = start_server(make_app(*events), min_threads=2, max_threads=4)
    socks = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(8)]
    try:
        saturate(server)
        threads = set()
        for _ in range(20):
            for sock in socks:
                port, thread = request(sock).decode().split()
                assert int(port) == sock.getsockname()[1]  # REMOTE_PORT of this connection
                threads.add(thread)
        assert "rocket-monitor" in threads
        assert server.monitor.served_here > 0
    finally:
        for sock in socks:
            sock.close()


def test_a_slow_request_on_the_monitor_thread_does_not_hold_the_others(start_server, events):
    release, started = events
    server = start_server(make_app(release, started), min_threads=2, max_threads=4)
    slow = socket.create_connection(("127.0.0.1", server.port), timeout=20)
    others = [socket.create_connection(("127.0.0.1", server.port), timeout=20)
              for _ in range(6)]
    try:
        saturate(server)
        for sock in [slow] + others:
            request(sock)  # the first request of each goes to the pool; then they are parked
        while True:
            slow.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            assert started.wait(10)
            if server.monitor.serving:  # the monitor took it (it may have been a pool thread)
                break
            release.set()
            assert read_response(slow)[0] == b"HTTP/1.1 200 OK"
            release.clear()
            started.clear()
        assert server.figures()["busy"] >= 1  # counted as a pool thread's request would be
        # The monitor's thread is in the application: the others are answered all the same.
        for sock in others:
            request(sock)
        assert server.monitor.takeovers >= 1
        release.set()
        assert read_response(slow)[0] == b"HTTP/1.1 200 OK"
        deadline = time.monotonic() + 5
        while sum(t.name == "rocket-monitor" for t in threading.enumerate()) > 1:
            assert time.monotonic() < deadline, "the old monitor thread did not end"
            time.sleep(0.01)
        for sock in [slow] + others:  # everything works on after the hand-over
            request(sock)
    finally:
        for sock in [slow] + others:
            sock.close()


def test_a_graceful_stop_waits_for_a_request_on_the_monitor_thread(start_server, events):
    release, started = events
    server = start_server(make_app(release, started), min_threads=2, max_threads=4,
                          graceful_timeout=10)
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
    try:
        saturate(server)
        request(sock)
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        assert started.wait(10)
        if server.monitor.serving:  # on the monitor's thread: counted busy, as on the pool's
            assert server.figures()["busy"] >= 1 and server.info()["threads_busy"] >= 1
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        time.sleep(0.3)  # the stop is under way, waiting for the request in flight
        assert stopper.is_alive()
        release.set()
        status, _ = read_response(sock)
        assert status == b"HTTP/1.1 200 OK"
        stopper.join(10)
        assert not stopper.is_alive()
    finally:
        sock.close()


def test_on_cpython_serving_on_the_monitor_waits_for_a_crowd(start_server, monkeypatch):
    """With ``SERVE_ON_MONITOR_BEYOND`` (CPython's default) a few busy clients keep their pool
    threads, and the monitor serves only once more connections are ready than the threads
    plus that many."""
    monkeypatch.setattr(wsgi_module, "SERVE_ON_MONITOR_BEYOND", 8)
    release, started = threading.Event(), threading.Event()
    release.set()
    server = start_server(make_app(release, started), min_threads=2, max_threads=2)
    assert server.monitor.crowd == 10
    few = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(3)]
    many = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(30)]
    try:
        saturate_pool(server)
        stop_at = time.monotonic() + 0.5
        while time.monotonic() < stop_at:
            for sock in few:
                request(sock)
        assert server.monitor.served_here == 0
        request_line = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        deadline = time.monotonic() + 10
        rounds = 0
        while server.monitor.served_here == 0 or rounds < 20:
            assert time.monotonic() < deadline, "a crowd of 30 never got served on the monitor"
            for sock in many:  # 30 requests outstanding at once
                sock.sendall(request_line)
            for sock in many:
                assert read_response(sock)[0] == b"HTTP/1.1 200 OK"
            rounds += 1
    finally:
        for sock in few + many:
            sock.close()


def test_none_turns_serving_on_the_monitor_off(start_server, monkeypatch):
    monkeypatch.setattr(wsgi_module, "SERVE_ON_MONITOR_BEYOND", None)
    release, started = threading.Event(), threading.Event()
    release.set()
    server = start_server(make_app(release, started), min_threads=2, max_threads=2)
    assert server.monitor.serve_here is None
    saturate_pool(server)
    socks = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(4)]
    try:
        for _ in range(10):
            for sock in socks:
                assert request(sock).split()[1] != b"rocket-monitor"
        assert not server.monitor.inline and server.monitor.served_here == 0
    finally:
        for sock in socks:
            sock.close()
