"""File app: sends a file through ``wsgi.file_wrapper`` (sendfile on plain sockets)."""

from __future__ import annotations

import os


def make_app(path):
    """An app serving the file at ``path``; ``?range=START-LEN`` sends a byte range."""

    def app(environ, start_response):
        wrapper = environ["wsgi.file_wrapper"]
        size = os.path.getsize(path)
        query = environ.get("QUERY_STRING", "")
        f = open(path, "rb")  # noqa: SIM115 - closed by the server via the wrapper
        if query.startswith("range="):
            start, length = (int(x) for x in query[6:].split("-"))
            start_response("206 Partial Content", [("Content-Type", "application/octet-stream"),
                                                   ("Content-Length", str(length))])
            return wrapper(f, 8192, start, length)
        if query == "nolength":
            start_response("200 OK", [("Content-Type", "application/octet-stream")])
        else:
            start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                      ("Content-Length", str(size))])
        return wrapper(f, 8192)

    return app
