"""The ``rocket`` command in a subprocess: TCP, unix and TLS with real requests, config
precedence, every startup error as one line with its exit code, and --reload."""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import stat
import tempfile
import time

import pytest

from tests.functional.cli_support import (
    HELLO_APP,
    clean_env,
    error_lines,
    free_port,
    run_rocket,
)
from tests.functional.client import get, unix_get

COMBINED_LINE = re.compile(r'^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] '
                           r'"GET /path HTTP/1\.1" 200 \d+ "http://ref\.example/" "cli-test/1"$')


@pytest.fixture
def project(tmp_path):
    """A directory holding ``hello.py`` (module-level ``app`` and ``create_app(message)``)."""
    (tmp_path / "hello.py").write_text(HELLO_APP)
    return tmp_path


@pytest.fixture
def short_dir():
    """A short directory for unix socket paths (sun_path holds about 100 bytes)."""
    path = tempfile.mkdtemp(prefix="rkt", dir="/tmp")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_tcp_serves_logs_combined_access_line_and_stops_cleanly(project, rocket_process):
    proc = rocket_process(["--bind", "127.0.0.1:0", "--access-log", "access.log", "hello:app"],
                       project)
    port = proc.port()
    status, body = get(port, "/path", headers={"User-Agent": "cli-test/1",
                                      "Referer": "http://ref.example/"})
    assert (status, body) == (200, "hello GET /path")
    assert proc.stop() == 0
    lines = (project / "access.log").read_text().splitlines()
    assert len(lines) == 1 and COMBINED_LINE.match(lines[0]), lines
    assert "Traceback" not in proc.stderr and error_lines(proc.stderr) == []


def test_access_log_file_is_written_within_a_second_while_serving(project, rocket_process):
    proc = rocket_process(["--bind", "127.0.0.1:0", "--access-log", "access.log", "hello:app"],
                       project)
    port = proc.port()
    for _ in range(3):
        assert get(port, "/path")[0] == 200
    deadline = time.monotonic() + 5  # the writer flushes once a second
    lines: list = []
    while time.monotonic() < deadline and len(lines) < 3:
        time.sleep(0.1)
        log = project / "access.log"
        lines = log.read_text().splitlines() if log.exists() else []
    assert len(lines) == 3 and all('"GET /path HTTP/1.1" 200 ' in line for line in lines), lines
    assert proc.stop() == 0


def test_python_m_rocket_factory_env_over_file_and_custom_format(project, rocket_process):
    (project / "r.toml").write_text('[rocket]\nbind = "127.0.0.1:1"\nmin_threads = 2\n'
                                    'access_log_format = "%(h)s %(s)s %(r)s"\n')
    env = clean_env(ROCKET_BIND="127.0.0.1:0", ROCKET_CONFIG="r.toml")
    proc = rocket_process(["--access-log", "-", "hello:create_app('factory-made')"], project,
                       env=env, use_module=True)
    port = proc.port()
    assert get(port, "/path") == (200, "factory-made GET /path")
    assert proc.wait_for(r"^127\.0\.0\.1 200 GET /path HTTP/1\.1$", stream="out")
    assert proc.stop() == 0


def test_static_mount_in_front_of_the_app(project, rocket_process):
    (project / "public").mkdir()
    (project / "public" / "a.txt").write_text("static file\n")
    proc = rocket_process(["-b", "127.0.0.1:0", "--static", "/files=public", "--no-access-log",
                        "hello:app"], project)
    port = proc.port()
    assert get(port, "/files/a.txt") == (200, "static file\n")
    assert get(port, "/files/missing.txt")[0] == 404
    assert get(port, "/elsewhere") == (200, "hello GET /elsewhere")
    assert proc.stop() == 0
    assert proc.out == []  # --no-access-log: nothing on standard output


def _ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
def test_ipv6_and_ipv4_binds_together(project, rocket_process):
    proc = rocket_process(["-b", "[::1]:0", "-b", "127.0.0.1:0", "hello:app"], project)
    match = proc.wait_for(r"Listening on sockets: \[::1\]:(\d+), 127\.0\.0\.1:(\d+)")
    v6_port, v4_port = int(match.group(1)), int(match.group(2))
    assert get(v6_port, "/six", host="::1")[1] == "hello GET /six"
    assert get(v4_port, "/path") == (200, "hello GET /path")
    assert proc.stop() == 0


