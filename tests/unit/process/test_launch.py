"""The one process launcher, for real: it binds, forks worker processes that serve with the
server the caller builds, stops gracefully on request_stop() and reports a boot failure."""

from __future__ import annotations

import http.client
import os
import threading
import time
from typing import Any, Callable, Dict, List

import pytest

from rocket.process.launch import app_loader, launch
from rocket.process.supervision import fork_supported
from rocket.server.info import arbiter_info
from rocket.server.wsgi import build_server

pytestmark = [
    pytest.mark.skipif(not fork_supported(), reason="needs os.fork"),
    pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                       reason="the arbiter takes its signals on the main thread"),
]

LIMIT_S = 20.0
"""Every launch here is asked to stop after this long, whatever happens."""


def pid_app(environ, start_response):
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


def fetch(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/")
        return conn.getresponse().read().decode()
    finally:
        conn.close()


class Watch:
    """``ready`` for launch(): keeps the arbiter, and stops it after LIMIT_S in any case."""

    def __init__(self, then: Callable[[], None] = lambda: None) -> None:
        self.arbiter: Any = None
        self.then = then
        self.timer = threading.Timer(LIMIT_S, self.stop)
        self.timer.daemon = True

    def __call__(self, arbiter: Any) -> None:
        self.arbiter = arbiter
        self.timer.start()
        self.then()

    def stop(self) -> None:
        self.arbiter.request_stop()

    def serving(self, count: int) -> List[Dict[str, Any]]:
        deadline = time.monotonic() + LIMIT_S / 2
        while time.monotonic() < deadline:
            workers = self.arbiter.info()["workers"]
            if [w["state"] for w in workers] == ["serving"] * count:
                return workers
            time.sleep(0.05)
        raise AssertionError(f"{count} workers did not serve in time")


def test_workers_serve_with_the_built_server_and_request_stop_is_graceful():
    seen: Dict[str, Any] = {}

    def client() -> None:
        try:
            workers = watch.serving(2)
            port = watch.arbiter.interfaces[0].port
            seen["pids"] = {fetch(port) for _ in range(20)}
            seen["workers"] = {str(w["pid"]) for w in workers}
        finally:
            watch.stop()

    thread = threading.Thread(target=client)
    watch = Watch(then=thread.start)
    started = time.monotonic()
    code = launch({"bind": ("127.0.0.1", 0), "workers": 2, "access_log": False},
                  build_server, app_loader(pid_app), describe=arbiter_info, ready=watch)
    thread.join(5)
    watch.timer.cancel()
    assert code == 0 and time.monotonic() - started < LIMIT_S
    assert seen["pids"] and seen["pids"] <= seen["workers"]
    assert str(os.getpid()) not in seen["pids"]
    assert watch.arbiter.workers == {}             # every worker process was reaped
    assert watch.arbiter.sockets == []             # and the listening sockets closed


def test_an_app_that_cannot_load_ends_the_launch_with_code_3():
    def broken() -> Any:
        raise ImportError("no such application")

    watch = Watch()
    started = time.monotonic()
    code = launch({"bind": ("127.0.0.1", 0), "workers": 1}, build_server, broken,
                  describe=arbiter_info, ready=watch)
    watch.timer.cancel()
    assert code == 3 and time.monotonic() - started < LIMIT_S


def test_app_loader_imports_a_spec_and_hands_over_anything_else():
    assert app_loader(pid_app)() is pid_app
    assert app_loader(None)() is None
    assert app_loader("os.path:join")() is os.path.join
