"""HTTP/2 servers for the tests and a frame-level client that can send what ``h2`` refuses to.

- :data:`TARGET` is the server the HTTP/2 tests talk to: ``rocket`` when Rocket has the
  ``http2`` setting, else ``hypercorn`` (a peer that speaks h2 and h2c, so that the clients here
  can be checked before Rocket serves HTTP/2); ``ROCKET_H2_TARGET`` overrides it.
- :class:`Endpoint` is one started server: its port, TLS or not, and its process id (the test
  process for Rocket, a child for hypercorn) to read the resident memory of.
- :class:`FrameClient` speaks raw frames (RFC 9113 §4.1) over TCP or TLS with ALPN ``h2``; header
  blocks are HPACK literals written here, so names, order and sizes are the test's to choose.
"""

from __future__ import annotations

import importlib
import os
import select
import socket
import ssl
import struct
import subprocess
import sys
import time
from typing import Iterable, List, NamedTuple, Optional, Sequence, Tuple

import pytest
from hpack import Decoder  # h2's own dependency

from rocket.config.settings import SETTINGS


def rocket_has_http2() -> bool:
    """Whether this Rocket has the ``http2`` setting and the ``h2`` library to back it."""
    try:
        importlib.import_module("h2")
    except ImportError:
        return False
    return any(s.name == "http2" for s in SETTINGS)


TARGET = os.environ.get("ROCKET_H2_TARGET") or ("rocket" if rocket_has_http2() else "hypercorn")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

rocket_only = pytest.mark.skipif(
    TARGET != "rocket", reason="checks a defence of Rocket's HTTP/2 (this Rocket has no http2)")

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types (RFC 9113 §6) and flags.
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS_FRAME, PUSH_PROMISE = 0, 1, 2, 3, 4, 5
PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 6, 7, 8, 9
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20

# Error codes (RFC 9113 §7).
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR = 0x0, 0x1, 0x2, 0x3
STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL = 0x5, 0x6, 0x7, 0x8
COMPRESSION_ERROR, ENHANCE_YOUR_CALM = 0x9, 0xB

# SETTINGS identifiers (RFC 9113 §6.5.2).
HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS = 0x1, 0x2, 0x3
INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, MAX_HEADER_LIST_SIZE = 0x4, 0x5, 0x6

Header = Tuple[bytes, bytes]


class Frame(NamedTuple):
    """One frame as read: type, flags, stream id and payload."""

    type: int
    flags: int
    stream_id: int
    payload: bytes

    @property
    def error_code(self) -> int:
        """The error code of a GOAWAY or RST_STREAM."""
        offset = 4 if self.type == GOAWAY else 0
        return int(struct.unpack(">I", self.payload[offset:offset + 4])[0])


def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """The bytes of one frame (RFC 9113 §4.1), whatever its fields say."""
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", kind, flags, stream_id) + payload


