"""Huge app: a large body, as a generator (chunked / close-delimited) or a sized list."""

from __future__ import annotations

BLOCK = bytes(range(256)) * 256  # 64 KiB, every byte value
BLOCKS = 32  # 2 MiB in all


def app(environ, start_response):
    """``/list`` sends 2 MiB with Content-Length, anything else streams it without."""
    if environ["PATH_INFO"] == "/list":
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(BLOCK) * BLOCKS))])
        return [BLOCK] * BLOCKS
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return (BLOCK for _ in range(BLOCKS))
