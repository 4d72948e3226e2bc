"""Many connections: idle keep-alive clients cost no thread, the pool flexes for slow apps,
and keep-alive connections never pin the threads of a fixed pool."""

from __future__ import annotations

import resource
import selectors
import socket
import threading
import time

import pytest

from tests.apps import hello
from tests.functional.client import read_response


def sleepy(environ, start_response):
    time.sleep(0.5)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"slept"]


REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture
def nofile_limit():
    """Raise the soft descriptor limit for the test (both ends of 1,000 connections)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if wanted < 2300:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is too low")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_thousand_idle_keep_alive_connections_cost_no_threads(start_server, nofile_limit):
    server = start_server(hello.app, min_threads=4, linger=0.02)
    port = server.ports[0]
    socks = []
    try:
        for _ in range(1000):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(REQUEST)
            socks.append(sock)
        for sock in socks:
            assert read_response(sock) == (b"HTTP/1.1 200 OK", b"Hello, World!")
        deadline = time.monotonic() + 10
        # A thread that parked the last connections comes back to the pool a moment later.
        while time.monotonic() < deadline:
            info = server.info()
            if info["connections_idle"] >= 1000 and info["threads_busy"] == 0:
                break
            time.sleep(0.05)
        info = server.info()
        assert info["connections_idle"] == 1000
        # parked connections hold no thread (the pool grew for the connect burst, it will
        # shrink back slowly; it never needs one thread per connection)
        assert info["threads_busy"] == 0 and info["threads"] < 500
        t0 = time.monotonic()
        fresh = socket.create_connection(("127.0.0.1", port), timeout=5)
        fresh.sendall(REQUEST)
        assert read_response(fresh)[0] == b"HTTP/1.1 200 OK"
        assert time.monotonic() - t0 < 0.5
        fresh.close()
        # every parked connection is still usable
        for sock in socks[::50]:
            sock.sendall(REQUEST)
            assert read_response(sock)[0] == b"HTTP/1.1 200 OK"
    finally:
        for sock in socks:
            sock.close()


def test_sixty_four_slow_requests_finish_together(start_server):
    server = start_server(sleepy)  # defaults: min 10, max unbounded
    port = server.ports[0]
    results = []

    def one():
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall(REQUEST)
            results.append(read_response(sock))

    threads = [threading.Thread(target=one) for _ in range(64)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    elapsed = time.monotonic() - t0
    assert results == [(b"HTTP/1.1 200 OK", b"slept")] * 64
    assert elapsed < 3.0, f"64 x 0.5 s took {elapsed:.1f} s: the pool did not flex"


def test_keep_alive_clients_do_not_pin_a_fixed_pool(start_server):
    """64 clients looping requests on 8 threads: every client is served (Rocket 1.x: 8)."""
    server = start_server(hello.app, min_threads=8, max_threads=8,
                          linger=1.0)  # a long linger: only yielding can serve them all
    port = server.ports[0]
    counts = [0] * 64
    stop_at = time.monotonic() + 1.5

    def client(i):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            while time.monotonic() < stop_at:
                sock.sendall(REQUEST)
                if read_response(sock)[0] != b"HTTP/1.1 200 OK" or time.monotonic() > stop_at:
                    return  # only responses within the window count
                counts[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    served = sum(1 for c in counts if c)
    assert served == 64, f"only {served} of 64 keep-alive clients got a response"


def test_busy_connections_beyond_the_threads_take_turns(start_server):
    """40 clients, each always with a request outstanding, on 2 threads: the server serves
    them in turn, so each gets at least half its share of the first 2,000 responses (50 if
    even). Before connections took turns through the queue, some got none of them and others
    four times their share. Only starvation is judged: while the monitor's thread waits for
    the CPU (the machine busy with other work), nothing tells a pool thread that others wait,
    and one connection can get a run of tens of answers (runs of 54 and 66, up to 211 of the
    2,000 for one connection, under two CPU hogs, on CPython and PyPy alike), which a bound on
    the most served connection failed on now and then."""
    server = start_server(hello.app, min_threads=2, max_threads=2)
    port = server.ports[0]
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(40)]
    selector = selectors.DefaultSelector()
    order = []
    try:
        for index, sock in enumerate(socks):
            selector.register(sock, selectors.EVENT_READ, index)
            sock.sendall(REQUEST)
        deadline = time.monotonic() + 20
        while len(order) < 2000 and time.monotonic() < deadline:
            for key, _ in selector.select(1):
                assert read_response(key.fileobj) == (b"HTTP/1.1 200 OK", b"Hello, World!")
                order.append(key.data)
                key.fileobj.sendall(REQUEST)
    finally:
        selector.close()
        for sock in socks:
            sock.close()
    assert len(order) >= 2000
    counts = [order[:2000].count(index) for index in range(40)]
    assert min(counts) >= 25, counts
