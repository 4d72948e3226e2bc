"""A direct WSGI call harness for the static-file app (no server, no socket)."""

from __future__ import annotations

import wsgiref.util
from typing import Any, Dict, List, Optional, Tuple


class Result:
    """What one WSGI call produced: status code, headers (case-insensitive lookup), body."""

    def __init__(self, status: str, headers: List[Tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.code = int(status.split()[0])
        self.headers = headers
        self.body = body

    def header(self, name: str) -> Optional[str]:
        """The value of one header, or None."""
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        assert len(values) <= 1, f"duplicate header {name}: {values}"
        return values[0] if values else None

    def __repr__(self) -> str:
        return f"Result({self.status!r}, {self.headers!r}, {self.body[:80]!r})"


def call(app: Any, path: str = "/", method: str = "GET", **headers: str) -> Result:
    """Call ``app`` like a server would; ``headers`` are CGI names without ``HTTP_``."""
    environ: Dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": ""}
    for key, value in headers.items():
        environ[key if key in ("QUERY_STRING", "SCRIPT_NAME") else "HTTP_" + key] = value
    wsgiref.util.setup_testing_defaults(environ)
    seen: Dict[str, Any] = {}

    def start_response(status: str, response_headers: List[Tuple[str, str]], exc_info=None):
        seen["status"], seen["headers"] = status, response_headers
        return lambda data: None

    iterable = app(environ, start_response)
    try:
        body = b"".join(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    return Result(seen["status"], seen["headers"], body)
