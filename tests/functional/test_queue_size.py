"""The settings table's ``queue_size`` (the work-queue bound) reaches the server through the
modern entry points, which cannot pass it in ``**settings`` next to Rocket 1.x's positional
``queue_size`` (the listen backlog)."""

from __future__ import annotations

from rocket.server.wsgi import Server
from tests.apps import hello
from tests.functional.cli_support import HELLO_APP, RocketProcess, run_rocket
from tests.functional.client import get


def test_server_takes_the_table_queue_size(start_server):
    server = start_server(Server(hello.app, port=0, queue_size=3))
    assert server.config.queue_size == 3 and server.queue_size == 3
    assert server.pool.queue_size == 3  # the bound the listeners' has_room() checks
    assert "queue_size=3" in repr(server.config)
    assert get(server.port) == (200, "Hello, World!")


def test_cli_queue_size_starts_the_server(tmp_path):
    (tmp_path / "hello.py").write_text(HELLO_APP)
    args = ["--queue-size", "5", "--bind", "127.0.0.1:0"]
    done = run_rocket([*args, "--check-config", "hello:app"], str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "queue_size = 5" in done.stdout
    proc = RocketProcess([*args, "hello:app"], str(tmp_path), use_module=True)
    try:
        reply = get(proc.port())  # a crash on start (as before the fix) never answers
    finally:
        code = proc.stop()
    assert reply == (200, "hello GET /")
    assert code == 0, proc.stderr
