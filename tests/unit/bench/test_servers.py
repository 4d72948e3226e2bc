"""compare's server processes: started, found ready, and always stopped (even stubborn ones)."""

from __future__ import annotations

import os
import sys
import time

from rocket.bench.servers import SERVERS, ServerProcess, ServerSpec, stop_all, taskset_prefix

# A server that ignores SIGTERM and forks a child that does too: only SIGKILL of the whole
# process group ends it.
STUBBORN = r"""
import os, signal, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
signal.signal(signal.SIGTERM, signal.SIG_IGN)
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
if os.fork() == 0:
    signal.pause()
    os._exit(0)
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_stubborn_server_group_is_killed(tmp_path):
    spec = ServerSpec("stubborn", "http", [sys.executable, "-c", STUBBORN, "{port}"], "test")
    server = ServerProcess(spec, log_path=str(tmp_path / "log"))
    try:
        assert server.start(ready_timeout_s=20)
        pids = server.pids()
        assert len(pids) == 2, pids  # the server and its forked child share the group
    finally:
        t0 = time.monotonic()
        server.stop(grace_s=0.5)
    assert time.monotonic() - t0 < 8
    assert not [p for p in pids if alive(p)]
    server.stop()  # idempotent


def test_a_server_that_exits_at_once_is_not_ready(tmp_path):
    spec = ServerSpec("dies", "sys", [sys.executable, "-c", "raise SystemExit(3)"], "test")
    server = ServerProcess(spec, log_path=str(tmp_path / "log"))
    try:
        assert server.start(ready_timeout_s=10) is False
    finally:
        server.stop()


def test_stop_all_stops_what_is_left(tmp_path):
    spec = ServerSpec("rocket", "rocket", SERVERS["rocket"].argv, "test")
    server = ServerProcess(spec, log_path=str(tmp_path / "log"))
    try:
        assert server.start()
        cpu, rss = server.usage()
        assert cpu >= 0 and rss > 1
        pid = server.proc.pid
    finally:
        stop_all()
    assert server.proc is None
    assert not alive(pid)


def test_specs_and_helpers():
    assert SERVERS["rocket"].available()
    assert not ServerSpec("x", "no_such_module_here", [], "").available()
    cmd = SERVERS["gunicorn-gthread"].command(8123, 7)
    assert cmd[0] == sys.executable and "127.0.0.1:8123" in cmd and "7" in cmd
    assert taskset_prefix(None) == []
    if os.path.exists("/usr/bin/taskset"):
        assert taskset_prefix("1") == ["taskset", "-c", "1"]
