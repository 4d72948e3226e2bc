"""Misbehaving apps: each path breaks one rule, so tests can check the server survives."""

from __future__ import annotations


class ClosingBody:
    """An iterable that records ``close()`` calls in ``closed`` (a class-level list)."""

    closed: list = []

    def __init__(self, blocks, fail_at=None):
        self.blocks = blocks
        self.fail_at = fail_at

    def __iter__(self):
        for i, block in enumerate(self.blocks):
            if i == self.fail_at:
                raise RuntimeError("boom after headers")
            yield block

    def close(self):
        ClosingBody.closed.append(True)


def app(environ, start_response):
    """Dispatch on PATH_INFO to one way of failing."""
    path = environ["PATH_INFO"]
    if path == "/before":
        raise RuntimeError("boom before headers")
    if path == "/after":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ClosingBody([b"first block", b"never"], fail_at=1)
    if path == "/none":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return None
    if path == "/str":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return "a str, not bytes"
    if path == "/short":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "10")])
        return ClosingBody([b"12345"])
    if path == "/long":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
        return ClosingBody([b"12", b"345"])
    if path == "/badheader":
        start_response("200 OK", [("Content-Type", "text/plain\r\nX-Injected: 1")])
        return [b"x"]
    if path == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written ")
        return ClosingBody([b"and returned"])
    if path == "/excinfo":
        try:
            raise ValueError("handled")
        except ValueError:
            import sys

            start_response("200 OK", [("Content-Type", "text/plain")])
            start_response("500 Oops", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"recovered"]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return ClosingBody([b"ok"])
