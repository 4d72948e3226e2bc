"""Hello app: ``Hello, World!`` as text/plain with its Content-Length, to every request."""

from __future__ import annotations

BODY = b"Hello, World!"


def app(environ, start_response):
    """Answer 200 with :data:`BODY`."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))])
    return [BODY]
