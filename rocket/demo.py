"""A demo application: ``python -m rocket.demo --host 127.0.0.1 --port 8000`` (``make run``).

``/`` shows the request's environ and a form; the form posts to ``/echo``, which shows the
body it received (read from the streamed ``wsgi.input``).
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import sys
from typing import Callable, Iterable, List, Optional
from urllib.parse import parse_qsl

__all__ = ["app", "main"]

# The echo page shows at most this much of a posted body: a demo, not an upload service.
ECHO_MAX_BYTES = 64 * 1024

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:0 auto;padding:1em;max-width:70em;color:#222}}
table{{border-collapse:collapse;width:100%;table-layout:fixed}}
td,th{{padding:3px 8px;vertical-align:top;text-align:left;font-family:monospace;font-size:.9em;
overflow-wrap:anywhere;word-break:break-word}}
td:first-child,th:first-child{{width:30%}}
tr:nth-child(odd){{background:#f3f3f3}}
pre{{background:#f6f6f6;padding:.6em;white-space:pre-wrap;overflow-wrap:anywhere}}
textarea,input{{max-width:100%;box-sizing:border-box}}
@media (max-width:600px){{td:first-child,th:first-child{{width:40%}}}}
</style></head>
<body><h1>{title}</h1>{content}</body></html>
"""

_FORM = """<form method="post" action="/echo">
<p><label>Name <input name="name" value="Rocket"></label></p>
<p><label>Message<br><textarea name="message" rows="4" cols="60">Hello!</textarea></label></p>
<p><button type="submit">Post to /echo</button></p></form>
<p>Or post any body: <code>curl -H 'Content-Type: application/json' -d '{"a": 1}'
http://HOST:PORT/echo</code></p>"""


def _table(rows: Iterable) -> str:
    cells = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(repr(v))}</td></tr>" for k, v in rows
    )
    return f"<table>{cells}</table>"


def _page(title: str, content: str) -> List[bytes]:
    return [_PAGE.format(title=html.escape(title), content=content).encode("utf-8")]


def _pre(text: str) -> str:
    return f"<pre>{html.escape(text)}</pre>"


def describe_body(content_type: str, data: bytes) -> str:
    """The echo page's view of a posted body, chosen by its media type: form fields as a
    table, JSON pretty-printed, text as text, anything else as escaped bytes."""
    media = content_type.partition(";")[0].strip().lower()
    text = data.decode("utf-8", "replace")
    if media == "application/x-www-form-urlencoded":
        fields = parse_qsl(data.decode("latin-1"), keep_blank_values=True)
        return "<h2>Form fields</h2>" + _table(fields) + "<h2>Raw body</h2>" + _pre(text)
    if media == "application/json" or media.endswith("+json"):
        try:
            shown = json.dumps(json.loads(data), indent=2, ensure_ascii=False)
        except ValueError as exc:
            return f"<h2>Invalid JSON</h2><p>{html.escape(str(exc))}</p>" + _pre(text)
        return "<h2>JSON</h2>" + _pre(shown)
    if media.startswith("text/") or media in ("", "multipart/form-data", "application/xml"):
        return "<h2>Body</h2>" + _pre(text)
    return "<h2>Body (bytes)</h2>" + _pre(repr(data)[2:-1])


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
        content_type = environ.get("CONTENT_TYPE", "")
        content = (f"<p>{len(data)} bytes received as "
                   f"<code>{html.escape(content_type or '(no Content-Type)')}</code></p>"
                   + describe_body(content_type, data) + '<p><a href="/">back</a></p>')
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
