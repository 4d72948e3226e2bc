"""Fixture app for the fault tests (tests/functional/test_faults_*.py) and the soak.

- ``/``             ``ok <pid>``
- ``/sleep?s=F``    the same after sleeping F seconds
- ``/stream``       an endless SSE-style generator (no Content-Length)
- ``/big?mb=N``     N MiB as ONE body block with its Content-Length
- ``/chunks?mb=N``  N MiB in 64 KiB blocks, no Content-Length
- ``/upload``       reads the whole body in 64 KiB reads; answers ``<bytes read>``
- ``/hang``         never answers (sleeps an hour)
- ``/error``        raises before start_response
- ``/error-late``   raises after the first body block

``LIVE`` counts the generators of ``/stream`` that have started and not yet finished (their
``finally`` ran), so an in-process test can tell whether the server closed them.
"""

import os
import threading
import time

LIVE = [0]
_lock = threading.Lock()


def _stream(start_response):
    start_response("200 OK", [("Content-Type", "text/event-stream")])
    with _lock:
        LIVE[0] += 1
    try:
        while True:
            yield b"data: tick\n\n"
    finally:
        with _lock:
            LIVE[0] -= 1


def _chunks(mib):
    block = b"x" * 65536
    for _ in range(mib * 16):
        yield block


def _late_error(start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"partial"
    raise RuntimeError("the app failed after its headers")


def app(environ, start_response):
    """The WSGI application."""
    path = environ.get("PATH_INFO", "/")
    query = environ.get("QUERY_STRING", "")
    arg = query.split("=", 1)[1] if "=" in query else ""
    if path == "/stream":
        return _stream(start_response)
    if path == "/chunks":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return _chunks(int(arg or 1))
    if path == "/error-late":
        return _late_error(start_response)
    if path == "/error":
        raise RuntimeError("the app failed before its headers")
    if path == "/hang":
        time.sleep(3600)
    if path == "/sleep":
        time.sleep(float(arg or 0.1))
    if path == "/big":
        body = b"x" * (int(arg or 1) << 20)
    elif path == "/upload":
        size = 0
        read = environ["wsgi.input"].read
        while True:
            piece = read(65536)
            if not piece:
                break
            size += len(piece)
        body = str(size).encode()
    else:
        body = f"ok {os.getpid()}".encode()
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(body)))])
    return [body]
