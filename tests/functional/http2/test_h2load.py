"""h2load (Debian nghttp2-client) with many streams on a few connections: every request is
answered 2xx, none failed, errored, timed out or reset."""

from __future__ import annotations

import shutil

import pytest

from rocket.bench.h2load import h2load_argv, run_h2load
from tests.functional.programs import needs

pytestmark = needs(shutil.which("h2load"), "h2load", "nghttp2-client")


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "tls"])
@pytest.mark.parametrize("path", ["/", "/list"], ids=["hello", "2MiB"])
def test_many_streams_on_few_connections_all_answered(h2_server, tls, path):
    app = "tests.apps.hello:app" if path == "/" else "tests.apps.huge:app"
    endpoint = h2_server(app, tls=tls)
    scheme = "https" if tls else "http"
    requests = 2000 if path == "/" else 40
    argv = h2load_argv(f"{scheme}://127.0.0.1:{endpoint.port}{path}", 4, 50, requests=requests)
    result = run_h2load(argv, timeout_s=50)
    assert result.protocol == ("h2" if tls else "h2c")
    assert result.all_succeeded, result
    assert result.succeeded == requests
