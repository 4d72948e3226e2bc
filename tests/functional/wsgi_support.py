"""Helpers for the WSGI functional tests: a running server and a raw-socket client."""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
import time
import types
from typing import Iterator, Optional
from wsgiref.validate import validator

from rocket.connection import Connection
from rocket.http.client import ResponseParser
from rocket.http.events import NEED_DATA, ConnectionClosed, Data, EndOfMessage, Response
from rocket.http.parser import Limits, RequestParser
from rocket.workers import get_worker_class


class _Server:
    """Thread-per-connection stand-in for the runtime, driving the real worker."""

    def __init__(self, app, method="wsgi", app_info=None, **config):
        config.setdefault("linger", 0.05)
        config.setdefault("header_timeout", 5.0)
        config.setdefault("body_timeout", 5.0)
        self.config = types.SimpleNamespace(**config)
        self.limits = Limits(**{k: config[k] for k in ("max_body", "max_request_line",
                                                       "max_header_bytes") if k in config})
        self.server_name = "rocket-test"
        self.software = "Rocket 2.0"
        info = dict(app_info or {})
        if app is not None:
            info["wsgi_app"] = app
        self.worker = get_worker_class(method)(info, self)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.conns = set()
        self.threads = []
        self.stopping = False
        self._accept = threading.Thread(target=self._accept_loop, daemon=True)
        self._accept.start()

    def _accept_loop(self):
        while not self.stopping:
            try:
                sock, addr = self.listener.accept()
            except OSError:
                return
            conn = Connection(sock, addr, sock.getsockname(), RequestParser(self.limits))
            self.conns.add(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, conn):
        try:
            while not self.stopping and self.worker.handle(conn):
                while not self.stopping:
                    readable, _, _ = select.select([conn.sock], [], [], 0.1)
                    if readable:
                        break
        except Exception:  # pragma: no cover - a worker bug: make the test see it
            logging.getLogger("test").exception("worker crashed")
            raise
        finally:
            conn.close()
            self.conns.discard(conn)

    def stop(self):
        self.stopping = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
        except OSError:
            pass
        self.listener.close()
        for conn in list(self.conns):
            conn.abort()
        for t in self.threads:
            t.join(2)
        self._accept.join(2)
        self.worker.close()


@contextlib.contextmanager
def running(app, validate=True, method="wsgi", app_info=None, **config) -> Iterator[_Server]:
    """Serve ``app`` (wrapped in wsgiref.validate unless ``validate=False``) on 127.0.0.1:0."""
    if app is not None and validate:
        app = validator(app)
    server = _Server(app, method=method, app_info=app_info, **config)
    try:
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
