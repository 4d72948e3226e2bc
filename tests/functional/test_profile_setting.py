"""``--profile FILE`` / the ``profile`` setting: the server's threads run under cProfile and
the merged stats are written when it stops; ``python -m rocket.bench profile-report`` reads
them."""

from __future__ import annotations

import glob
import os
import pstats
import subprocess
import sys

import pytest

from rocket import Server
from tests.functional.cli_support import HELLO_APP, RocketProcess, clean_env
from tests.functional.client import get

REQUESTS = 20


def profile_report(*args):
    return subprocess.run([sys.executable, "-m", "rocket.bench", "profile-report", *args],
                          capture_output=True, text=True, timeout=30)


def calls_of(stats, filename, function):
    return sum(v[1] for k, v in stats.stats.items()
               if k[0].endswith(filename) and k[2] == function)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "hello.py").write_text(HELLO_APP)
    return tmp_path


def test_cli_profile_is_written_on_sigterm_and_reported(project):
    proc = RocketProcess(["-b", "127.0.0.1:0", "--profile", "out.prof", "--no-access-log",
                          "hello:app"], str(project))
    try:
        port = proc.port()
        for _ in range(REQUESTS):
            assert get(port, "/p") == (200, "hello GET /p")
    finally:
        code = proc.stop()
    assert code == 0
    assert "Wrote the profile of" in proc.stderr
    stats = pstats.Stats(str(project / "out.prof"))
    assert calls_of(stats, "hello.py", "app") == REQUESTS
    assert calls_of(stats, "wsgi.py", "handle_request") == REQUESTS  # the worker's functions
    assert calls_of(stats, "threadpool.py", "_run") >= 1
    report = profile_report(str(project / "out.prof"), "--sort", "cumulative", "--limit", "2000")
    assert report.returncode == 0, report.stderr
    assert "hello.py" in report.stdout and "(app)" in report.stdout
    assert "(handle_request)" in report.stdout and "profiled thread time" in report.stdout


@pytest.mark.skipif(not hasattr(os, "fork"), reason="worker processes need fork")
def test_each_worker_process_writes_its_own_file(project):
    proc = RocketProcess(["-b", "127.0.0.1:0", "--workers", "2", "--profile", "w.prof",
                          "--no-access-log", "hello:app"], str(project))
    try:
        port = proc.port()
        for _ in range(REQUESTS):
            assert get(port, "/p") == (200, "hello GET /p")
    finally:
        code = proc.stop()
    assert code == 0
    files = sorted(glob.glob(str(project / "w.prof.*")))
    assert len(files) == 2, proc.stderr  # FILE.PID per worker; the arbiter serves nothing
    assert not os.path.exists(project / "w.prof")
    stats = pstats.Stats(*files)
    assert calls_of(stats, "hello.py", "app") == REQUESTS
    report = profile_report(*files, "--limit", "2000")
    assert report.returncode == 0 and "(app)" in report.stdout


def profiled_app(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]


def test_server_setting_profiles_pool_threads_and_survives_restart(start_server, tmp_path):
    path = str(tmp_path / "api.prof")
    server = start_server(Server(profiled_app, port=0, profile=path))
    for _ in range(5):
        assert get(server.port, "/p") == (200, "ok")
    server.restart()  # new listener threads; the profiler stays installed
    for _ in range(5):
        assert get(server.port, "/p") == (200, "ok")
    assert not os.path.exists(path)  # written on stop, not before
    server.stop()
    stats = pstats.Stats(path)
    assert calls_of(stats, "test_profile_setting.py", "profiled_app") == 10


def test_no_profile_setting_writes_nothing_and_leaves_no_hook(start_server, tmp_path):
    server = start_server(Server(profiled_app, port=0))
    assert server._profiler is None
    assert get(server.port, "/p") == (200, "ok")
    server.stop()
    assert os.listdir(tmp_path) == []


def test_unwritable_profile_directory_is_a_one_line_start_error(project):
    proc = subprocess.run([sys.executable, "-m", "rocket", "-b", "127.0.0.1:0", "--profile",
                           "missing-dir/x.prof", "hello:app"], cwd=str(project), env=clean_env(),
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert "rocket: error: setting 'profile': cannot write 'missing-dir/x.prof'" in proc.stderr
    assert "Traceback" not in proc.stderr
