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

from tests.functional.cli_support import stop_process
from tests.functional.client import unix_get

if not hasattr(os, "fork"):
    pytest.skip("multi-process mode needs os.fork", allow_module_level=True)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APPS = os.path.join(ROOT, "tests", "apps")
BOOTED = re.compile(r"Booted worker process (\d+) \(generation (\d+)\)")
LISTENING = re.compile(r"Arbiter (\d+) listening on (\S+?):(\d+)")


class ServerProcess:
    """``python -m rocket --workers N ... workers_app:app`` with its log collected live."""

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
        self.lines: List[Tuple[float, str]] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(cmd, cwd=APPS, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, pass_fds=pass_fds,
                                     stdin=stdin)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port = 0

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self._cond.notify_all()

    def wait_for(self, pattern: str, count: int = 1, timeout: float = 10.0,
                 since: float = 0.0) -> List[re.Match]:
        """The first ``count`` matches of ``pattern`` in lines logged after ``since``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for t, line in self.lines if t >= since
                         for m in [regex.search(line)] if m]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"{pattern!r} x{count} not logged in {timeout}s:\n"
                                         + self.log())
                self._cond.wait(min(left, 0.1))

    def start(self, workers: int = 2) -> ServerProcess:
        """Wait for the port and for ``workers`` booted workers."""
        self.port = int(self.wait_for(LISTENING.pattern)[0].group(3))
        self.wait_for(BOOTED.pattern, count=workers)
        return self

    def booted_pids(self) -> List[int]:
        with self._cond:
            return [int(m.group(1)) for _, line in self.lines for m in [BOOTED.search(line)] if m]

    def log(self) -> str:
        with self._cond:
            return "\n".join(line for _, line in self.lines)

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self) -> int:
        """SIGINT then SIGKILL; returns the exit code."""
        stop_process(self.proc, signal.SIGINT, 10)
        self._reader.join(5)
        return self.proc.returncode


@pytest.fixture
def servers():
    started: List[ServerProcess] = []

    def start(*args: str, **kwargs) -> ServerProcess:
        workers = kwargs.get("workers", 2)
        server = ServerProcess(*args, **kwargs)
        started.append(server)
        return server.start(workers)

    try:
        yield start
    finally:
        for server in started:
            server.stop()


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
def test_sighup_reload_loses_nothing_and_switches_versions_once(servers, tmp_path):
    version = tmp_path / "version"
    version.write_text("v1")
    server = servers(version_file=str(version))
    marks = {}

    def reload() -> None:
        time.sleep(1.5)
        version.write_text("v2")
        marks["hup"] = time.monotonic()
        server.signal(signal.SIGHUP)
        server.wait_for(BOOTED.pattern + "", count=4, timeout=10)

    results, failures = load(server.port, 16, 5.0, during=reload)
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
    server.wait_for(r"Worker \d+ exited with code 0", count=2)


def test_reload_with_an_app_that_no_longer_imports_keeps_the_old_workers(servers, tmp_path):
    version = tmp_path / "version"
    version.write_text("v1")
    server = servers(version_file=str(version))
    old = set(server.booted_pids())
    version.write_text("broken")
    server.signal(signal.SIGHUP)
    server.wait_for(r"Reload failed: worker \d+ of the new generation could not boot")
    for _ in range(20):
        status, body = fetch_once(server.port)
        assert status == 200 and body.startswith("v1 ") and int(body.split()[1]) in old
    version.write_text("v2")                       # fixed: the next reload goes through
    server.signal(signal.SIGHUP)
    server.wait_for(r"Worker \d+ exited with code 0", count=2)
    assert {fetch_once(server.port)[1].split()[0] for _ in range(10)} == {"v2"}


def test_unix_socket_is_shared_and_removed_by_the_arbiter(tmp_path):
    path = str(tmp_path / "rocket.sock")
    server = ServerProcess("--bind", f"unix:{path}")
    try:
        server.wait_for(BOOTED.pattern, count=2)
        for _ in range(10):
            data = unix_get(path, "/", timeout=10)
            assert data.startswith("HTTP/1.1 200 ") and "\r\n\r\nv0 " in data
        assert os.path.exists(path)
    finally:
        server.signal(signal.SIGTERM)
        assert server.proc.wait(10) == 0
        server.stop()
    assert not os.path.exists(path)


def test_sigterm_finishes_requests_already_received(servers):
    server = servers("--graceful-timeout", "10")
    slow: List[Tuple[int, str]] = []
    errors: List[str] = []

    def slow_request() -> None:
        try:
            slow.append(fetch_once(server.port, "/slow?ms=800"))
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

    results, failures = load(server.port, 8, 1.0, during=terminate)
    assert errors == [] and len(slow) == 6
    assert all(status == 200 and body.startswith("v0 ") for status, body in slow)
    assert results and all(status == 200 for _, status, _ in results)
    for failure in failures:                       # after the stop: refused, never truncated
        assert "IncompleteRead" not in failure and "BadStatusLine" not in failure, failure
    assert server.proc.wait(15) == 0


def test_kill_9_worker_is_replaced_within_a_second(servers):
    server = servers()
    victim, survivor = server.booted_pids()[:2]
    killed_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    for _ in range(20):                            # the other worker keeps serving
        assert fetch_once(server.port)[0] == 200
    server.wait_for(rf"Worker {victim} died unexpectedly: killed by signal 9", timeout=2)
    server.wait_for(BOOTED.pattern, count=3, timeout=2)
    booted_at = [t for t, line in server.lines if BOOTED.search(line)]
    assert booted_at[2] - killed_at < 1.0
    pids = {int(body.split()[1]) for body in
            (fetch_once(server.port)[1] for _ in range(30))}
    assert victim not in pids and survivor in pids


def test_hung_app_worker_is_killed_after_worker_timeout_and_replaced(servers):
    server = servers("--worker-timeout", "1.5")
    hung: List[str] = []

    def hang() -> None:
        try:
            hung.append(repr(fetch_once(server.port, "/hang")))
        except Exception as exc:  # noqa: BLE001
            hung.append(repr(exc))

    thread = threading.Thread(target=hang, daemon=True)
    started = time.monotonic()
    thread.start()
    match = server.wait_for(r"Killing worker (\d+) with SIGKILL: no progress", timeout=5)[0]
    assert 1.5 <= time.monotonic() - started < 4.0
    server.wait_for(BOOTED.pattern, count=3, timeout=3)
    thread.join(5)
    assert hung and "200" not in hung[0]           # the hung request was cut, not answered
    assert int(match.group(1)) in server.booted_pids()[:2]
    assert fetch_once(server.port)[0] == 200


def test_max_requests_rotates_workers_without_a_failed_request(servers):
    server = servers("--max-requests", "50", "--max-requests-jitter", "10")
    results, failures = load(server.port, 4, 3.0)
    assert failures == []
    assert len(results) > 300
    pids = {body.split()[1] for _, _, body in results}
    assert len(pids) >= 4, "workers were not rotated"
    server.wait_for(r"served \d+ requests \(max_requests\)", count=2)


def test_listen_fds_socket_bound_by_the_test_is_adopted(servers):
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
            server.wait_for(BOOTED.pattern, count=2)
            pids = {fetch_once(port)[1].split()[1] for _ in range(20)}
            assert pids
            assert "127.0.0.1:1" not in server.log()
        finally:
            assert server.stop() == 0
    finally:
        listener.close()


def test_fd_bind_adopts_an_inherited_socket_in_one_process_too():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, "-m", "rocket", "--bind", f"fd://{listener.fileno()}",
                             "--access-log", "off", "workers_app:app"], cwd=APPS, env=env,
                            pass_fds=(listener.fileno(),), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                assert fetch_once(port)[0] == 200
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        listener.close()


def test_info_ttin_ttou_and_reuse_port(servers):
    server = servers("--reuse-port")
    for _ in range(40):
        assert fetch_once(server.port)[0] == 200
    server.signal(signal.SIGTTIN)
    server.wait_for(BOOTED.pattern, count=3)
    deadline = time.monotonic() + 5
    while True:                                    # figures are published every beat
        since = time.monotonic()
        server.signal(signal.SIGUSR1)
        line = server.wait_for(r"info: (\{.*\})$", since=since)[0].group(1)
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
    assert fetch_once(server.port)[0] == 200


def test_serve_api_with_workers_runs_the_arbiter(servers):
    script = ("import logging; logging.basicConfig(level=logging.INFO); "
              "from rocket.server.wsgi import serve; from workers_app import app; "
              "serve(app, port=0, workers=2, access_log=False)")
    server = servers(cmd=[sys.executable, "-c", script])
    pids = {fetch_once(server.port)[1].split()[1] for _ in range(30)}
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
