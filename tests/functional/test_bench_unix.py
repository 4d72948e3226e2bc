"""``fetch --unix`` and ``load --unix`` against Rocket listening on a unix socket."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import pytest

from rocket.bench.__main__ import main
from rocket.bench.apps import app

pytestmark = pytest.mark.skipif(not hasattr(__import__("socket"), "AF_UNIX"),
                                reason="no unix sockets here")


@pytest.fixture
def unix_path(start_server):
    directory = tempfile.mkdtemp(prefix="rb-", dir="/tmp")  # sun_path holds ~100 bytes
    path = os.path.join(directory, "s")
    try:
        start_server(app, interfaces=f"unix:{path}")
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_fetch_over_unix(unix_path, capsys):
    assert main(["fetch", "--raw", "--unix", unix_path, "http://localhost/stream"]) == 0
    out = capsys.readouterr().out
    assert "> Host: localhost\\r\\n" in out
    assert "framing     chunked; body 10000 bytes" in out


def test_load_over_unix(unix_path, capsys):
    assert main(["load", "--unix", unix_path, "http://localhost/", "-n", "200", "-c", "4",
                 "-q", "--json", "-"]) == 0
    out = capsys.readouterr().out
    res = json.loads(out[out.index("{"):])
    assert res["responses"] == 200 and res["errors"] == {}
    assert res["status"] == {"200": 200}
