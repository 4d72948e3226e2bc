"""Hooks: which fire, in what order around a request, what a raising hook does, and that a
server without request hooks runs the worker's plain path."""

from __future__ import annotations

import logging
from typing import Any, List

import pytest

from rocket.config.settings import Config
from rocket.server.hooks import Hooks, maybe_hooks
from rocket.server.sockets import LineProtocol
from rocket.workers.protocol import MessageStream
from rocket.workers.wsgi import WSGIWorker
from tests.unit.workers.fakes import FakeConnection, fake_context

TWO_REQUESTS = (b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                b"GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")


class FakeConn:
    def __init__(self) -> None:
        self.reader = MessageStream(LineProtocol())
        self.on_close: Any = None


def recording_worker(events: List[Any], worker_class: type = WSGIWorker, **hooks: Any) -> Any:
    def app(environ: dict, start_response: Any) -> List[bytes]:
        events.append(("app", environ["PATH_INFO"]))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hi"]

    return worker_class({"wsgi_app": app}, fake_context(hooks=Hooks(**hooks) if hooks else None))


def test_no_hooks_means_no_hooks_object():
    assert maybe_hooks(Config()) is None
    hooks = maybe_hooks(Config(pre_request=print))
    assert isinstance(hooks, Hooks) and hooks.pre_request is print
    assert "pre_request" in repr(hooks)


def test_hooks_fire_and_a_raising_hook_is_logged_not_raised(caplog):
    calls: List[Any] = []

    def boom(*args: Any) -> None:
        calls.append(("boom",) + args)
        raise RuntimeError("hook bug")

    hooks = Hooks(connection_made=boom, pre_request=lambda c, m: calls.append(("pre", m)),
                  post_request=boom, connection_lost=lambda c, e: calls.append(("lost", e)))
    conn = FakeConn()
    with caplog.at_level(logging.ERROR, logger="Rocket.Errors.Hooks"):
        hooks.made(conn)
        hooks.before(conn, b"m")
        hooks.after(conn, b"m", b"r")
        conn.reader.error = ValueError("why")
        conn.on_close(conn)
    assert [c[0] for c in calls] == ["boom", "pre", "boom", "lost"]
    assert calls[2][2:] == (b"m", b"r") and isinstance(calls[3][1], ValueError)
    assert sum("hook bug" in r.getMessage() or "raised" in r.getMessage()
               for r in caplog.records) == 2


def test_pre_and_post_request_surround_each_request_in_order():
    events: List[Any] = []
    worker = recording_worker(
        events,
        pre_request=lambda conn, request: events.append(("pre", request.target)),
        post_request=lambda conn, request, reply: events.append(("post", request.target, reply)),
    )
    conn = FakeConnection([TWO_REQUESTS])
    assert worker.handle(conn) is False  # the second request asked for the close
    assert conn.output.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert events == [("pre", b"/a"), ("app", "/a"), ("post", b"/a", None),
                      ("pre", b"/b"), ("app", "/b"), ("post", b"/b", None)]


def test_post_request_fires_even_when_the_request_fails():
    class PeerGone(FakeConnection):
        def sendall(self, data: bytes) -> None:
            raise OSError("peer gone")

    events: List[Any] = []
    worker = recording_worker(events, post_request=lambda c, r, reply: events.append("post"))
    conn = PeerGone([TWO_REQUESTS])
    assert worker.handle(conn) is False and conn.closed
    assert events == [("app", "/a"), "post"]


@pytest.mark.parametrize("hooks", [{}, {"connection_made": print, "connection_lost": print}])
def test_without_request_hooks_the_worker_takes_its_plain_path(hooks):
    class Untouched(WSGIWorker):
        def _hooked_request(self, conn: Any, request: Any) -> bool:
            raise AssertionError("the hooked path ran without request hooks")

    events: List[Any] = []
    conn = FakeConnection([TWO_REQUESTS])
    assert recording_worker(events, Untouched, **hooks).handle(conn) is False
    assert events == [("app", "/a"), ("app", "/b")]
    assert conn.output.count(b"HTTP/1.1 200 OK\r\n") == 2


def test_with_a_request_hook_the_worker_takes_the_hooked_path():
    class Counting(WSGIWorker):
        hooked = 0

        def _hooked_request(self, conn: Any, request: Any) -> bool:
            Counting.hooked += 1
            return super()._hooked_request(conn, request)

    recording_worker([], Counting, post_request=lambda *args: None).handle(FakeConnection([TWO_REQUESTS]))
    assert Counting.hooked == 2
