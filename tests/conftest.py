"""Shared fixtures: real servers on 127.0.0.1 port 0, always stopped; a trustme CA.

- ``start_server(app=None, **options) -> server``: the one way to start an in-process server
  (see tests/functional/serving.py); every server it started is stopped at teardown.
- ``rocket_process(args, cwd, **kwargs) -> RocketProcess``: the one way to run a server in a
  subprocess (see tests/functional/cli_support.py); every one is stopped at teardown.
- ``tls_files``: a ``TLSFiles`` with server key/cert paths, the CA bundle, a client cert/key
  and the trustme ``ca`` itself (``ca.configure_trust(ctx)`` for clients).
"""

from __future__ import annotations

import os
from typing import Any, Iterator, NamedTuple

import pytest

from tests.functional.cli_support import Processes
from tests.functional.serving import Servers


@pytest.fixture
def start_server() -> Iterator[Servers]:
    """``start_server(app=None, **options) -> server`` on 127.0.0.1:0 (``server.port``); see
    :class:`tests.functional.serving.Servers`. Every one is stopped at teardown."""
    servers = Servers()
    try:
        yield servers
    finally:
        servers.stop_all()


@pytest.fixture
def rocket_process() -> Iterator[Processes]:
    """``rocket_process(args, cwd, **kwargs) -> RocketProcess`` (the ``rocket`` command or any
    ``program``), or ``rocket_process(process)``; every one is stopped at teardown."""
    processes = Processes()
    try:
        yield processes
    finally:
        processes.stop_all()


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
