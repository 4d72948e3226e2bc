"""Shared fixtures: real Rocket servers on 127.0.0.1 port 0, always stopped; a trustme CA.

- ``background(server) -> server``: any server started in the background, stopped at teardown.
- ``server_factory(interfaces=..., method='wsgi', app_info=..., **settings) -> Rocket``:
  started in the background (signals off), stopped at teardown.
- ``serve_app(app, **settings) -> (host, port)``: the common case, one WSGI app on TCP.
- ``tls_files``: a ``TLSFiles`` with server key/cert paths, the CA bundle, a client cert/key
  and the trustme ``ca`` itself (``ca.configure_trust(ctx)`` for clients).
"""

from __future__ import annotations

import os
from typing import Any, Callable, List, NamedTuple, Tuple

import pytest


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


class TLSFiles(NamedTuple):
    """Paths written by the ``tls_files`` fixture, plus the CA object."""

    ca: Any
    ca_path: str
    cert_path: str
    key_path: str
    client_cert_path: str
    client_key_path: str
    client_cert_der: bytes


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: Any) -> TLSFiles:
    """A trustme CA, a server certificate for 127.0.0.1/localhost/::1 and a client cert."""
    trustme = pytest.importorskip("trustme")
    import ssl

    directory = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    client_cert = ca.issue_cert("client@example.com")
    paths = {name: str(directory / name) for name in
             ("ca.pem", "cert.pem", "key.pem", "client.pem", "client-key.pem")}
    ca.cert_pem.write_to_path(paths["ca.pem"])
    server_cert.cert_chain_pems[0].write_to_path(paths["cert.pem"])
    server_cert.private_key_pem.write_to_path(paths["key.pem"])
    client_cert.cert_chain_pems[0].write_to_path(paths["client.pem"])
    client_cert.private_key_pem.write_to_path(paths["client-key.pem"])
    der = ssl.PEM_cert_to_DER_cert(client_cert.cert_chain_pems[0].bytes().decode())
    assert all(os.path.exists(p) for p in paths.values())
    return TLSFiles(ca, paths["ca.pem"], paths["cert.pem"], paths["key.pem"],
                    paths["client.pem"], paths["client-key.pem"], der)
