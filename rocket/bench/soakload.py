"""The soak's application and its mixed client load (``python -m rocket.bench soak``).

The application (``rocket.bench.soakload:app``) never fails, so every 5xx the clients see was
made by the server itself. Each client thread runs scenarios drawn at random, on raw sockets
so that it can misbehave: keep-alive, close, pipelined, uploads (both framings), slow readers
and writers, resets in the middle of a request, bad requests and HEAD on an endless stream.
A scenario returns the statuses it saw; a response that breaks its scenario's expectation
raises :class:`Unexpected`, counted as a client-side error.
"""

from __future__ import annotations

import random
import socket
import struct
import time
from typing import Callable, Dict, Iterable, Iterator, List

from rocket.http.client import ResponseParser
from rocket.http.events import NEED_DATA, ConnectionClosed, Data, EndOfMessage, Response

BIG_BYTES = 1 << 20
UPLOAD_BYTES = 256 * 1024
TIMEOUT_S = 10.0
_TEXT = ("Content-Type", "text/plain")


def _forever() -> Iterator[bytes]:
    while True:
        yield b"data: tick\n\n"


def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    """``/`` hello, ``/big`` 1 MiB, ``/upload`` the body's length, ``/forever`` an endless
    event stream (no Content-Length); anything else 404."""
    path = environ.get("PATH_INFO", "/")
    if path == "/forever":
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        return _forever()
    if path == "/upload":
        body = str(len(environ["wsgi.input"].read())).encode()
    elif path == "/big":
        body = b"x" * BIG_BYTES
    elif path == "/":
        body = b"hello"
    else:
        start_response("404 Not Found", [_TEXT, ("Content-Length", "9")])
        return [b"not found"]
    start_response("200 OK", [_TEXT, ("Content-Length", str(len(body)))])
    return [body]


class Unexpected(Exception):
    """A response (or its absence) that the scenario's rules exclude."""


class IdleClose(Unexpected):
    """A reused connection closed before any byte of the response: the server may close an
    idle keep-alive connection at any time (RFC 9112 section 9.3.1), as a draining one does."""


