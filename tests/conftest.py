"""Shared fixtures: real Rocket servers on 127.0.0.1 port 0, always stopped; test certificates.

- ``start_server(app=None, **options) -> server``: the one way to start an in-process server
  (see tests/functional/serving.py); every server it started is stopped at teardown.
- ``rocket_process(args, cwd, **kwargs) -> RocketProcess``: the one way to run a server in a
  subprocess (see tests/functional/cli_support.py); every one is stopped at teardown.
- ``emptied(cache) -> cache``: a module's cache dict, emptied for the test and restored after.
- ``tls_files``: a ``TLSFiles`` with server key/cert paths, the CA bundle, a client cert/key
  and the ``ca`` itself (``ca.configure_trust(ctx)`` for clients); trustme's, or made with
  the ``openssl`` command where trustme cannot be installed (PyPy).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest

from tests.certs import TLSFiles, make_tls_files
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


@pytest.fixture
def emptied() -> Iterator[Callable[[Dict[Any, Any]], Dict[Any, Any]]]:
    """``emptied(cache) -> cache``: a module-level cache dict (the parser's line cache, the
    environ's value cache...), emptied for the test and given its entries back after it."""
    saved: List[Tuple[Dict[Any, Any], Dict[Any, Any]]] = []

    def empty(cache: Dict[Any, Any]) -> Dict[Any, Any]:
        saved.append((cache, dict(cache)))
        cache.clear()
        return cache

    try:
        yield empty
    finally:
        for cache, entries in reversed(saved):
            cache.clear()
            cache.update(entries)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: Any) -> TLSFiles:
    """A CA, a server certificate for 127.0.0.1/localhost/::1 and a client cert: trustme's
    when it is importable, else made with the ``openssl`` command (see tests/certs.py)."""
    return make_tls_files(str(tmp_path_factory.mktemp("tls")))
