"""Helpers for the slow-client tests: raw clients, probes, the fd limit."""

from __future__ import annotations

import resource
import socket
import ssl
import threading
import time
from typing import Any, Callable, List, Optional, Tuple

import pytest

GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
PARTIAL = b"GET / HTTP/1.1\r\nHost: x\r\n"


def hello(environ: Any, start_response: Any) -> List[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


def need_fds(count: int) -> None:
    """Raise the soft descriptor limit to ``count`` (skip when the hard limit is lower)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= count:
        return
    if hard != resource.RLIM_INFINITY and hard < count:
        pytest.skip(f"needs {count} file descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (count, hard))


def open_many(port: int, count: int, first_bytes: bytes = b"") -> List[socket.socket]:
    """``count`` connections, each having sent ``first_bytes``."""
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if first_bytes:
            sock.sendall(first_bytes)
        socks.append(sock)
    return socks


def recv_all(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Every byte until EOF (a reset raises)."""
    sock.settimeout(timeout)
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def timed_get(port: int, context: Optional[ssl.SSLContext] = None) -> Tuple[float, bytes]:
    """One GET on a new connection: (seconds, response bytes)."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        sock: Any = raw if context is None else context.wrap_socket(raw,
                                                                   server_hostname="127.0.0.1")
        sock.sendall(GET.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        data = recv_all(sock)
    return time.perf_counter() - started, data


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` every 10 ms for up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def closed_within(sock: socket.socket, seconds: float) -> Optional[bytes]:
    """What the server sent before closing ``sock`` within ``seconds``, or None when it is
    still open then."""
    sock.settimeout(seconds)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
    except socket.timeout:
        return None


class Dripper(threading.Thread):
    """Sends one byte per ``interval_s`` on each socket (a head, byte by byte) until stopped."""

    def __init__(self, socks: List[socket.socket], interval_s: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.socks = socks
        self.interval_s = interval_s
        self.stopped = threading.Event()

    def run(self) -> None:
        position = 0
        while not self.stopped.wait(self.interval_s):
            byte = PARTIAL[position % len(PARTIAL):][:1]
            position += 1
            for sock in self.socks:
                try:
                    sock.send(byte)
                except OSError:
                    pass
