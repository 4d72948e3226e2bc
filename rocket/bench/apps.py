"""The WSGI application every server runs in ``compare`` (``rocket.bench.apps:app``).

Endpoints, all 200, the same as the project's shared benchmark harness:

- ``/``: ``Hello, World!`` (13 bytes) with Content-Length;
- ``/1m``: 1 MiB as 16 blocks of 64 KiB, with Content-Length;
- ``/echo``: reads the whole body with ``wsgi.input.read()`` and answers its length;
- ``/stream``: 100 blocks of 100 bytes from a generator, no Content-Length (chunked on 1.1);
- ``/sleep``: sleeps 10 ms (a blocking app), then answers ``ok``.

Anything else is 404. Standard library only, so every server and interpreter can load it.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Iterator, List

HELLO = b"Hello, World!"
BLOCK_64K = b"x" * 65536
BIG_BLOCKS = 16  # 16 x 64 KiB = 1 MiB
STREAM_BLOCK = b"s" * 99 + b"\n"
STREAM_BLOCKS = 100
SLEEP_S = 0.010

_TEXT = ("Content-Type", "text/plain")


def _stream() -> Iterator[bytes]:
    for _ in range(STREAM_BLOCKS):
        yield STREAM_BLOCK


def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    """The benchmark application (see the module docstring for its endpoints)."""
    path = environ.get("PATH_INFO", "/")
    if path == "/":
        start_response("200 OK", [_TEXT, ("Content-Length", "13")])
        return [HELLO]
    if path == "/1m":
        size = str(len(BLOCK_64K) * BIG_BLOCKS)
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", size)])
        body: List[bytes] = [BLOCK_64K] * BIG_BLOCKS
        return body
    if path == "/echo":
        n = str(len(environ["wsgi.input"].read())).encode()
        start_response("200 OK", [_TEXT, ("Content-Length", str(len(n)))])
        return [n]
    if path == "/stream":
        start_response("200 OK", [_TEXT])
        return _stream()
    if path == "/sleep":
        time.sleep(SLEEP_S)
        start_response("200 OK", [_TEXT, ("Content-Length", "2")])
        return [b"ok"]
    start_response("404 Not Found", [_TEXT, ("Content-Length", "9")])
    return [b"not found"]


application = app
