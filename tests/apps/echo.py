"""Echo app: answers with the request body and a few environ facts in headers."""

from __future__ import annotations


def app(environ, start_response):
    """Read the body the way ``?mode=`` says (read, readall, read1, lines, readline, iter,
    none) and echo it."""
    inp = environ["wsgi.input"]
    mode = environ.get("QUERY_STRING", "") or "read"
    if mode == "read":  # wsgiref.validate insists on a size argument
        length = environ.get("CONTENT_LENGTH")
        body = inp.read(int(length)) if length else b"".join(iter(lambda: inp.read(4096), b""))
    elif mode == "readall":  # read() with no size: needs wsgi.input_terminated (no validator)
        body = inp.read()
    elif mode == "read1":
        body = b"".join(iter(lambda: inp.read(7), b""))
    elif mode == "lines":
        body = b"".join(inp.readlines())
    elif mode == "readline":
        body = b"|".join(iter(lambda: inp.readline(5), b""))
    elif mode == "iter":
        body = b"".join(line for line in inp)
    else:  # "none": never touch the body
        body = b""
    start_response("200 OK", [
        ("Content-Type", "application/octet-stream"),
        ("Content-Length", str(len(body))),
        ("X-Path", environ["PATH_INFO"].encode("latin-1").decode("latin-1")),
        ("X-Method", environ["REQUEST_METHOD"]),
    ])
    return [body]
