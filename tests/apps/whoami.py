"""Whoami app: answers with the environ facts a proxy may change, as JSON."""

from __future__ import annotations

import json

KEYS = ("REMOTE_ADDR", "REMOTE_PORT", "wsgi.url_scheme", "HTTPS", "HTTP_HOST", "SERVER_PORT",
        "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
        "HTTP_FORWARDED", "HTTP_X_REAL_IP", "HTTP_X_REQUEST_ID", "rocket.proxy_authority")


def app(environ, start_response):
    """The :data:`KEYS` (None when absent) and the original peer, as a JSON object."""
    facts = {key: environ.get(key) for key in KEYS}
    peer = environ.get("rocket.peer_addr")
    facts["peer"] = list(peer) if isinstance(peer, tuple) else peer
    body = json.dumps(facts).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
