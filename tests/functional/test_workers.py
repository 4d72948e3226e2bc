"""Multi-process mode end to end: ``python -m rocket --workers N`` as a subprocess, real
loopback traffic, bounded loads. Each test reads the arbiter's log to learn the port and the
worker pids, and stops its server in a ``finally``."""

from __future__ import annotations

import ast
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import List, Optional, Tuple

import pytest

from tests.functional.cli_support import RocketProcess
from tests.functional.client import unix_get

if not hasattr(os, "fork"):
    pytest.skip("multi-process mode needs os.fork", allow_module_level=True)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APPS = os.path.join(ROOT, "tests", "apps")
BOOTED = re.compile(r"Booted worker process (\d+) \(generation (\d+)\)")
LISTENING = re.compile(r"Arbiter (\d+) listening on (\S+?):(\d+)")


class ServerProcess(RocketProcess):
    """``python -m rocket --workers N ... workers_app:app``, its log (stdout and stderr) read
    live; ``listen_port`` is known after :meth:`start`."""

    def __init__(self, *args: str, version_file: Optional[str] = None, workers: int = 2,
                 prefix: Tuple[str, ...] = (), pass_fds: Tuple[int, ...] = (),
                 stdin=None, cmd: Optional[List[str]] = None) -> None:
        env = dict(os.environ, PYTHONPATH=ROOT, PYTHONUNBUFFERED="1")
        if version_file:
            env["WORKERS_APP_VERSION_FILE"] = version_file
        has_bind = any(a in ("-b", "--bind") for a in args)
        cmd = [*prefix, sys.executable, "-m", "rocket", "--workers", str(workers),
               *(() if has_bind else ("-b", "127.0.0.1:0")), "--access-log", "off",
               "--log-level", "info", *args, "workers_app:app"] if cmd is None else cmd
        super().__init__([], APPS, env=env, program=cmd, merge_output=True,
                         pass_fds=pass_fds, stdin=stdin)
        self.listen_port = 0

    def start(self, workers: int = 2) -> ServerProcess:
        """Wait for the port and for ``workers`` booted workers."""
        self.listen_port = int(self.wait_for(LISTENING).group(3))
        self.wait_for_all(BOOTED, workers)
        return self

    def booted_pids(self) -> List[int]:
        return [int(m.group(1)) for _, line in self.timed_lines()
                for m in [BOOTED.search(line)] if m]

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self) -> int:  # type: ignore[override]
        """SIGINT then SIGKILL after 10 s; returns the exit code."""
        return super().stop(signal.SIGINT, 10)


