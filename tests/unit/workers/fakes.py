"""Hand-written fakes for worker unit tests: a Connection that replays scripted reads."""

from __future__ import annotations

import socket
import types
from typing import List, Optional

from rocket.http.parser import Limits, RequestParser
from rocket.workers.base import WorkerContext


class FakeConnection:
    """Feeds ``reads`` to a real parser one per ``fill``; a None entry means "timed out";
    when the script runs out, ``fill`` reports EOF. ``sent`` collects what was sent."""

    def __init__(self, reads: List[Optional[bytes]], secure: bool = False,
                 peer_cert: Optional[bytes] = None, limits: Optional[Limits] = None) -> None:
        self.reads = list(reads)
        self.reader = RequestParser(limits or Limits())
        self.client_addr = ("10.0.0.7", 40123)
        self.proxy = None
        self.server_addr = ("10.0.0.1", 8080)
        self.secure = secure
        self.peer_cert = peer_cert
        self.sent: List[bytes] = []
        self.fill_timeouts: List[Optional[float]] = []
        self.closed = False
        self.head_since = 0.0
        self.gently_closed = False
        self.sendfile_calls: list = []

    def fill(self, timeout: Optional[float] = None) -> bool:
        self.fill_timeouts.append(timeout)
        if not self.reads:
            self.reader.feed(b"")
            return False
        data = self.reads.pop(0)
        if data is None:
            raise socket.timeout("timed out")
        self.reader.feed(data)
        return True

    def sendall(self, data: bytes) -> None:
        self.sent.append(bytes(data))

    def sendfile(self, file, offset: int = 0, count: Optional[int] = None) -> int:
        self.sendfile_calls.append((offset, count))
        file.seek(offset)
        data = file.read(count)
        self.sent.append(data)
        return len(data)

    def close(self) -> None:
        self.closed = True

    @property
    def output(self) -> bytes:
        return b"".join(self.sent)


def close_gently(conn) -> None:
    """The fake server's lingering close: recorded, then closed."""
    conn.gently_closed = True
    conn.close()


def fake_context(has_waiting=None, is_draining=None, hooks=None, is_shedding=None, **settings):
    """A worker's view of a server: ``settings`` (linger 0.01 s unless given) and callables;
    a lingering close sets ``conn.gently_closed``."""
    settings.setdefault("linger", 0.01)
    extra = {name: value for name, value in (("has_waiting", has_waiting),
                                             ("is_draining", is_draining),
                                             ("is_shedding", is_shedding)) if value is not None}
    extra["close_gently"] = close_gently
    return WorkerContext(types.SimpleNamespace(**settings), Limits(), "unit-host", "Rocket test",
                         hooks, **extra)
