"""Once no more body can be sent (HEAD, 204/304, Content-Length reached) the server stops
iterating the application's result and closes it (PEP 3333), even when it is endless."""

from __future__ import annotations

import logging
import socket
import threading
import time

from tests.apps import faults_app
from tests.functional.client import RawClient

SETTLE_S = 3.0
"""Bound for the server to close every generator after the clients got their answers."""


class Endless:
    """An endless iterable with a status and a header list; counts its live instances."""

    live = 0
    lock = threading.Lock()

    def __init__(self, start_response, status, headers, block=b"tick") -> None:
        start_response(status, headers)
        self.block = block
        with Endless.lock:
            Endless.live += 1
        self.closed = False

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        if self.closed:
            raise StopIteration
        return self.block

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with Endless.lock:
                Endless.live -= 1


def _endless_app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/204":
        return Endless(start_response, "204 No Content", [])
    if path == "/304":
        return Endless(start_response, "304 Not Modified", [])
    return Endless(start_response, "200 OK", [("Content-Length", "4")])


def _settled(check, bound: float = SETTLE_S) -> bool:
    end = time.monotonic() + bound
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return check()


def _cpu_of_next_second() -> float:
    """Process CPU seconds spent during one second of wall time (this process holds the server)."""
    before = time.process_time()
    time.sleep(1.0)
    return time.process_time() - before


def test_head_on_an_endless_generator_returns_and_closes_it(start_server):
    server = start_server(faults_app.app, access_log=False)
    answered = []
    started = time.monotonic()
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                piece = sock.recv(4096)
                assert piece, "the server closed before answering HEAD"
                head += piece
            answered.append(head.split(b"\r\n", 1)[0])
    assert answered == [b"HTTP/1.1 200 OK"] * 20
    assert time.monotonic() - started < 5.0
    assert _settled(lambda: faults_app.LIVE[0] == 0), \
        f"{faults_app.LIVE[0]} generator(s) still iterated, their finally never ran"
    assert _settled(lambda: server.figures()["busy"] == 0)
    assert _cpu_of_next_second() < 0.5                 # no thread left spinning


def test_keep_alive_head_then_get_on_the_same_connection(start_server):
    server = start_server(faults_app.app, access_log=False)
    client = RawClient(server.port)
    try:
        client.send(b"HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        head, body = client.response(method=b"HEAD")
        assert head.status == 200 and body == b""
        client.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        head, body = client.response()
        assert head.status == 200 and body.startswith(b"ok ")
    finally:
        client.close()
    assert _settled(lambda: faults_app.LIVE[0] == 0)


def test_204_304_and_a_satisfied_content_length_stop_an_endless_iterable(start_server, caplog):
    server = start_server(_endless_app, access_log=False)
    client = RawClient(server.port)
    try:
        with caplog.at_level(logging.WARNING, logger="Rocket.Errors"):
            for path, status in ((b"/204", 204), (b"/304", 304), (b"/cl", 200), (b"/cl", 200)):
                client.send(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
                head, body = client.response()
                assert head.status == status
                assert body == (b"tick" if status == 200 else b"")
            assert _settled(lambda: Endless.live == 0), \
                f"{Endless.live} endless iterable(s) never closed"
    finally:
        client.close()
    overflow = [r for r in caplog.records if "more than its Content-Length" in r.getMessage()]
    assert len(overflow) == 2                          # once per response, not once per block
