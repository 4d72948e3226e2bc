"""``load`` against a real Rocket: every request issued ends exactly once (response or error)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from rocket.bench.__main__ import main
from rocket.bench.apps import app
from rocket.bench.engine import LoadSpec
from rocket.bench.load import run


def consistent(res):
    assert res["requests"] == res["responses"] + sum(res["errors"].values())
    assert res["errors_total"] == sum(res["errors"].values())
    assert sum(res["status"].values()) == res["responses"]
    lat = res["latency_ms"]
    if res["responses"]:
        assert 0 <= lat["p50_ms"] <= lat["p90_ms"] <= lat["p99_ms"] <= lat["p999_ms"]
        assert lat["p999_ms"] <= lat["max_ms"] + 0.001


@pytest.fixture
def address(start_server):
    return "127.0.0.1", start_server(app).port


def test_one_second_cli_run_with_json(address, tmp_path, capsys):
    host, port = address
    out = tmp_path / "load.json"
    t0 = time.monotonic()
    code = main(["load", f"http://{host}:{port}/", "-d", "1", "-c", "8", "--json", str(out)])
    assert time.monotonic() - t0 < 10
    assert code == 0
    res = json.loads(out.read_text())
    consistent(res)
    assert res["responses"] > 50
    assert res["status"] == {"200": res["responses"]}
    assert res["errors"] == {}
    assert 0.9 < res["duration_s"] < 5
    assert res["bytes_in"] > res["responses"] * 13
    captured = capsys.readouterr()
    assert "Requests    " in captured.out and "Latency ms  p50" in captured.out
    assert "Client CPU" in captured.out
    assert "req/s" in captured.err  # the progress line


def test_request_count_with_pipelining(address):
    host, port = address
    res = run(LoadSpec(host, port, b"/", requests=300, connections=4, pipeline=4))
    consistent(res)
    assert res["requests"] == res["responses"] == 300
    assert res["connects"] == 4


def test_close_mode_opens_a_connection_per_request(address):
    host, port = address
    res = run(LoadSpec(host, port, b"/", requests=60, connections=4, keep_alive=False))
    consistent(res)
    assert res["responses"] == 60
    assert res["connects"] >= 60


def test_chunked_upload(address):
    host, port = address
    res = run(LoadSpec(host, port, b"/echo", method=b"POST", requests=40, connections=2,
                       body_size=20000, chunked_upload=True))
    consistent(res)
    assert res["status"] == {"200": 40}
    assert res["bytes_out"] > 40 * 20000


def test_two_processes(address):
    host, port = address
    res = run(LoadSpec(host, port, b"/", duration_s=1.0, connections=4), processes=2)
    consistent(res)
    assert res["processes"] == 2
    assert len(res["client_cpu_pct_each"]) == 2
    assert res["responses"] > 0


def test_refused_connections_are_connect_errors(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    res = run(LoadSpec("127.0.0.1", port, b"/", duration_s=0.5, connections=2))
    consistent(res)
    assert res["responses"] == 0
    assert res["errors"].get("connect", 0) > 0
    assert main(["load", f"http://127.0.0.1:{port}/", "-d", "0.3", "-q"]) == 1


def slow_app(environ, start_response):
    time.sleep(1.5)
    start_response("200 OK", [("Content-Length", "0")])
    return [b""]


def test_slow_answers_time_out(start_server):
    host, port = "127.0.0.1", start_server(slow_app).port
    res = run(LoadSpec(host, port, b"/", duration_s=0.8, connections=2, timeout_s=0.3))
    consistent(res)
    assert res["responses"] == 0
    assert res["errors"].get("timeout", 0) >= 2


def closing_app(environ, start_response):
    start_response("200 OK", [("Content-Length", "2"), ("Connection", "close")])
    return [b"ok"]


def test_server_closing_after_each_response_is_not_an_error(start_server):
    host, port = "127.0.0.1", start_server(closing_app).port
    res = run(LoadSpec(host, port, b"/", requests=50, connections=2, pipeline=1))
    consistent(res)
    assert res["responses"] == 50
    assert res["errors"] == {}
    assert res["connects"] >= 50


@pytest.mark.parametrize("processes", ["1", "2"])
def test_ctrl_c_reports_what_was_measured(address, processes):
    host, port = address
    proc = subprocess.Popen(
        [sys.executable, "-m", "rocket.bench", "load", f"http://{host}:{port}/", "-d", "30",
         "-c", "4", "--processes", processes, "--json", "-"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        line = ""
        while "req/s" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()  # the first progress line: the load is running
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "interrupted (Ctrl-C)" in out
    res = json.loads(out[out.index("{"):])
    assert res["interrupted"] is True
    consistent(res)
    assert res["responses"] > 0


def token_app(environ, start_response):
    ok = environ.get("HTTP_X_TOKEN") == "abc"
    start_response("200 OK" if ok else "403 Forbidden", [("Content-Length", "0")])
    return [b""]


def test_extra_headers_reach_the_app(start_server, capsys):
    host, port = "127.0.0.1", start_server(token_app).port
    assert main(["load", f"http://{host}:{port}/", "-n", "20", "-c", "2", "-q",
                 "-H", "X-Token: abc", "--json", "-"]) == 0
    out = capsys.readouterr().out
    res = json.loads(out[out.index("{"):])
    assert res["status"] == {"200": 20}
    res = run(LoadSpec(host, port, b"/", requests=10, connections=2))
    assert res["status"] == {"403": 10} and res["non_2xx_3xx"] == 10
    consistent(res)


def test_fairness_every_connection_served(address):
    host, port = address
    res = run(LoadSpec(host, port, b"/", duration_s=1.0, connections=8))
    fair = res["fairness"]
    assert fair["connections"] == 8 and fair["served"] == 8
    assert fair["min"] > 0 and 0 < fair["jain"] <= 1.0


def test_fairness_shows_connections_a_server_never_serves():
    """A server that serves one keep-alive connection and never accepts another one."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    def serve_one():
        conn, _ = listener.accept()
        conn.settimeout(0.2)
        with conn:
            while not stop.is_set():
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    return
                conn.sendall(answer * data.count(b"\r\n\r\n"))

    t = threading.Thread(target=serve_one, daemon=True)
    t.start()
    try:
        res = run(LoadSpec("127.0.0.1", listener.getsockname()[1], b"/", duration_s=1.0,
                           connections=4, timeout_s=3.0, drain_s=0.2))
    finally:
        stop.set()
        listener.close()
        t.join(5)
    consistent(res)
    assert res["fairness"]["served"] == 1
    assert res["fairness"]["connections"] == 4
    assert res["errors"].get("unfinished") == 3  # the three never-served requests


def test_malformed_responses_are_parse_errors():
    """A server that answers every connection with bytes that are not HTTP, then closes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (socket.timeout, OSError):
                continue
            with conn:
                try:
                    conn.recv(65536)
                    conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")
                except OSError:
                    pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        res = run(LoadSpec("127.0.0.1", listener.getsockname()[1], b"/", requests=30,
                           connections=3, timeout_s=3.0))
    finally:
        stop.set()
        t.join(5)
        listener.close()
    consistent(res)
    assert res["responses"] == 0
    assert res["requests"] == 30
    assert res["errors"].get("parse", 0) >= 1
    assert set(res["errors"]) <= {"parse", "read", "closed"}
