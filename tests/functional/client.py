"""The tests' HTTP clients, one of each kind:

- :func:`request` and :func:`get`: ``http.client`` (optionally TLS) for one exchange;
- :func:`raw_get`, :func:`keep_alive_get` and :func:`raw_request`: the bytes on a raw socket
  (TCP, optionally TLS), for tests that send or check exact bytes;
- :func:`unix_get`: the same over a unix socket;
- :class:`RawClient`: a raw socket plus Rocket's own response parser, for exact-bytes tests
  over one connection (pipelining, interim responses, timeouts).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from typing import Dict, List, NamedTuple, Optional, Tuple

from rocket.http.client import ResponseParser
from rocket.http.events import NEED_DATA, ConnectionClosed, Data, EndOfMessage, Response

LOCALHOST = "127.0.0.1"


class Reply(NamedTuple):
    """A whole response read by :func:`request`; ``headers`` is case-insensitive."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes


def request(port: int, path: str = "/", method: str = "GET", *,
            headers: Optional[Dict[str, str]] = None, context: Optional[ssl.SSLContext] = None,
            host: str = LOCALHOST, timeout: float = 5.0) -> Reply:
    """One request on a new ``http.client`` connection (HTTPS with ``context``), closed after."""
    if context is not None:
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        conn.close()


def get(port: int, path: str = "/", **options) -> Tuple[int, str]:
    """``(status, body text)`` of ``GET path``; ``options`` as for :func:`request`."""
    reply = request(port, path, **options)
    return reply.status, reply.body.decode()


def read_response(sock: socket.socket) -> Tuple[bytes, bytes]:
    """Read one Content-Length-framed response: (status line, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data.split(b"\r\n")[0], b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head.split(b"\r\n")[0], body


def read_to_eof(sock: socket.socket) -> bytes:
    """Every byte until the server closes the connection."""
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _connect(port: int, host: str, context: Optional[ssl.SSLContext],
             timeout: float) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=timeout)
    if context is None:
        return sock
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise


def keep_alive_get(port: int, path: str = "/", *, host: str = LOCALHOST,
                   context: Optional[ssl.SSLContext] = None,
                   timeout: float = 5.0) -> Tuple[bytes, socket.socket]:
    """``GET path`` on a new raw socket (TLS with ``context``) that stays open: (status line,
    the socket). The caller closes it."""
    sock = _connect(port, host, context, timeout)
    try:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        status, _ = read_response(sock)
    except BaseException:
        sock.close()
        raise
    return status, sock


def raw_get(port: int, path: str = "/", *, host: str = LOCALHOST,
            context: Optional[ssl.SSLContext] = None, timeout: float = 5.0) -> Tuple[bytes, bytes]:
    """``GET path`` on a new raw socket (TLS with ``context``), closed after: (status line,
    body)."""
    with _connect(port, host, context, timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        return read_response(sock)


def _request_to_eof(sock: socket.socket, target: str, method: str, timeout: float) -> bytes:
    sock.settimeout(timeout)
    sock.sendall(f"{method} {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                 .encode("latin-1"))
    chunks: List[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = sock.recv(65536)
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def raw_request(port: int, target: str, method: str = "GET", timeout: float = 5.0) -> bytes:
    """Send one request with the target byte-for-byte (no client normalization) and
    ``Connection: close``; everything read until EOF."""
    with socket.create_connection((LOCALHOST, port), timeout=timeout) as sock:
        return _request_to_eof(sock, target, method, timeout)


def unix_get(path: str, target: str = "/u", timeout: float = 5.0) -> str:
    """The whole response (head and body, decoded) to ``GET target`` on unix socket ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        return _request_to_eof(sock, target, "GET", timeout).decode()


def status_of(response: bytes) -> int:
    """The status code of a raw HTTP response."""
    return int(response.split(b" ", 2)[1])


class RawClient:
    """A raw socket plus Rocket's response parser, for exact-bytes tests."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection((LOCALHOST, port), timeout=timeout)
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