class Client:
    """One keep-alive connection. A request that fails before any response byte on a reused
    connection is retried once on a new one (RFC 9112 section 9.3.1: the server may close an
    idle connection at any time); any other failure counts."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: Optional[http.client.HTTPConnection] = None

    def get(self, path: str = "/") -> Tuple[int, str]:
        for attempt in range(2):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
            try:
                self.conn.request("GET", path)
                resp = self.conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if reused and attempt == 0:
                    continue
                raise
            body = resp.read().decode()  # a truncated body raises IncompleteRead: a failure
            if resp.will_close:
                self.close()
            return resp.status, body
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def load(port: int, connections: int, seconds: float, path: str = "/",
         during=None) -> Tuple[List[Tuple[float, int, str]], List[str]]:
    """``connections`` threads looping for ``seconds``; ``during()`` runs meanwhile.

    Returns (time, status, body) of every response and the failures.
    """
    results: List[Tuple[float, int, str]] = []
    failures: List[str] = []
    stop_at = time.monotonic() + seconds

    def loop() -> None:
        client = Client(port)
        count = 0
        while time.monotonic() < stop_at and count < 100_000:
            count += 1
            try:
                status, body = client.get(path)
            except Exception as exc:  # noqa: BLE001 - every failure is recorded
                failures.append(repr(exc))
                client.close()
                continue
            results.append((time.monotonic(), status, body))
        client.close()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    if during is not None:
        during()
    for t in threads:
        t.join(seconds + 20)
    return results, failures


def fetch_once(port: int, path: str = "/") -> Tuple[int, str]:
    client = Client(port)
    try:
        return client.get(path)
    finally:
        client.close()


# -- tests -------------------------------------------------------------------------------------
def test_sighup_reload_loses_nothing_and_switches_versions_once(rocket_process, tmp_path):
    version = tmp_path / "version"
    version.write_text("v1")
    server = rocket_process(ServerProcess(version_file=str(version))).start()
    marks = {}

    def reload() -> None:
        time.sleep(1.5)
        version.write_text("v2")
        marks["hup"] = time.monotonic()
        server.signal(signal.SIGHUP)
        server.wait_for_all(BOOTED, 4, timeout=10)

    results, failures = load(server.listen_port, 16, 5.0, during=reload)
    assert failures == []
    assert len(results) > 500
    assert all(status == 200 for _, status, _ in results)
    versions = [(t, body.split()[0]) for t, _, body in results]
    assert {v for _, v in versions} == {"v1", "v2"}
    assert all(v == "v1" for t, v in versions if t < marks["hup"])
    first_v2 = min(t for t, v in versions if v == "v2")
    last_v1 = max(t for t, v in versions if v == "v1")
    assert last_v1 - first_v2 < 1.5, "old and new versions mixed for too long"
    assert versions[-1][1] == "v2"
    server.wait_for_all(r"Worker \d+ exited with code 0", 2)


def test_reload_with_an_app_that_no_longer_imports_keeps_the_old_workers(rocket_process, tmp_path):
    version = tmp_path / "version"
    version.write_text("v1")
    server = rocket_process(ServerProcess(version_file=str(version))).start()
    old = set(server.booted_pids())
    version.write_text("broken")
    server.signal(signal.SIGHUP)
    server.wait_for(r"Reload failed: worker \d+ of the new generation could not boot")
    for _ in range(20):
        status, body = fetch_once(server.listen_port)
        assert status == 200 and body.startswith("v1 ") and int(body.split()[1]) in old
    version.write_text("v2")                       # fixed: the next reload goes through
    server.signal(signal.SIGHUP)
    server.wait_for_all(r"Worker \d+ exited with code 0", 2)
    assert {fetch_once(server.listen_port)[1].split()[0] for _ in range(10)} == {"v2"}


def test_unix_socket_is_shared_and_removed_by_the_arbiter(tmp_path):
    path = str(tmp_path / "rocket.sock")
    server = ServerProcess("--bind", f"unix:{path}")
    try:
        server.wait_for_all(BOOTED, 2)
        for _ in range(10):
            data = unix_get(path, "/", timeout=10)
            assert data.startswith("HTTP/1.1 200 ") and "\r\n\r\nv0 " in data
        assert os.path.exists(path)
    finally:
        server.signal(signal.SIGTERM)
        assert server.proc.wait(10) == 0
        server.stop()
    assert not os.path.exists(path)


def test_sigterm_finishes_requests_already_received(rocket_process):
    server = rocket_process(ServerProcess("--graceful-timeout", "10")).start()
    slow: List[Tuple[int, str]] = []
    errors: List[str] = []

    def slow_request() -> None:
        try:
            slow.append(fetch_once(server.listen_port, "/slow?ms=800"))
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))

    def terminate() -> None:
        threads = [threading.Thread(target=slow_request) for _ in range(6)]
        for t in threads:
            t.start()
        time.sleep(0.3)                            # the six are inside the app now
        server.signal(signal.SIGTERM)
        for t in threads:
            t.join(15)

    results, failures = load(server.listen_port, 8, 1.0, during=terminate)
    assert errors == [] and len(slow) == 6
    assert all(status == 200 and body.startswith("v0 ") for status, body in slow)
    assert results and all(status == 200 for _, status, _ in results)
    for failure in failures:                       # after the stop: refused, never truncated
        assert "IncompleteRead" not in failure and "BadStatusLine" not in failure, failure
    assert server.proc.wait(15) == 0


def test_kill_9_worker_is_replaced_within_a_second(rocket_process):
    server = rocket_process(ServerProcess()).start()
    victim, survivor = server.booted_pids()[:2]
    killed_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    for _ in range(20):                            # the other worker keeps serving
        assert fetch_once(server.listen_port)[0] == 200
    server.wait_for(rf"Worker {victim} died unexpectedly: killed by signal 9", timeout=2)
    server.wait_for_all(BOOTED, 3, timeout=2)
    booted_at = [t for t, line in server.timed_lines() if BOOTED.search(line)]
    assert booted_at[2] - killed_at < 1.0
    pids = set()
    for _ in range(200):  # which process accepts is the kernel's choice: ask until both answered
        pids.add(int(fetch_once(server.listen_port)[1].split()[1]))
        if survivor in pids and len(pids) > 1:
            break
    assert victim not in pids and survivor in pids and len(pids) == 2


def test_hung_app_worker_is_killed_after_worker_timeout_and_replaced(rocket_process):
    server = rocket_process(ServerProcess("--worker-timeout", "1.5")).start()
    hung: List[str] = []

    def hang() -> None:
        try:
            hung.append(repr(fetch_once(server.listen_port, "/hang")))
        except Exception as exc:  # noqa: BLE001
            hung.append(repr(exc))

    thread = threading.Thread(target=hang, daemon=True)
    started = time.monotonic()
    thread.start()
    match = server.wait_for(r"Killing worker (\d+) with SIGKILL: no progress", timeout=5)
    assert 1.5 <= time.monotonic() - started < 4.0
    server.wait_for_all(BOOTED, 3, timeout=3)
    thread.join(5)
    assert hung and "200" not in hung[0]           # the hung request was cut, not answered
    assert int(match.group(1)) in server.booted_pids()[:2]
    assert fetch_once(server.listen_port)[0] == 200


def test_max_requests_rotates_workers_without_a_failed_request(rocket_process):
    server = rocket_process(ServerProcess("--max-requests", "50",
                                          "--max-requests-jitter", "10")).start()
    results, failures = load(server.listen_port, 4, 3.0)
    assert failures == []
    assert len(results) > 300
    pids = {body.split()[1] for _, _, body in results}
    assert len(pids) >= 4, "workers were not rotated"
    server.wait_for_all(r"served \d+ requests \(max_requests\)", 2)


def test_listen_fds_socket_bound_by_the_test_is_adopted():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    try:
        # sh makes its own pid LISTEN_PID, then execs Python on fd 3 = our socket (stdin).
        prefix = ("sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@" 3<&0 0</dev/null', "sh")
        server = ServerProcess("--bind", "127.0.0.1:1", prefix=prefix, stdin=listener.fileno())
        try:
            server.wait_for(r"Adopted 1 socket\(s\) from systemd")
            server.wait_for_all(BOOTED, 2)
            pids = {fetch_once(port)[1].split()[1] for _ in range(20)}
            assert pids
            assert "127.0.0.1:1" not in server.log()
        finally:
            assert server.stop() == 0
    finally:
        listener.close()


def test_fd_bind_adopts_an_inherited_socket_in_one_process_too(rocket_process):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    try:
        proc = rocket_process(["--bind", f"fd://{listener.fileno()}", "--access-log", "off",
                               "workers_app:app"], APPS, env=dict(os.environ, PYTHONPATH=ROOT),
                              use_module=True, pass_fds=(listener.fileno(),))
        deadline = time.monotonic() + 10
        while True:
            try:
                assert fetch_once(port)[0] == 200
                break
            except OSError:
                assert time.monotonic() < deadline and proc.proc.poll() is None
                time.sleep(0.1)
        proc.stop()
    finally:
        listener.close()


def test_info_ttin_ttou_and_reuse_port(rocket_process):
    server = rocket_process(ServerProcess("--reuse-port")).start()
    for _ in range(40):
        assert fetch_once(server.listen_port)[0] == 200
    server.signal(signal.SIGTTIN)
    server.wait_for_all(BOOTED, 3)
    deadline = time.monotonic() + 5
    while True:                                    # figures are published every beat
        since = time.monotonic()
        server.signal(signal.SIGUSR1)
        line = server.wait_for(r"info: (\{.*\})$", since=since).group(1)
        info = ast.literal_eval(line)
        if info["requests"] >= 40 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert info["workers_wanted"] == 3 and len(info["workers"]) == 3
    assert info["requests"] >= 40
    assert {w["pid"] for w in info["workers"]} == set(server.booted_pids())
    assert all(w["threads"] >= 1 for w in info["workers"])
    server.signal(signal.SIGTTOU)
    server.wait_for(r"Stopping worker \d+ gracefully: fewer workers wanted")
    server.wait_for(r"Worker \d+ exited with code 0")
    assert fetch_once(server.listen_port)[0] == 200


def test_serve_api_with_workers_runs_the_arbiter(rocket_process):
    script = ("import logging; logging.basicConfig(level=logging.INFO); "
              "from rocket.server.wsgi import serve; from workers_app import app; "
              "serve(app, port=0, workers=2, access_log=False)")
    server = rocket_process(ServerProcess(cmd=[sys.executable, "-c", script])).start()
    pids = {fetch_once(server.listen_port)[1].split()[1] for _ in range(30)}
    assert pids <= {str(p) for p in server.booted_pids()}
    server.signal(signal.SIGTERM)
    assert server.proc.wait(10) == 0


ROCKET_API_SCRIPT = """
import json, logging, threading, time, urllib.request
logging.basicConfig(level=logging.INFO)
from rocket.server.wsgi import Rocket
from workers_app import app
server = Rocket(("127.0.0.1", 0), "wsgi", {"wsgi_app": app}, workers=2, access_log=False)

