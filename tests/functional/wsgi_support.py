"""Helpers for the WSGI functional tests: a running server and a raw-socket client."""

from __future__ import annotations

import contextlib
import socket
import time
from typing import Any, Iterator, Optional
from wsgiref.validate import validator

from rocket.http.client import ResponseParser
from rocket.http.events import NEED_DATA, ConnectionClosed, Data, EndOfMessage, Response


@contextlib.contextmanager
def running(app, validate=True, method="wsgi", app_info=None, **settings) -> Iterator[Any]:
    """A real Rocket serving ``app`` (wrapped in wsgiref.validate unless ``validate=False``) on
    127.0.0.1:0, started in the background and always stopped. ``server.port`` is the port."""
    from rocket import Rocket

    if app is not None and validate:
        app = validator(app)
    info = dict(app_info or {})
    if app is not None:
        info["wsgi_app"] = app
    settings.setdefault("handle_signals", False)
    settings.setdefault("server_name", "rocket-test")
    settings.setdefault("header_timeout", 5.0)
    settings.setdefault("body_timeout", 5.0)
    server = Rocket(("127.0.0.1", 0), method, info, **settings)
    server.start(background=True)
    try:
        server.port = server.ports[0]
        yield server
    finally:
        server.stop()


class RawClient:
    """A raw socket plus Rocket's response parser, for exact-bytes tests."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.parser = ResponseParser()
        self.raw = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv_all(self, timeout: float = 5.0) -> bytes:
        """Everything until the server closes (bounded by ``timeout``)."""
        deadline = time.monotonic() + timeout
        chunks = []
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)

    def response(self, method: bytes = b"GET", timeout: float = 5.0):
        """(Response, body bytes) of the next response."""
        self.parser.expect(method)
        head: Optional[Response] = None
        body = []
        deadline = time.monotonic() + timeout
        while True:
            event = self.parser.next_event()
            if event is NEED_DATA:
                if time.monotonic() > deadline:
                    raise TimeoutError("no complete response")
                data = self.sock.recv(65536)
                self.raw += data
                self.parser.feed(data)
                continue
            if isinstance(event, Response):
                head = event
            elif isinstance(event, Data):
                body.append(event.data)
            elif isinstance(event, EndOfMessage):
                return head, b"".join(body)
            elif isinstance(event, ConnectionClosed):
                raise ConnectionError("closed before a response")

    def closed(self, timeout: float = 2.0) -> bool:
        """True when the server closes the connection within ``timeout``."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionError:
            return True
        except socket.timeout:
            return False

    def close(self) -> None:
        self.sock.close()


def header(response, name: bytes) -> Optional[bytes]:
    """The value of ``name`` (lower-case bytes) in a parsed response, or None."""
    for key, value in response.headers:
        if key == name:
            return value
    return None
