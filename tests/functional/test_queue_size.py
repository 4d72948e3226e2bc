"""The settings table's ``queue_size`` (the work-queue bound) reaches the server through the
modern entry points, which cannot pass it in ``**settings`` next to Rocket 1.x's positional
``queue_size`` (the listen backlog)."""

from __future__ import annotations

import http.client
import subprocess
import sys
import time

from rocket.server.wsgi import Server


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"hi"]


def test_server_takes_the_table_queue_size():
    server = Server(hello, port=0, queue_size=3)
    try:
        server.start(background=True)
        assert server.config.queue_size == 3 and server.queue_size == 3
        assert server.pool.queue_size == 3  # the bound the listeners' has_room() checks
        assert "queue_size=3" in repr(server.config)
        conn = http.client.HTTPConnection("127.0.0.1", server.ports[0], timeout=5)
        conn.request("GET", "/")
        assert conn.getresponse().read() == b"hi"
        conn.close()
    finally:
        server.stop()


def test_cli_queue_size_starts_the_server(tmp_path):
    (tmp_path / "qsapp.py").write_text(
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Length', '2')])\n"
        "    return [b'hi']\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "rocket", "--queue-size", "5", "--bind", "127.0.0.1:0",
         "--check-config", "qsapp:app"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "queue_size = 5" in out
    proc = subprocess.Popen(
        [sys.executable, "-m", "rocket", "--queue-size", "5", "--bind", "127.0.0.1:0", "qsapp:app"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        time.sleep(2)  # a crash on start (as before the fix) shows as an exited process
        assert proc.poll() is None, proc.communicate()[1]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