def poke():
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        info = server.info()
        if [w["state"] for w in info.get("workers", [])] == ["serving", "serving"]:
            break
        time.sleep(0.05)
    port = int(info["listen_on"][0].rsplit(":", 1)[1])
    for _ in range(25):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read()
    time.sleep(0.6)  # a heartbeat or two
    print("INFO " + json.dumps(server.info()), flush=True)
    server.stop()

threading.Thread(target=poke, daemon=True).start()
server.start()
print("STOPPED", flush=True)
"""


def test_rocket_api_with_workers_aggregates_info_and_stops_from_a_thread():
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-c", ROCKET_API_SCRIPT], cwd=APPS, env=env,
                          capture_output=True, text=True, timeout=40)
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("INFO "))
    info = json.loads(line[5:])
    assert len(info["workers"]) == 2 and info["requests"] >= 25
    assert sum(w["requests"] for w in info["workers"]) == info["requests"]
    assert all(w["pid"] != info["pid"] and w["threads"] >= 1 for w in info["workers"])
    assert proc.stdout.rstrip().endswith("STOPPED")


def test_app_that_cannot_be_imported_stops_the_arbiter_with_code_3():
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-m", "rocket", "--workers", "2", "-b",
                           "127.0.0.1:0", "no_such_module_here:app"], cwd=APPS, env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 3
    assert "failed to boot" in proc.stderr and "no_such_module_here" in proc.stderr
