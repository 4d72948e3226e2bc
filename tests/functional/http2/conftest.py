"""``h2_server(app_spec="tests.apps.hello:app", tls=False, **settings) -> Endpoint``: the HTTP/2
target of :mod:`tests.functional.http2.support` serving that app over h2c or TLS, stopped at
teardown (Rocket through ``start_server``; hypercorn as a child process)."""

from __future__ import annotations

import os
from typing import Any, Iterator, List

import pytest

pytest.importorskip("h2")  # the optional extra http2; hpack comes with it

from tests.functional.cli_support import stop_process  # noqa: E402
from tests.functional.http2.support import TARGET, Endpoint, load_app, start_hypercorn  # noqa: E402


@pytest.fixture
def h2_server(start_server, tls_files) -> Iterator[Any]:
    """Start the HTTP/2 target; every one is stopped at teardown."""
    children: List[Any] = []

    def start(app_spec: str = "tests.apps.hello:app", tls: bool = False,
              **settings: Any) -> Endpoint:
        if TARGET == "rocket":
            interfaces = (("127.0.0.1", 0, tls_files.key_path, tls_files.cert_path) if tls
                          else ("127.0.0.1", 0))
            server = start_server(load_app(app_spec), interfaces=interfaces, **settings)
            return Endpoint(server.port, tls, os.getpid(), server)
        if TARGET != "hypercorn":
            raise ValueError(f"ROCKET_H2_TARGET={TARGET!r}: rocket or hypercorn")
        pytest.importorskip("hypercorn")
        proc, port = start_hypercorn(app_spec, tls_files if tls else None)
        children.append(proc)
        return Endpoint(port, tls, proc.pid)

    try:
        yield start
    finally:
        for proc in children:
            stop_process(proc, 15, 5.0)
