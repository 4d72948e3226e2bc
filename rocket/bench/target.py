"""Where the load tools send their requests: ``http://host:port/path`` or ``host:port``."""

from __future__ import annotations

from typing import Tuple
from urllib.parse import urlsplit


class Target:
    """A parsed URL: ``host``, ``port``, ``target`` (path and query, bytes), ``tls``."""

    __slots__ = ("host", "port", "target", "tls", "host_header")

    def __init__(self, host: str, port: int, target: bytes = b"/", tls: bool = False) -> None:
        self.host = host
        self.port = port
        self.target = target
        self.tls = tls
        default_port = 443 if tls else 80
        shown = f"[{host}]" if ":" in host else host
        self.host_header = shown if port == default_port else f"{shown}:{port}"

    @property
    def address(self) -> Tuple[str, int]:
        """The ``(host, port)`` pair to connect to."""
        return (self.host, self.port)

    def url(self) -> str:
        """The URL again, as text."""
        scheme = "https" if self.tls else "http"
        return "{}://{}{}".format(scheme, self.host_header, self.target.decode("latin-1"))

    def __repr__(self) -> str:
        return f"Target({self.url()!r})"


def parse_url(url: str) -> Target:
    """``http[s]://host[:port][/path][?query]`` -> Target; raises ValueError with a reason."""
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"unsupported scheme {parts.scheme!r} in {url!r} (use http or https)")
    if not parts.hostname:
        raise ValueError(f"no host in {url!r}")
    tls = parts.scheme == "https"
    try:
        port = parts.port or (443 if tls else 80)
    except ValueError:
        raise ValueError(f"bad port in {url!r}") from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.hostname, port, path.encode("latin-1"), tls)


def parse_hostport(text: str) -> Tuple[str, int]:
    """``HOST:PORT`` (or ``[v6]:PORT``, or a URL) -> ``(host, port)``; raises ValueError."""
    t = parse_url(text)
    if ":" not in text.split("://")[-1].rstrip("/").rsplit("]", 1)[-1]:
        raise ValueError(f"no port in {text!r} (expected HOST:PORT)")
    return t.address


def parse_header(text: str) -> Tuple[str, str]:
    """``'Name: value'`` -> ``("Name", "value")``; raises ValueError without a colon."""
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise ValueError(f"bad header {text!r} (expected 'Name: value')")
    return name.strip(), value.strip()
