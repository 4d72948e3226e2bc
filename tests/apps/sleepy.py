"""Sleepy app: sleeps ``?seconds`` (default 0.05) then answers, to occupy a worker thread."""

from __future__ import annotations

import time


def app(environ, start_response):
    """Sleep, then return a 2-byte body."""
    seconds = float(environ.get("QUERY_STRING") or 0.05)
    time.sleep(min(seconds, 5.0))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
