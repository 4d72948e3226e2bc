"""A demo application: ``python -m rocket.demo --host 127.0.0.1 --port 8000`` (``make run``).

``/`` shows the request's environ and a form; the form posts to ``/echo``, which shows the
body it received (read from the streamed ``wsgi.input``).
"""

from __future__ import annotations

import argparse
import html
import logging
import sys
from typing import Callable, Iterable, List, Optional
from urllib.parse import parse_qsl

__all__ = ["app", "main"]

# The echo page shows at most this much of a posted body: a demo, not an upload service.
ECHO_MAX_BYTES = 64 * 1024

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Rocket demo</title>
<style>body{{font-family:sans-serif;margin:2em}}td{{font-family:monospace;padding:2px 8px;
vertical-align:top}}tr:nth-child(odd){{background:#f3f3f3}}</style></head>
<body><h1>{title}</h1>{content}</body></html>
"""

_FORM = """<form method="post" action="/echo">
<p><label>Name <input name="name" value="Rocket"></label></p>
<p><label>Message<br><textarea name="message" rows="4" cols="60">Hello!</textarea></label></p>
<p><button type="submit">Post to /echo</button></p></form>"""


def _table(rows: Iterable) -> str:
    cells = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(repr(v))}</td></tr>" for k, v in rows
    )
    return f"<table>{cells}</table>"


def _page(title: str, content: str) -> List[bytes]:
    return [_PAGE.format(title=html.escape(title), content=content).encode("utf-8")]


def app(environ: dict, start_response: Callable) -> List[bytes]:
    """The demo WSGI application."""
    path = environ.get("PATH_INFO", "/")
    method = environ["REQUEST_METHOD"]
    html_type = ("Content-Type", "text/html; charset=utf-8")
    if path == "/":
        body = _page("Rocket demo", _FORM + "<h2>Your request's environ</h2>"
                     + _table(sorted(environ.items())))
        start_response("200 OK", [html_type])
        return body
    if path == "/echo" and method == "POST":
        data = environ["wsgi.input"].read(ECHO_MAX_BYTES)
        fields = parse_qsl(data.decode("latin-1"), keep_blank_values=True)
        content = (
            f"<p>{len(data)} bytes received as {html.escape(environ.get('CONTENT_TYPE', ''))}"
            "</p>" + _table(fields) + "<h2>Raw body</h2><pre>"
            + html.escape(data.decode("utf-8", "replace")) + '</pre><p><a href="/">back</a></p>'
        )
        start_response("200 OK", [html_type])
        return _page("Echo", content)
    if path == "/echo":
        start_response("405 Method Not Allowed", [("Content-Type", "text/plain"),
                                                  ("Allow", "POST")])
        return [b"POST a form here\n"]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found\n"]


def main(argv: Optional[List[str]] = None) -> int:
    """Serve :func:`app` until Ctrl-C; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m rocket.demo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(message)s")
    from rocket import Rocket

    server = Rocket((args.host, args.port), "wsgi", {"wsgi_app": app})
    print(f"Rocket demo on http://{args.host}:{args.port}/ (Ctrl-C stops)", file=sys.stderr)
    server.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
