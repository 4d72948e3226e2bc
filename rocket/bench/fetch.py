"""``python -m rocket.bench fetch URL``: one request, shown byte for byte, with its timings.

The response goes through the same client-side parser as ``load``, so what ``fetch`` reports
as the framing (Content-Length, chunked, close-delimited or none) is what the parser saw.
"""

from __future__ import annotations

import argparse
import socket
import ssl
import sys
import time
from typing import List, Optional, Tuple

from rocket.bench.target import Target, parse_header, parse_url
from rocket.http.client import ResponseParser, format_request
from rocket.http.errors import HTTPError
from rocket.http.events import NEED_DATA, ConnectionClosed, Data, EndOfMessage, Response

RECV_BYTES = 65536


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``fetch``."""
    p.add_argument("url", help="http[s]://HOST:PORT/PATH")
    p.add_argument("-X", "--method", default=None, help="GET, or POST when -d is given")
    p.add_argument("-d", "--data", default=None,
                   help="request body: text, or @FILE to send a file's bytes")
    p.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'",
                   help="extra request header (repeatable)")
    p.add_argument("--chunked", action="store_true",
                   help="send the body with Transfer-Encoding: chunked")
    p.add_argument("--raw", action="store_true",
                   help="show the exact bytes sent and received (escaped, line by line)")
    p.add_argument("--timeout", type=float, default=10.0, help="socket timeout in seconds")
    p.add_argument("--unix", metavar="PATH", help="connect to this unix socket (URL gives Host)")
    p.add_argument("-k", "--insecure", action="store_true",
                   help="https: do not verify the server certificate")


class Fetched:
    """The outcome of one request: bytes both ways, parsed head and body, timings (s)."""

    def __init__(self) -> None:
        self.sent = b""
        self.received = b""
        self.response: Optional[Response] = None
        self.body = b""
        self.data_events = 0
        self.trailers: List[Tuple[bytes, bytes]] = []
        self.complete = False
        self.connect_s = 0.0
        self.tls_s: Optional[float] = None
        self.first_byte_s: Optional[float] = None
        self.total_s = 0.0
        self.method = b"GET"

    def header(self, name: bytes) -> Optional[bytes]:
        """The first value of response header ``name`` (lower-case bytes), or None."""
        for k, v in self.response.headers if self.response else ():
            if k == name:
                return v
        return None

    @property
    def framing(self) -> str:
        """``none``, ``chunked``, ``length`` or ``close``: how the response body was delimited."""
        r = self.response
        if r is None:
            return "-"
        if self.method == b"HEAD" or r.status < 200 or r.status in (204, 304):
            return "none"
        te = self.header(b"transfer-encoding")
        if te is not None and te.lower().rsplit(b",", 1)[-1].strip() == b"chunked":
            return "chunked"
        if self.header(b"content-length") is not None:
            return "length"
        return "close"


def fetch(target: Target, method: bytes = b"GET", headers: Optional[list] = None,
          body: Optional[bytes] = None, chunked: bool = False, timeout_s: float = 10.0,
          verify: bool = True, unix_path: Optional[str] = None) -> Fetched:
    """Send one request to ``target`` and read the whole response; raises OSError/HTTPError."""
    out = Fetched()
    out.method = method
    hdrs = [("Host", target.host_header), ("User-Agent", "rocket-bench")] + list(headers or [])
    out.sent = format_request(method.decode("latin-1"), target.target.decode("latin-1"), hdrs,
                              body=body, chunked=chunked)
    t0 = time.perf_counter()
    if unix_path:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout_s)
        try:
            sock.connect(unix_path)
        except OSError:
            sock.close()
            raise
    else:
        sock = socket.create_connection(target.address, timeout=timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        out.connect_s = time.perf_counter() - t0
        if target.tls:
            ctx = ssl.create_default_context()
            if not verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock, server_hostname=target.host)
            out.tls_s = time.perf_counter() - t0
        sock.sendall(out.sent)
        parser = ResponseParser()
        parser.expect(method)
        received = []
        body_parts = []
        while not out.complete:
            data = sock.recv(RECV_BYTES)
            if out.first_byte_s is None:
                out.first_byte_s = time.perf_counter() - t0
            received.append(data)
            parser.feed(data)
            while True:
                ev = parser.next_event()
                if ev is NEED_DATA:
                    break
                if isinstance(ev, Response):
                    out.response = ev
                elif isinstance(ev, Data):
                    body_parts.append(ev.data)
                    out.data_events += 1
                elif isinstance(ev, EndOfMessage):
                    out.trailers = list(ev.trailers)
                    out.complete = True
                    break
                elif isinstance(ev, ConnectionClosed):
                    break
            if not data:
                break
        out.total_s = time.perf_counter() - t0
        out.received = b"".join(received)
        out.body = b"".join(body_parts)
        return out
    finally:
        sock.close()


def escape_lines(data: bytes, prefix: str) -> str:
    """``data`` as printable lines, CR/LF and other control bytes shown as escapes."""
    lines = []
    for line in data.splitlines(keepends=True):
        text = repr(line)[2:-1]  # bytes repr without b'' — shows \r\n and \x00 exactly
        lines.append(prefix + text)
    return "\n".join(lines)


def format_result(res: Fetched, raw: bool) -> str:
    """The text ``fetch`` prints."""
    parts = []
    if raw:
        parts.append(escape_lines(res.sent, "> "))
        parts.append(escape_lines(res.received, "< "))
    elif res.response is not None:
        end = res.received.find(b"\r\n\r\n")
        parts.append(res.received[:end].decode("latin-1").replace("\r\n", "\n") + "\n")
        parts.append(res.body.decode("utf-8", "replace"))
    ms = lambda s: "-" if s is None else "%.3f ms" % (s * 1000)  # noqa: E731
    r = res.response
    parts.append("--")
    trailers = f"; trailers {res.trailers!r}" if res.trailers else ""
    parts.append(f"framing     {res.framing}; body {len(res.body)} bytes in "
                 f"{res.data_events} Data event(s){trailers}")
    parts.append("connection  %s" % (
        "-" if r is None else "keep-alive" if r.keep_alive else "close"))
    parts.append("complete    %s" % ("yes" if res.complete else "NO (connection ended early)"))
    parts.append("timings     connect {}{}  first byte {}  total {}".format(
        ms(res.connect_s), f"  tls {ms(res.tls_s)}" if res.tls_s is not None else "",
        ms(res.first_byte_s), ms(res.total_s)))
    parts.append(f"sent {len(res.sent)} bytes, received {len(res.received)} bytes")
    return "\n".join(parts)


def main(a: argparse.Namespace) -> int:
    """Entry point of ``fetch``: 0 on a complete response, 1 on failure, 2 on bad usage."""
    try:
        target = parse_url(a.url)
        headers = [parse_header(h) for h in a.header]
        body = None
        if a.data is not None:
            if a.data.startswith("@"):
                with open(a.data[1:], "rb") as f:
                    body = f.read()
            else:
                body = a.data.encode("utf-8")
        elif a.chunked:
            body = b""
    except (ValueError, OSError) as e:
        print(f"fetch: {e}", file=sys.stderr)
        return 2
    method = (a.method or ("POST" if body is not None else "GET")).upper().encode("ascii")
    try:
        res = fetch(target, method, headers, body, a.chunked, a.timeout, not a.insecure,
                    a.unix)
    except (OSError, HTTPError) as e:
        print(f"fetch: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(format_result(res, a.raw) + "\n")
    return 0 if res.complete else 1