class Conn:
    """One client connection with Rocket's response parser."""

    def __init__(self, port: int, rcvbuf: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(TIMEOUT_S)
        self.sock.connect(("127.0.0.1", port))
        self.parser = ResponseParser()
        self.answered = 0
        self.keep_alive = True

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as exc:
            if self.answered:
                raise IdleClose(repr(exc)) from None
            raise

    def response(self, method: bytes = b"GET", pace_bps: float = 0.0) -> tuple:
        """(status, body) of the next response; ``pace_bps`` reads it at about that rate."""
        self.parser.expect(method)
        status, body, started = 0, [], time.monotonic()
        size = 0
        while True:
            event = self.parser.next_event()
            if event is NEED_DATA:
                try:
                    data = self.sock.recv(16384 if pace_bps else 65536)
                except ConnectionResetError:
                    if self.answered and not size:
                        raise IdleClose("reset") from None
                    raise
                self.parser.feed(data)
                size += len(data)
                if pace_bps:
                    time.sleep(max(0.0, started + size / pace_bps - time.monotonic()))
            elif isinstance(event, Response):
                if event.status >= 200:
                    status = event.status
                    self.keep_alive = event.keep_alive
            elif isinstance(event, Data):
                body.append(event.data)
            elif isinstance(event, EndOfMessage):
                self.answered += 1
                return status, b"".join(body)
            elif isinstance(event, ConnectionClosed):
                if self.answered and not size:
                    raise IdleClose("closed")
                raise Unexpected(f"closed before a response to {method.decode()}")

    def reset(self) -> None:
        """Close with a TCP reset (SO_LINGER 0)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self) -> None:
        self.sock.close()


def _get(path: str, close: bool = False, method: str = "GET") -> bytes:
    extra = "Connection: close\r\n" if close else ""
    return f"{method} {path} HTTP/1.1\r\nHost: soak\r\n{extra}\r\n".encode()


def _expect(got: tuple, status: int, body: bytes = b"") -> int:
    if got[0] != status or (body and got[1] != body):
        raise Unexpected(f"wanted {status} {body[:20]!r}, got {got[0]} {got[1][:20]!r}")
    return got[0]


def keep_alive(port: int, rng: random.Random) -> List[int]:
    conn = Conn(port)
    try:
        out: List[int] = []
        for _ in range(rng.randint(2, 8)):
            if not conn.keep_alive:
                break
            try:
                conn.send(_get("/"))
                out.append(_expect(conn.response(), 200, b"hello"))
            except IdleClose:
                break
        return out
    finally:
        conn.close()


def close(port: int, rng: random.Random) -> List[int]:
    conn = Conn(port)
    try:
        conn.send(_get("/", close=True))
        status = _expect(conn.response(), 200, b"hello")
        if conn.sock.recv(1) != b"":
            raise Unexpected("the connection stayed open after Connection: close")
        return [status]
    finally:
        conn.close()


def pipelined(port: int, rng: random.Random) -> List[int]:
    paths = [rng.choice(["/", "/nope", "/big"]) for _ in range(rng.randint(2, 6))]
    conn = Conn(port)
    try:
        conn.send(b"".join(_get(p) for p in paths))
        out: List[int] = []
        for _ in paths:
            out.append(conn.response()[0])
            if not conn.keep_alive:
                break  # a draining server answers one and closes
        return out
    finally:
        conn.close()


def _upload_head(size: int, chunked: bool) -> bytes:
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    return f"POST /upload HTTP/1.1\r\nHost: soak\r\n{framing}\r\n\r\n".encode()


def _chunked(data: bytes, piece: int) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + piece]), data[i:i + piece])
                    for i in range(0, len(data), piece)) + b"0\r\n\r\n"


def upload(port: int, rng: random.Random) -> List[int]:
    chunked = rng.random() < 0.5
    data = bytes(rng.getrandbits(8) for _ in range(64)) * (UPLOAD_BYTES // 64)
    conn = Conn(port)
    try:
        conn.send(_upload_head(len(data), chunked) + (_chunked(data, 8192) if chunked else data))
        return [_expect(conn.response(), 200, str(len(data)).encode())]
    finally:
        conn.close()


def slow_reader(port: int, rng: random.Random) -> List[int]:
    conn = Conn(port, rcvbuf=16384)
    try:
        conn.send(_get("/big"))
        status, body = conn.response(pace_bps=BIG_BYTES / rng.uniform(0.5, 1.5))
        if len(body) != BIG_BYTES:
            raise Unexpected(f"/big gave {len(body)} bytes")
        return [status]
    finally:
        conn.close()


def slow_writer(port: int, rng: random.Random) -> List[int]:
    size = 64 * 1024
    conn = Conn(port)
    try:
        conn.send(_upload_head(size, chunked=False))
        for _ in range(size // 4096):
            conn.send(b"w" * 4096)
            time.sleep(rng.uniform(0.01, 0.04))
        return [_expect(conn.response(), 200, str(size).encode())]
    finally:
        conn.close()


def reset_mid_request(port: int, rng: random.Random) -> List[int]:
    conn = Conn(port)
    if rng.random() < 0.5:
        conn.send(b"GET /big HTTP/1.1\r\nHost: so")           # half a head
    else:
        conn.send(_upload_head(UPLOAD_BYTES, chunked=False) + b"x" * 1000)  # half a body
    time.sleep(rng.uniform(0.0, 0.05))
    conn.reset()
    return []


BAD_REQUESTS = (
    b"GET / HTTP/1.1\r\nHost: soak\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: soak\r\nContent-Length: abc\r\n\r\n",
    b"HELLO\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost : soak\r\n\r\n",
    b"POST /upload HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
)


def bad_request(port: int, rng: random.Random) -> List[int]:
    conn = Conn(port)
    try:
        conn.send(rng.choice(BAD_REQUESTS))
        status = conn.response()[0]
        if not 400 <= status < 500:
            raise Unexpected(f"a bad request got {status}")
        return [status]
    finally:
        conn.close()


def head_on_stream(port: int, rng: random.Random) -> List[int]:
    conn = Conn(port)
    try:
        conn.send(_get("/forever", method="HEAD"))
        first = _expect(conn.response(b"HEAD"), 200)
        if not conn.keep_alive:
            return [first]
        try:
            conn.send(_get("/"))
            return [first, _expect(conn.response(), 200, b"hello")]
        except IdleClose:
            return [first]
    finally:
        conn.close()


SCENARIOS: Dict[str, Callable[[int, random.Random], List[int]]] = {
    "keep-alive": keep_alive, "close": close, "pipelined": pipelined, "upload": upload,
    "slow-reader": slow_reader, "slow-writer": slow_writer, "reset": reset_mid_request,
    "bad-request": bad_request, "head-stream": head_on_stream,
}
WEIGHTS = {"keep-alive": 6, "close": 3, "pipelined": 3, "upload": 2, "slow-reader": 1,
           "slow-writer": 1, "reset": 2, "bad-request": 2, "head-stream": 2}


class Tally:
    """Per scenario: runs, responses by status class, and unexpected outcomes (examples)."""

    def __init__(self) -> None:
        self.runs: Dict[str, int] = dict.fromkeys(SCENARIOS, 0)
        self.statuses: Dict[str, int] = {}
        self.errors: Dict[str, int] = dict.fromkeys(SCENARIOS, 0)
        self.examples: List[str] = []

    def add(self, name: str, statuses: List[int]) -> None:
        self.runs[name] += 1
        for status in statuses:
            key = f"{status // 100}xx"
            self.statuses[key] = self.statuses.get(key, 0) + 1
            if status >= 500:
                self.examples.append(f"{name}: {status}")

    def failed(self, name: str, exc: BaseException) -> None:
        self.runs[name] += 1
        self.errors[name] += 1
        if len(self.examples) < 20:
            self.examples.append(f"{name}: {exc!r}")


def client_loop(port: int, seed: int, until: float, tally: Tally) -> None:
    """Run random scenarios until monotonic time ``until``."""
    rng = random.Random(seed)
    names = list(WEIGHTS)
    weights = [WEIGHTS[n] for n in names]
    while time.monotonic() < until:
        name = rng.choices(names, weights)[0]
        try:
            tally.add(name, SCENARIOS[name](port, rng))
        except (Unexpected, OSError) as exc:
            tally.failed(name, exc)
