"""The app each fleet host serves; every answer names the host and the process.

- ``/``            ``<host> <pid>``: the health check and the load
- ``/work?ms=N``   the same after sleeping N ms (so requests are in flight when a host dies)
- ``/freeze``      answers ``frozen <host> <pid>``, then every later request in this process
                   hangs (a deadlocked app) until the process is killed, at most 60 s
"""

from __future__ import annotations

import os
import time

HOST = os.environ.get("FLEET_HOST", "?")
HANG_S = 60.0
frozen = False


def app(environ, start_response):
    """The WSGI application."""
    global frozen
    path = environ.get("PATH_INFO", "/")
    if frozen:
        time.sleep(HANG_S)
    if path == "/freeze":
        frozen = True
        word = "frozen "
    else:
        word = ""
        query = environ.get("QUERY_STRING", "")
        if path == "/work" and query.startswith("ms="):
            time.sleep(int(query[3:]) / 1000.0)
    body = f"{word}{HOST} {os.getpid()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
