"""What a load run does (``LoadSpec``), and the fd limit it needs."""

from __future__ import annotations

from typing import List, Optional, Tuple

from rocket.http.client import format_request


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``wanted`` (up to the hard limit); return it."""
    try:
        import resource
    except ImportError:  # not on this platform: whatever the OS gives
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
        except (ValueError, OSError):
            pass
    return wanted if soft == resource.RLIM_INFINITY else soft


class LoadSpec:
    """What one load run does; plain attributes so it pickles into client processes."""

    def __init__(self, host: str, port: int, target: bytes = b"/", host_header: str = "",
                 method: bytes = b"GET", connections: int = 1,
                 duration_s: Optional[float] = None, requests: Optional[int] = None,
                 keep_alive: bool = True, body_size: int = 0, chunked_upload: bool = False,
                 pipeline: int = 1, timeout_s: float = 5.0, drain_s: float = 1.0,
                 headers: Optional[List[Tuple[str, str]]] = None,
                 unix_path: Optional[str] = None) -> None:
        if duration_s is None and requests is None:
            raise ValueError("give a duration or a request count")
        if connections < 1 or pipeline < 1:
            raise ValueError("connections and pipeline must be at least 1")
        self.host = host
        self.port = port
        self.target = target
        self.host_header = host_header or f"{host}:{port}"
        self.method = method
        self.connections = connections
        self.duration_s = duration_s
        self.requests = requests
        self.keep_alive = keep_alive
        self.body_size = body_size
        self.chunked_upload = chunked_upload
        self.pipeline = pipeline if keep_alive else 1
        self.timeout_s = timeout_s
        self.drain_s = drain_s
        self.headers = list(headers or [])
        self.unix_path = unix_path  # connect to this unix socket instead of host:port

    def request_bytes(self) -> bytes:
        """The request every connection sends, encoded once."""
        headers = [("Host", self.host_header), ("User-Agent", "rocket-bench")] + self.headers
        if not self.keep_alive:
            headers.append(("Connection", "close"))
        body = None
        if self.body_size or self.chunked_upload or self.method in (b"POST", b"PUT"):
            body = b"a" * self.body_size
            headers.append(("Content-Type", "application/octet-stream"))
        return format_request(self.method.decode("latin-1"), self.target.decode("latin-1"),
                              headers, body=body, chunked=self.chunked_upload)
