"""Overload with real sockets: at max_connections the oldest idle connections are evicted, a
busy client never is, accepting pauses and recovers; a thread that cannot start leaves the
server serving; the pool bound holds under a burst; idle threads retire in bulk."""

from __future__ import annotations

import logging
import socket
import threading
import time

from rocket import Server
from tests.functional.client import read_response
from tests.unit.server.fakes import FailingThreadFactory

KEEP_ALIVE = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
CLOSE = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
BUSY_S = 3.0
"""How long the busy clients' requests take: longer than ACCEPT_POLL_S, so accepting pauses
while they run."""


def app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(float(environ.get("QUERY_STRING") or 0.8))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"done"]


def sleepy(seconds):
    def sleeping(environ, start_response):
        time.sleep(seconds)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"done"]
    return sleeping


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def request(port, data=KEEP_ALIVE, timeout=10.0):
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(data)
    return sock, read_response(sock)


def is_closed_by_server(sock):
    sock.settimeout(2)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def concurrent(port, count, data=CLOSE):
    """``count`` clients at once, each one request; returns their (status, body)."""
    results = [None] * count

    def client(i):
        sock, results[i] = request(port, data)
        sock.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_an_idle_flood_evicts_the_oldest_and_everyone_is_served(start_server):
    server = start_server(Server(app, port=0, max_connections=20, min_threads=2, linger=0.01))
    port = server.ports[0]
    old, new = [], []
    try:
        for _ in range(20):
            sock, response = request(port)
            assert response == (b"HTTP/1.1 200 OK", b"done")
            old.append(sock)
        assert wait_for(lambda: server.info()["idle_connections"] == 20, 5)
        for _ in range(20):
            sock, response = request(port)
            assert response == (b"HTTP/1.1 200 OK", b"done")
            new.append(sock)
        assert all(is_closed_by_server(sock) for sock in old)
        for sock in new:  # the newer ones were kept and serve the next request
            sock.sendall(KEEP_ALIVE)
            assert read_response(sock) == (b"HTTP/1.1 200 OK", b"done")
        info = server.info()
        assert info["evictions"] == 20 and info["max_connections"] == 20
        assert info["active_connections"] <= 20
    finally:
        for sock in old + new:
            sock.close()


def test_a_busy_client_is_never_evicted_and_accepting_pauses_then_recovers(start_server,
                                                                             caplog):
    server = start_server(Server(app, port=0, max_connections=4, min_threads=4))
    port = server.ports[0]
    busy = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(4)]
    try:
        with caplog.at_level(logging.WARNING, "Rocket.Errors.Admission"):
            sent = time.monotonic()
            for sock in busy:
                sock.sendall(b"GET /slow?%.1f HTTP/1.1\r\nHost: x\r\n\r\n" % BUSY_S)
            assert wait_for(lambda: server.info()["threads_busy"] == 4, 5)
            # has_room() counts a connection still in the monitor as idle, so a listener that
            # asked while the fourth was there waits in accept() (ACCEPT_POLL_S) and pauses
            # only when that times out; a client connecting before would be let in.
            assert wait_for(lambda: server.info()["accept_paused_s"] > 0, 5)
            late, response = request(port)  # waits in the listen backlog meanwhile
            answered_after_s = time.monotonic() - sent
            late.close()
            for sock in busy:  # each got its whole answer: none was evicted mid-request
                assert read_response(sock) == (b"HTTP/1.1 200 OK", b"done")
        assert response == (b"HTTP/1.1 200 OK", b"done")
        assert BUSY_S <= answered_after_s < BUSY_S + 5  # answered once a busy one was done
        info = server.info()
        assert info["accept_paused_s"] > 0.2 and info["evictions"] >= 1
        lines = [r.getMessage() for r in caplog.records if r.name.endswith("Admission")]
        assert len(lines) == 2, lines
        assert "max_connections (4) reached" in lines[0] and "again after" in lines[1]
        assert request(port, CLOSE)[1] == (b"HTTP/1.1 200 OK", b"done")  # service recovered
    finally:
        for sock in busy:
            sock.close()


def test_thread_start_failure_is_logged_once_and_the_server_keeps_serving(start_server,
                                                                           caplog):
    factory = FailingThreadFactory(allowed=3)

    class Starved(Server):
        thread_factory = staticmethod(factory)

    server = start_server(Starved(sleepy(0.05), port=0, min_threads=2))
    with caplog.at_level(logging.ERROR, "Rocket.Errors.ThreadPool"):
        results = concurrent(server.ports[0], 40)
    assert results == [(b"HTTP/1.1 200 OK", b"done")] * 40
    assert server.info()["threads"] == 3
    lines = [r for r in caplog.records if "cannot start a worker thread" in r.getMessage()]
    assert len(lines) == 1
    assert server.pool.start_failures < 15  # backed off: not one attempt per connection


def test_the_pool_bound_holds_under_a_burst(start_server):
    server = start_server(Server(sleepy(0.2), port=0, min_threads=1, max_threads=8))
    peak = [0]
    sampling = threading.Event()

    def sample():
        while not sampling.is_set():
            peak[0] = max(peak[0], server.info()["threads"])
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        results = concurrent(server.ports[0], 60)
    finally:
        sampling.set()
        sampler.join(5)
    assert results == [(b"HTTP/1.1 200 OK", b"done")] * 60
    assert peak[0] == 8


def test_idle_threads_retire_in_bulk(start_server):
    server = start_server(Server(sleepy(0.3), port=0, min_threads=2, thread_idle_timeout=0.5))
    results = concurrent(server.ports[0], 100)
    assert results == [(b"HTTP/1.1 200 OK", b"done")] * 100
    assert server.info()["threads"] > 50
    done_at = time.monotonic()
    # one thread per second, as before, would leave about 95 threads after 3 s
    assert wait_for(lambda: server.info()["threads"] == 2, 3)
    assert time.monotonic() - done_at < 2.5


def test_started_heads_are_not_counted_as_room_so_max_connections_holds(start_server):
    """Four connections each in the middle of a request head cannot be evicted: a fifth waits
    in the listen backlog instead of being let in as a fifth open connection, and is served
    once one of the four is done."""
    server = start_server(Server(app, port=0, max_connections=4, min_threads=2))
    port = server.ports[0]
    started = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(4)]
    late = None
    try:
        for sock in started:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # the head goes on later
        assert wait_for(lambda: server.info()["idle_connections"] == 4, 5)
        late = socket.create_connection(("127.0.0.1", port), timeout=10)
        late.sendall(CLOSE)
        time.sleep(1.5)  # longer than a listener's wait in accept() (ACCEPT_POLL_S)
        assert server.info()["active_connections"] == 4
        assert server.info()["received_connections"] == 4  # the fifth was not accepted
        started[0].sendall(b"Connection: close\r\n\r\n")
        assert read_response(started[0]) == (b"HTTP/1.1 200 OK", b"done")
        assert read_response(late) == (b"HTTP/1.1 200 OK", b"done")  # let in once room came
    finally:
        for sock in started + ([late] if late else []):
            sock.close()
