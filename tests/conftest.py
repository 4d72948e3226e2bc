"""Shared fixtures: real Rocket servers on 127.0.0.1 port 0, always stopped; test certificates.

- ``background(server) -> server``: any server started in the background, stopped at teardown.
- ``server_factory(interfaces=..., method='wsgi', app_info=..., **settings) -> Rocket``:
  started in the background (signals off), stopped at teardown.
- ``serve_app(app, **settings) -> (host, port)``: the common case, one WSGI app on TCP.
- ``tls_files``: a ``TLSFiles`` with server key/cert paths, the CA bundle, a client cert/key
  and the ``ca`` itself (``ca.configure_trust(ctx)`` for clients); trustme's, or made with
  the ``openssl`` command where trustme cannot be installed (PyPy).
"""

from __future__ import annotations

from typing import Any, Callable, List, Tuple

import pytest

from tests.certs import TLSFiles, make_tls_files


@pytest.fixture
def background() -> Any:
    """``background(server) -> server``: start any Rocket (or subclass) in the background;
    every one is stopped at teardown, even when its start failed."""
    servers: List[Any] = []

    def start(server: Any) -> Any:
        servers.append(server)
        server.start(background=True)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def server_factory(background: Any) -> Any:
    """Start Rocket servers for a test and stop every one of them afterwards."""
    from rocket import Rocket

    def start(interfaces: Any = ("127.0.0.1", 0), method: str = "wsgi", app_info: Any = None,
              **settings: Any) -> Any:
        settings.setdefault("handle_signals", False)
        return background(Rocket(interfaces, method, app_info, **settings))

    return start


@pytest.fixture
def serve_app(server_factory: Any) -> Callable[..., Tuple[str, int]]:
    """``serve_app(app, **settings) -> (host, port)`` on 127.0.0.1 with a free port."""

    def start(app: Any, **settings: Any) -> Tuple[str, int]:
        server = server_factory(("127.0.0.1", 0), "wsgi", {"wsgi_app": app}, **settings)
        return "127.0.0.1", server.ports[0]

    return start


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: Any) -> TLSFiles:
    """A CA, a server certificate for 127.0.0.1/localhost/::1 and a client cert: trustme's
    when it is importable, else made with the ``openssl`` command (see tests/certs.py)."""
    return make_tls_files(str(tmp_path_factory.mktemp("tls")))
