"""The ``static`` setting: one table row, mounted by Rocket itself, from every source:
``Server``/``Rocket`` keywords, ``serve()``, TOML, environment, the command line, and the
worker processes of ``--workers 2``."""

from __future__ import annotations

import os
import re
import sys
import textwrap

import pytest

from rocket import Rocket, Server
from rocket.config.settings import Config, ConfigError
from tests.functional.cli_support import HELLO_APP, clean_env
from tests.functional.client import get, request


def app(environ, start_response):
    body = f"app {environ['PATH_INFO']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def public(tmp_path):
    """A directory with ``a.txt`` and ``sub/b.txt``; a ``hello.py`` app beside it."""
    root = tmp_path / "public"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("file a\n")
    (root / "sub" / "b.txt").write_text("file b\n")
    (tmp_path / "hello.py").write_text(HELLO_APP)
    return root


def test_server_keyword_mounts_in_front_of_the_app(start_server, public):
    port = start_server(Server(app, port=0, static=[
        f"/assets={public}", ("/deep", str(public / "sub"), {"cache_control": "max-age=60"})])).port
    assert get(port, "/assets/a.txt") == (200, "file a\n")
    assert get(port, "/assets/sub/b.txt") == (200, "file b\n")
    assert get(port, "/deep/b.txt") == (200, "file b\n")
    assert get(port, "/assets/missing.txt")[0] == 404  # a mount owns its whole prefix
    assert get(port, "/assetsXYZ") == (200, "app /assetsXYZ")
    assert get(port, "/other") == (200, "app /other")
    assert request(port, "/deep/b.txt").headers["Cache-Control"] == "max-age=60"


def test_static_without_an_app_serves_only_the_mounts(start_server, public):
    port = start_server(Server(None, port=0, static=f"/={public}")).port
    assert get(port, "/a.txt") == (200, "file a\n")
    assert get(port, "/nothing-here")[0] == 404


def test_rocket_keyword_and_restart_keep_the_mounts(start_server, public):
    server = start_server(app, static=[f"/s={public}"])
    assert get(server.port, "/s/a.txt") == (200, "file a\n")
    server.restart()
    assert get(server.port, "/s/a.txt") == (200, "file a\n")
    assert get(server.port, "/x") == (200, "app /x")


def test_the_setting_converts_once_and_round_trips(public):
    config = Config(static=[f"/assets/={public}"])
    assert config.static == (("/assets", str(public)),)
    assert Config(static=config.static).static == config.static  # settings passed on again
    assert Config().static == ()
    assert Config(static=Config(static=f"/={public}").static).static == (("", str(public)),)


def test_bad_mounts_and_methods_without_an_app_are_refused(public, tmp_path):
    with pytest.raises(ConfigError, match=r"setting 'static'.*does not exist"):
        Config(static=f"/a={tmp_path / 'nope'}")
    with pytest.raises(ConfigError, match=r"setting 'static'.*must look like URL=DIR"):
        Config(static="/a")
    with pytest.raises(ConfigError, match="method 'fs' has none"):
        Rocket(("127.0.0.1", 0), "fs", {"document_root": str(public)}, handle_signals=False,
               static=[f"/a={public}"])


SERVE_SCRIPT = textwrap.dedent("""
    import logging, sys
    from rocket import serve
    from hello import app
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    serve(app, port=0, static=["/files=public"])
""")


def test_serve_mounts_and_stops_on_sigterm(public, rocket_process):
    proc = rocket_process([], public.parent, program=[sys.executable, "-c", SERVE_SCRIPT])
    port = int(proc.wait_for(re.compile(r"Listening on sockets: \S+:(\d+)")).group(1))
    assert get(port, "/files/a.txt") == (200, "file a\n")
    assert get(port, "/files/zzz")[0] == 404
    assert get(port, "/p") == (200, "hello GET /p")
    assert proc.stop() == 0


def test_toml_file_mounts_for_the_command_line(public, rocket_process):
    (public.parent / "r.toml").write_text('bind = "127.0.0.1:0"\nstatic = ["/files=public"]\n'
                                          'access_log = "off"\n')
    proc = rocket_process(["-c", "r.toml", "hello:app"], public.parent)
    port = proc.port()
    assert get(port, "/files/sub/b.txt") == (200, "file b\n")
    assert get(port, "/p") == (200, "hello GET /p")
    assert proc.stop() == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="worker processes need fork")
def test_environment_mounts_in_every_worker_process(public, rocket_process):
    env = clean_env(ROCKET_STATIC="/files=public,/b=public/sub", ROCKET_BIND="127.0.0.1:0")
    proc = rocket_process(["--workers", "2", "--no-access-log"], public.parent, env=env)
    port = proc.port()
    proc.wait_for(r"Booted worker process", timeout=10)
    for _ in range(4):  # connections spread over both workers
        assert get(port, "/files/a.txt") == (200, "file a\n")
        assert get(port, "/b/b.txt") == (200, "file b\n")
        assert get(port, "/elsewhere")[0] == 404  # no app: only the mounts
    assert proc.stop() == 0
