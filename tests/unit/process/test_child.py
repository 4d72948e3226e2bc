"""The worker-process side: progress for the heartbeat, and the graceful drain run on a real
in-process server."""

from __future__ import annotations

import http.client
import socket
import threading
import time

from rocket.config.settings import Interface
from rocket.net.binding import bind_socket
from rocket.process.child import (
    AcceptBalancer,
    Progress,
    build_server,
    graceful_stop,
    server_figures,
)
from rocket.process.scoreboard import Board


def test_progress_idle_counts_as_progress_busy_without_change_does_not():
    progress = Progress(now=0.0)
    assert progress.update(1.0, requests=0, handled=0, busy=0, queued=0) == 1.0
    assert progress.update(2.0, requests=5, handled=1, busy=1, queued=0) == 2.0
    assert progress.update(3.0, requests=5, handled=1, busy=1, queued=0) == 2.0   # stuck
    assert progress.update(4.0, requests=5, handled=1, busy=0, queued=1) == 2.0   # stuck
    assert progress.update(5.0, requests=6, handled=1, busy=1, queued=0) == 5.0


def test_build_server_passes_the_table_queue_size_and_drops_arbiter_settings():
    server = build_server(_slow_app, {"queue_size": 500, "max_threads": 10, "workers": 3,
                                      "max_requests": 100, "handle_signals": True}, [])
    assert server.config.queue_size == 500          # not Rocket 1.x's positional (backlog) one
    assert server.config.workers == 3 and server.config.max_requests == 0
    assert server.config.handle_signals is False and server.in_worker_process


def _slow_app(environ, start_response):
    time.sleep(float(environ.get("QUERY_STRING") or 0))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def _server():
    sock = bind_socket(Interface("127.0.0.1", 0), backlog=16)
    server = build_server(_slow_app, {"bind": [Interface("127.0.0.1", sock.getsockname()[1])],
                                      "access_log": False, "workers": 2}, [sock])
    server.start(background=True)
    return server, sock


def test_graceful_stop_finishes_in_flight_requests_then_closes_connections():
    server, sock = _server()
    port = sock.getsockname()[1]
    answers = []

    def request() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/?0.5")
        resp = conn.getresponse()
        answers.append((resp.status, resp.read()))
        answers.append(conn.sock.recv(1))           # then the server closes, between requests
        conn.close()

    idle = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        idle.request("GET", "/")
        assert idle.getresponse().read() == b"ok"   # now an idle keep-alive connection
        thread = threading.Thread(target=request)
        thread.start()
        time.sleep(0.2)
        assert server_figures(server)["busy"] >= 1
        assert graceful_stop(server, timeout=5.0) is True
        thread.join(5)
        assert answers == [(200, b"ok"), b""]
        assert idle.sock.recv(1) == b""              # closed cleanly, no reset
        assert not server.running
        assert sock.fileno() >= 0                    # the shared socket stays open
    finally:
        idle.close()
        server.stop()
        sock.close()


def test_graceful_stop_cuts_requests_after_the_timeout():
    server, sock = _server()
    port = sock.getsockname()[1]
    outcome = []

    def request() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/?1.5")
            outcome.append(conn.getresponse().status)
        except OSError as exc:
            outcome.append(type(exc).__name__)
        finally:
            conn.close()

    thread = threading.Thread(target=request)
    thread.start()
    try:
        time.sleep(0.2)
        started = time.monotonic()
        assert graceful_stop(server, timeout=0.3) is False
        assert time.monotonic() - started < 7.0
        thread.join(10)
        assert outcome and outcome[0] != 200         # cut: the client never gets an answer
    finally:
        server.stop()
        sock.close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_accept_balancer_steps_back_when_ahead_but_only_briefly():
    board = Board(entries=4)
    clock = FakeClock()
    mine = {"count": 0}
    balancer = AcceptBalancer(board, 0, lambda: mine["count"], slack=1, max_defer_s=0.01,
                              clock=clock)
    try:
        assert balancer.has_room()                 # alone: always
        board.set(2, 0)                            # a sibling with no connection
        mine["count"] = 1
        assert balancer.has_room()                 # within the slack
        mine["count"] = 3
        assert not balancer.has_room()             # ahead: let the sibling accept
        assert board.counts()[0] == 3              # and our count is published
        clock.now += 0.005
        assert not balancer.has_room()
        clock.now += 0.006
        assert balancer.has_room()                 # never more than max_defer_s
        board.set(2, 5)
        assert balancer.has_room()
        full = AcceptBalancer(board, 0, lambda: 0, has_room=lambda: False)
        assert not full.has_room()                 # the pool's own limit still applies
    finally:
        board.close()


def test_graceful_stop_still_answers_a_parked_connection_whose_request_arrives_late():
    server, sock = _server()
    port = sock.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        time.sleep(0.3)  # accepted, nothing sent: the worker lingers, then parks it
        assert len(server.monitor) == 1
        stopper = threading.Thread(target=graceful_stop, args=(server, 5.0))
        stopper.start()
        # The request is "on its way" just as the listeners are done: the moment the monitor
        # used to close every parked connection.
        deadline = time.monotonic() + 5
        while any(lst._thread is not None for lst in server.listeners):
            assert time.monotonic() < deadline
            time.sleep(0.005)
        client.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        reply = b""
        while True:
            chunk = client.recv(65536)
            if not chunk:
                break
            reply += chunk
        stopper.join(10)
        assert reply.startswith(b"HTTP/1.1 200 ")
        assert b"\r\nConnection: close\r\n" in reply and reply.endswith(b"ok")
    finally:
        client.close()
        server.stop()
        sock.close()
