"""Fixture app for the multi-process tests: says which code version and process answered.

``VERSION`` is read from the file named by ``WORKERS_APP_VERSION_FILE`` at import time, so a
worker that re-imports the app after SIGHUP reports the file's new content; ``broken``
makes the import fail.

- ``/``            ``<version> <pid>``
- ``/slow?ms=N``   the same after sleeping N ms
- ``/hang``        never answers (sleeps an hour): a hung application
"""

import os
import time

_path = os.environ.get("WORKERS_APP_VERSION_FILE")
if _path:
    with open(_path) as f:
        VERSION = f.read().strip()
else:
    VERSION = "v0"
if VERSION == "broken":
    raise RuntimeError("this version of the app cannot be imported")


def app(environ, start_response):
    """The WSGI application."""
    path = environ.get("PATH_INFO", "/")
    if path == "/hang":
        time.sleep(3600)
    elif path == "/slow":
        query = environ.get("QUERY_STRING", "")
        ms = int(query[3:]) if query.startswith("ms=") else 100
        time.sleep(ms / 1000.0)
    body = f"{VERSION} {os.getpid()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
