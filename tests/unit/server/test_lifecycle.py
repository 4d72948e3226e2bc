"""The lifecycle shared by Rocket and SocketServer: figures(), the graceful drain (what a
worker process runs on SIGTERM) and the server a worker process builds, on a real server."""

from __future__ import annotations

import http.client
import socket
import threading
import time

from rocket.config.settings import Interface
from rocket.net.binding import bind_socket
from rocket.server.wsgi import build_server


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


def test_drain_finishes_in_flight_requests_then_closes_connections():
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
        assert server.figures()["busy"] >= 1
        assert server.drain(5.0) is True
        thread.join(5)
        assert answers == [(200, b"ok"), b""]
        assert idle.sock.recv(1) == b""              # closed cleanly, no reset
        assert not server.running
        assert sock.fileno() >= 0                    # the shared socket stays open
    finally:
        idle.close()
        server.stop()
        sock.close()


def _in_flight(port: int, seconds: str, outcome: list) -> threading.Thread:
    """A started thread sending ``GET /?seconds`` (the app sleeps that long) and recording the
    status, or the name of the error when the drain cut the request."""
    def request() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", f"/?{seconds}")
            outcome.append(conn.getresponse().status)
        except OSError as exc:
            outcome.append(type(exc).__name__)
        finally:
            conn.close()

    thread = threading.Thread(target=request)
    thread.start()
    return thread


def test_drain_cuts_requests_after_the_timeout():
    server, sock = _server()
    port = sock.getsockname()[1]
    outcome: list = []
    thread = _in_flight(port, "1.5", outcome)
    try:
        time.sleep(0.2)
        started = time.monotonic()
        assert server.drain(0.3) is False
        assert time.monotonic() - started < 7.0
        thread.join(10)
        assert outcome and outcome[0] != 200         # cut: the client never gets an answer
    finally:
        server.stop()
        sock.close()


def test_drain_still_answers_a_parked_connection_whose_request_arrives_late():
    server, sock = _server()
    port = sock.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        client.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert client.recv(65536).endswith(b"ok")
        time.sleep(0.3)  # answered: the worker lingers, then parks it
        assert len(server.monitor) == 1
        stopper = threading.Thread(target=server.drain, args=(5.0,))
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


def test_figures_count_requests_connections_and_parks_as_info_reports_them():
    server, sock = _server()
    port = sock.getsockname()[1]
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for _ in range(2):
            client.request("GET", "/")
            assert client.getresponse().read() == b"ok"
        deadline = time.monotonic() + 5
        def settled() -> bool:  # the worker lingered, parked it, and its thread is back idle
            figures = server.figures()
            return figures["idle"] == 1 and figures["busy"] == 0 and figures["handled"] >= 1

        while not settled():  # the pool counts a hand-off as handled after the park
            assert time.monotonic() < deadline
            time.sleep(0.01)
        figures = server.figures()
        assert figures["requests"] == 2 and figures["received"] == 1
        assert figures["connections"] == 1 and figures["parks"] >= 1
        assert figures["busy"] == figures["queued"] == 0 and figures["threads"] >= 1
        assert figures["handled"] >= 1
        info = server.info()
        assert (info["requests"], info["received_connections"], info["idle_connections"],
                info["active_connections"]) == (2, 1, 1, 1)
        assert info["threads"] == figures["threads"] and info["workers"] == []
    finally:
        client.close()
        server.stop()
        sock.close()


def test_drain_in_a_hurry_cuts_at_once_without_waiting_for_the_timeout():
    server, sock = _server()
    port = sock.getsockname()[1]
    outcome: list = []
    thread = _in_flight(port, "3", outcome)
    try:
        deadline = time.monotonic() + 5
        while server.figures()["busy"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        started = time.monotonic()
        hurry_at = started + 0.2
        hurry = lambda: time.monotonic() >= hurry_at  # noqa: E731
        assert server.drain(30.0, hurry=hurry, stop=False) is False  # as a worker process does
        assert time.monotonic() - started < 2.5      # well before the app's 3 s
        thread.join(10)
        assert outcome and outcome[0] != 200
    finally:
        server.stop()
        sock.close()