def settings(*pairs: Tuple[int, int]) -> bytes:
    """A SETTINGS frame with these (identifier, value) pairs."""
    return frame(SETTINGS_FRAME, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def hpack_int(value: int, prefix_bits: int, first: int = 0) -> bytes:
    """An HPACK integer (RFC 7541 §5.1) whose first byte carries the high bits ``first``."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out, value = [first | limit], value - limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    return bytes(out + [value])


def literal(name: bytes, value: bytes, indexed: bool = False) -> bytes:
    """One header as an HPACK literal with a literal name (RFC 7541 §6.2.1 / §6.2.2), no Huffman;
    ``indexed`` adds it to the dynamic table."""
    head = b"\x40" if indexed else b"\x00"
    return head + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value


def block(headers: Iterable[Header]) -> bytes:
    """A header block of literals, in the given order and case."""
    return b"".join(literal(n, v) for n, v in headers)


def request_headers(path: bytes = b"/", method: bytes = b"GET", scheme: bytes = b"http",
                    extra: Sequence[Header] = ()) -> List[Header]:
    """The pseudo-headers of a request followed by ``extra``."""
    return [(b":method", method), (b":scheme", scheme), (b":path", path),
            (b":authority", b"127.0.0.1")] + list(extra)


class Endpoint(NamedTuple):
    """A started HTTP/2 server."""

    port: int
    tls: bool
    pid: int
    server: object = None

    def rss_bytes(self) -> int:
        """The server process's resident memory."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS line")


def client_context() -> ssl.SSLContext:
    """A TLS client context offering ALPN ``h2`` that does not check the test certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    return ctx


class FrameClient:
    """A raw HTTP/2 client: ``send`` bytes, ``read_frame``, and waits for what the server does."""

    def __init__(self, endpoint: Endpoint, preface: bytes = PREFACE + settings(),
                 timeout: float = 5.0) -> None:
        sock = socket.create_connection(("127.0.0.1", endpoint.port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if endpoint.tls:
            sock = client_context().wrap_socket(sock, server_hostname="localhost")
            assert sock.selected_alpn_protocol() == "h2"
        self.sock = sock
        self.buffer = b""
        self.eof = False
        self.frames: List[Frame] = []
        self.decoder = Decoder()
        if preface:
            self.send(preface)

    def send(self, *data: bytes) -> None:
        """Send these bytes as they are."""
        self.sock.sendall(b"".join(data))

    def handshake(self, timeout: float = 5.0) -> Frame:
        """Wait for the server's SETTINGS, acknowledge it, and return it."""
        first = self.read_frame(timeout)
        assert first is not None and first.type == SETTINGS_FRAME and not first.flags & ACK, first
        self.send(frame(SETTINGS_FRAME, ACK, 0))
        return first

    def request(self, stream_id: int, headers: Sequence[Header], end_stream: bool = True) -> None:
        """Send one HEADERS frame carrying the whole block."""
        flags = END_HEADERS | (END_STREAM if end_stream else 0)
        self.send(frame(HEADERS, flags, stream_id, block(headers)))

    def read_frame(self, timeout: float = 5.0) -> Optional[Frame]:
        """The next frame, or None at EOF (or a reset); AssertionError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            got = self._buffered_frame()
            if got is not None or self.eof:
                return got
            left = deadline - time.monotonic()
            assert left > 0, f"no frame within {timeout} s; got {self.frames[-5:]}"
            self._fill(left)

    def _buffered_frame(self) -> Optional[Frame]:
        if len(self.buffer) < 9:
            return None
        length = int.from_bytes(self.buffer[:3], "big")
        if len(self.buffer) < 9 + length:
            return None
        kind, flags, sid = struct.unpack(">BBI", self.buffer[3:9])
        got = Frame(kind, flags, sid & 0x7FFFFFFF, self.buffer[9:9 + length])
        self.buffer = self.buffer[9 + length:]
        self.frames.append(got)
        return got

    def read_available(self) -> List[Frame]:
        """The frames that arrived so far, without waiting (before the peer's reset can
        discard them)."""
        if not self.eof:
            self._fill(0)
        got: List[Frame] = []
        frame_ = self._buffered_frame()
        while frame_ is not None:
            got.append(frame_)
            frame_ = self._buffered_frame()
        return got

    def _fill(self, timeout: float) -> None:
        if not (isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()):
            readable, _, _ = select.select([self.sock], [], [], timeout)
            if not readable:
                return
        try:
            data = self.sock.recv(65536)
        except (ConnectionError, ssl.SSLError):
            data = b""
        if not data:
            self.eof = True
        self.buffer += data

    def wait_for(self, kinds: Sequence[int], stream_id: Optional[int] = None,
                 timeout: float = 5.0) -> Optional[Frame]:
        """The first frame of one of ``kinds`` (on ``stream_id`` when given), answering PINGs
        and SETTINGS on the way; None when the connection closed first."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.read_frame(max(0.01, deadline - time.monotonic()))
            if got is None:
                return None
            if got.type in kinds and (stream_id is None or got.stream_id == stream_id):
                return got
            if got.type == SETTINGS_FRAME and not got.flags & ACK:
                self.send(frame(SETTINGS_FRAME, ACK, 0))

    def response(self, stream_id: int, timeout: float = 5.0) -> Tuple[bytes, bytes]:
        """The ``:status`` and body of a stream's response (status decoded with ``hpack``);
        opens the windows as DATA arrives."""
        status, body = b"", b""
        while True:
            got = self.wait_for((HEADERS, DATA, RST_STREAM, GOAWAY), timeout=timeout)
            assert got is not None, "connection closed before the response ended"
            assert got.type not in (RST_STREAM, GOAWAY), got
            if got.stream_id != stream_id:
                continue
            if got.type == HEADERS:
                fields = dict(self.decoder.decode(got.payload, raw=True))
                status = status or fields.get(b":status", b"")
            else:
                body += got.payload
                if got.payload:
                    increment = struct.pack(">I", len(got.payload))
                    self.send(frame(WINDOW_UPDATE, 0, 0, increment),
                              frame(WINDOW_UPDATE, 0, stream_id, increment))
            if got.flags & END_STREAM:
                return status, body

    def connection_error(self, timeout: float = 5.0) -> Optional[int]:
        """The GOAWAY error code the server sent before closing, or None when it just closed;
        AssertionError when it neither closed nor sent GOAWAY within ``timeout`` s."""
        got = self.goaway() or self.wait_for((GOAWAY,), timeout=timeout)
        if got is None:
            return None
        return got.error_code

    def goaway(self) -> Optional[Frame]:
        """The GOAWAY read so far, if any."""
        return next((f for f in self.frames if f.type == GOAWAY), None)

    def stream_error(self, stream_id: int, timeout: float = 5.0) -> Tuple[str, Optional[int]]:
        """``("reset", code)``, ``("goaway", code)`` or ``("closed", None)``: how the server
        refused ``stream_id`` (h2spec accepts any of the three for a stream error)."""
        got = self.wait_for((RST_STREAM, GOAWAY), stream_id=None, timeout=timeout)
        while got is not None and got.type == RST_STREAM and got.stream_id != stream_id:
            got = self.wait_for((RST_STREAM, GOAWAY), timeout=timeout)
        if got is None:
            return "closed", None
        return ("reset" if got.type == RST_STREAM else "goaway"), got.error_code

    def closed(self, timeout: float = 5.0) -> bool:
        """Whether the server closed the connection within ``timeout`` s (frames skipped)."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self._fill(deadline - time.monotonic())
        return self.eof

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()


def get_ok(endpoint: Endpoint, path: bytes = b"/", timeout: float = 5.0) -> bytes:
    """One GET on a new connection; asserts a 200 and returns the body."""
    client = FrameClient(endpoint, timeout=timeout)
    try:
        client.handshake(timeout)
        scheme = b"https" if endpoint.tls else b"http"
        client.request(1, request_headers(path, scheme=scheme))
        status, body = client.response(1, timeout)
        assert status == b"200", status
        return body
    finally:
        client.close()


def start_hypercorn(app_spec: str, tls_files=None, extra: Sequence[str] = ()) -> Tuple[
        subprocess.Popen, int]:
    """hypercorn serving ``module:app`` on a socket bound here (127.0.0.1, port 0)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    args = [sys.executable, "-m", "hypercorn", "--bind", f"fd://{listener.fileno()}", *extra]
    if tls_files is not None:
        args += ["--certfile", tls_files.cert_path, "--keyfile", tls_files.key_path]
    try:
        proc = subprocess.Popen(args + [app_spec], pass_fds=[listener.fileno()], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        port = listener.getsockname()[1]
        listener.close()
    return proc, port


def load_app(app_spec: str):
    """The WSGI callable named by ``module:attr``."""
    module, _, attr = app_spec.partition(":")
    return getattr(importlib.import_module(module), attr)