def test_log_config_toml_replaces_the_cli_handlers(project, rocket_process):
    (project / "logging.toml").write_text(
        'version = 1\n'
        '[formatters.plain]\nformat = "ACCESS %(message)s"\n'
        '[handlers.file]\nclass = "logging.FileHandler"\nfilename = "requests.log"\n'
        'formatter = "plain"\n'
        '[loggers."Rocket.Requests"]\nhandlers = ["file"]\nlevel = "INFO"\npropagate = false\n'
        '[loggers.Rocket]\nhandlers = []\nlevel = "INFO"\n')
    port = free_port()  # the "Listening on" log line is configured away
    proc = rocket_process(["-b", f"127.0.0.1:{port}", "--log-config", "logging.toml",
                        "--access-log-format", "%(r)s %(s)s", "hello:app"], project)
    _wait_for_body(port, "hello GET /path", 10)
    assert proc.stop() == 0
    assert (project / "requests.log").read_text().splitlines()[-1] == "ACCESS GET /path HTTP/1.1 200"
    assert proc.stderr == "" and proc.out == []  # the CLI's own handlers were not installed


def test_unix_socket_umask_removal_and_stale_file(project, rocket_process, short_dir):
    path = os.path.join(short_dir, "r.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)  # a socket file nobody listens on, as a crashed server leaves it
    stale.close()
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    proc = rocket_process(["--bind", f"unix:{path}", "--umask", "077", "hello:app"], project)
    proc.wait_for(r"Listening on sockets: unix:" + re.escape(path))
    response = unix_get(path)
    assert response.startswith("HTTP/1.1 200 ") and response.endswith("hello GET /u")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    assert proc.stop() == 0
    assert not os.path.exists(path)


def test_unix_socket_of_a_live_server_is_not_taken_over(project, rocket_process, short_dir):
    path = os.path.join(short_dir, "live.sock")
    first = rocket_process(["--bind", f"unix:{path}", "hello:app"], project)
    first.wait_for(r"Listening on sockets: unix:")
    result = run_rocket(["--bind", f"unix:{path}", "hello:app"], str(project))
    assert result.returncode == 1
    assert error_lines(result.stderr) == [
        f"rocket: error: cannot listen on unix:{path}: address already in use"]
    assert unix_get(path).endswith("hello GET /u")  # the first server still owns the path
    assert first.stop() == 0


def test_unix_path_holding_a_regular_file_is_not_replaced(project, short_dir):
    path = os.path.join(short_dir, "not-a-socket")
    with open(path, "w") as f:
        f.write("precious")
    result = run_rocket(["--bind", f"unix:{path}", "hello:app"], str(project))
    assert result.returncode == 1
    assert error_lines(result.stderr) == [
        f"rocket: error: cannot listen on unix:{path}: address already in use"]
    assert "Traceback" not in result.stderr
    with open(path) as f:
        assert f.read() == "precious"


def test_tls_on_every_tcp_bind(project, rocket_process, tls_files):
    proc = rocket_process(["-b", "127.0.0.1:0", "--certfile", tls_files.cert_path,
                        "--keyfile", tls_files.key_path, "hello:app"], project)
    match = proc.wait_for(r"Listening on sockets: 127\.0\.0\.1:(\d+)\*")
    context = ssl.create_default_context(cafile=tls_files.ca_path)
    assert get(int(match.group(1)), "/path", context=context) == (200, "hello GET /path")
    assert proc.stop() == 0


def test_address_in_use_names_the_address_exit_1(project):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run_rocket(["--bind", f"127.0.0.1:{port}", "hello:app"], str(project))
    assert result.returncode == 1
    assert error_lines(result.stderr) == [
        f"rocket: error: cannot listen on 127.0.0.1:{port}: address already in use"]
    assert "Traceback" not in result.stderr


def test_unix_socket_in_missing_directory_names_the_address_exit_1(project, short_dir):
    path = os.path.join(short_dir, "missing", "r.sock")
    result = run_rocket(["--bind", f"unix:{path}", "hello:app"], str(project))
    assert result.returncode == 1
    assert error_lines(result.stderr) == [
        f"rocket: error: cannot listen on unix:{path}: No such file or directory"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may bind privileged ports")
def test_permission_denied_names_the_address_exit_1(project):
    result = run_rocket(["--bind", "127.0.0.1:1", "hello:app"], str(project))
    assert result.returncode == 1
    assert error_lines(result.stderr) == [
        "rocket: error: cannot listen on 127.0.0.1:1: permission denied"]


@pytest.mark.parametrize("spec, line", [
    ("nomodule_here:app", "cannot import module 'nomodule_here': no module named 'nomodule_here'"),
    ("hello:missing", "module 'hello' has no attribute 'missing'"),
    ("hello:MESSAGE", "'hello:MESSAGE' is not callable (it is str); expected a WSGI application"),
    ("hello:create_app()", "factory 'hello:create_app()' raised TypeError: create_app() missing "
                           "1 required positional argument: 'message'"),
])
def test_app_import_failures_exit_3(project, spec, line):
    result = run_rocket(["--bind", "127.0.0.1:0", spec], str(project))
    assert result.returncode == 3
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith(f"rocket: error: {line}")
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_missing_and_unusable_tls_files(project, tmp_path):
    result = run_rocket(["--certfile", "nope.pem", "--keyfile", "nope.key", "hello:app"],
                        str(project))
    assert (result.returncode, result.stderr) == (2, "rocket: error: --certfile: no such file: "
                                                     "nope.pem\n")
    (project / "bad.pem").write_text("not a certificate\n")
    result = run_rocket(["-b", "127.0.0.1:0", "--certfile", "bad.pem", "--keyfile", "bad.pem",
                         "hello:app"], str(project))
    assert result.returncode == 1
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith(
        "rocket: error: interface 127.0.0.1:0: cannot use certfile 'bad.pem' with keyfile "
        "'bad.pem'"), lines
    assert "Traceback" not in result.stderr


def test_usage_error_and_check_config_in_a_subprocess(project):
    result = run_rocket(["--workers", "x", "hello:app"], str(project))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("rocket: error: --workers: ") and result.stderr.count("\n") == 1
    result = run_rocket(["--check-config", "--max-threads", "9"], str(project),
                        env=clean_env(ROCKET_MAX_THREADS="3", ROCKET_MIN_THREADS="1"))
    assert result.returncode == 0
    assert "max_threads = 9  # from --max-threads\n" in result.stdout
    assert "min_threads = 1  # from ROCKET_MIN_THREADS\n" in result.stdout


def _wait_for_body(port, expected, timeout, proc=None):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = get(port, "/path")[1]
            if last == expected:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    log = proc.stderr if proc is not None else ""
    raise AssertionError(f"still {last!r} after {timeout} s; stderr:\n{log}")


def test_reload_serves_changed_code_within_3_s_and_survives_syntax_errors(project, rocket_process):
    port = free_port()
    proc = rocket_process(["--reload", "--bind", f"127.0.0.1:{port}", "hello:app"], project)
    _wait_for_body(port, "hello GET /path", 10, proc)
    source = project / "hello.py"

    def rewrite(text):
        source.write_text(text)
        later = time.time() + 1
        os.utime(source, (later, later))  # a new mtime even on coarse-grained file systems

    rewrite(HELLO_APP.replace('MESSAGE = "hello"', 'MESSAGE = "changed"'))
    started = time.monotonic()
    _wait_for_body(port, "changed GET /path", 3, proc)
    assert time.monotonic() - started < 3
    rewrite(HELLO_APP + "\ndef broken(:\n")
    proc.wait_for(r"not reloading: syntax error in .*hello\.py, line \d+: ", timeout=5)
    assert get(port, "/path") == (200, "changed GET /path")  # the running server was kept
    rewrite(HELLO_APP.replace('MESSAGE = "hello"', 'MESSAGE = "fixed"'))
    _wait_for_body(port, "fixed GET /path", 10, proc)
    rewrite(HELLO_APP + "\nraise RuntimeError('not configured')\n")  # valid code, fails to import
    proc.wait_for(r"^rocket: error: error while importing module 'hello': "
                  r"RuntimeError: not configured \(at hello.py:\d+: "
                  r"raise RuntimeError\('not configured'\)\)", timeout=5)
    rewrite(HELLO_APP.replace('MESSAGE = "hello"', 'MESSAGE = "again"'))
    _wait_for_body(port, "again GET /path", 10, proc)  # the reloader outlived the failed child
    assert proc.stop() == 0
    with pytest.raises(OSError):
        get(port, "/path")  # the child went away with its parent
