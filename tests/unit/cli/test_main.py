"""rocket.cli.main.main(argv) in process: parsing, --check-config, --version and every usage error."""

from __future__ import annotations

import os
import sys

import pytest

import rocket
from rocket.cli.main import EXIT_APP, EXIT_USAGE, build_parser, main
from rocket.config.docs import settings_markdown
from rocket.config.sources import all_settings, flag_name, is_bool

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("ROCKET_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # main() puts the cwd first


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    assert run(["--version"], capsys) == (0, f"rocket {rocket.__version__}\n", "")


def test_help_exits_zero(capsys):
    code, out, err = run(["--help"], capsys)
    assert code == 0 and "--max-threads" in out and "--reload" in out and err == ""


def test_every_setting_has_a_flag():
    parser = build_parser()
    options = {opt for action in parser._actions for opt in action.option_strings}
    for setting in all_settings():
        if setting.name == "app":
            continue
        assert flag_name(setting.name) in options
        if is_bool(setting):
            assert flag_name("no_" + setting.name) in options
    assert {"-b", "--bind", "-c", "--config", "--timeout", "--no-access-log"} <= options


def test_check_config_prints_resolved_toml_with_origins(capsys, tmp_path, monkeypatch):
    (tmp_path / "r.toml").write_text('min_threads = 2\nmax_threads = 4\nlog_level = "debug"\n')
    monkeypatch.setenv("ROCKET_MAX_THREADS", "6")
    code, out, err = run(["--check-config", "-c", "r.toml", "--max-threads", "8",
                          "-b", "127.0.0.1:0", "-b", "unix:/tmp/x.sock", "--no-handle-signals",
                          "m:app"], capsys)
    assert code == 0 and err == ""
    assert "max_threads = 8  # from --max-threads\n" in out
    assert "min_threads = 2  # from r.toml: min_threads\n" in out
    assert 'bind = ["127.0.0.1:0", "unix:/tmp/x.sock"]  # from --bind\n' in out
    assert "handle_signals = false  # from --handle-signals\n" in out
    assert "# certfile is not set\n" in out
    doc = tomllib.loads(out)
    assert doc["max_threads"] == 8 and doc["log_level"] == "debug" and doc["app"] == "m:app"
    # the printed document is itself a valid config file giving the same settings
    (tmp_path / "again.toml").write_text(out)
    monkeypatch.delenv("ROCKET_MAX_THREADS")
    code, again, _ = run(["--check-config", "-c", "again.toml"], capsys)
    strip = [line.split("  #")[0] for line in out.splitlines()[1:]]
    assert [line.split("  #")[0] for line in again.splitlines()[1:]] == strip


def test_env_config_file_and_precedence(capsys, tmp_path, monkeypatch):
    (tmp_path / "r.toml").write_text('[rocket]\nbacklog = 7\nkeep_alive = 3\n')
    monkeypatch.setenv("ROCKET_CONFIG", "r.toml")
    monkeypatch.setenv("ROCKET_KEEP_ALIVE", "4")
    code, out, _ = run(["--check-config"], capsys)
    assert code == 0
    assert "backlog = 7  # from r.toml: backlog" in out
    assert "keep_alive = 4.0  # from ROCKET_KEEP_ALIVE" in out
    code, out, _ = run(["--check-config", "--timeout", "5"], capsys)
    assert "keep_alive = 5.0  # from --timeout" in out


def test_app_from_the_environment_and_command_line_over_it(capsys, monkeypatch):
    monkeypatch.setenv("ROCKET_APP", "envmod:app")
    assert 'app = "envmod:app"  # from ROCKET_APP\n' in run(["--check-config"], capsys)[1]
    out = run(["--check-config", "climod:make()"], capsys)[1]
    assert 'app = "climod:make()"  # from MODULE:APP\n' in out


def test_settings_markdown(capsys):
    code, out, _ = run(["--settings-markdown"], capsys)
    assert code == 0 and out == settings_markdown() + "\n"


@pytest.mark.parametrize("argv, line", [
    (["--frobnicate", "m:app"],
     "unrecognized option --frobnicate (see rocket --help)"),
    (["--max-threads"], "argument --max-threads: expected one argument"),
    (["--max-threads", "lots", "m:app"],
     "--max-threads: invalid value 'lots' (expected an integer >= 0)"),
    (["--keep-alive", "-3", "m:app"],
     "--keep-alive: -3.0 is negative (expected a number of seconds >= 0)"),
    (["--keep-alive=-3", "m:app"],
     "--keep-alive: -3.0 is negative (expected a number of seconds >= 0)"),
    (["--bind", "8000", "m:app"],
     "--bind: '8000' has no port (expected HOST:PORT, [IPV6]:PORT, unix:PATH or fd://N)"),
    (["--bind", "127.0.0.1:99999", "m:app"],
     "--bind: port 99999 is outside 0-65535 (expected HOST:PORT, [IPV6]:PORT, unix:PATH or fd://N)"),
    (["--bind", "fd://x", "m:app"],
     "--bind: 'fd://x': fd:// needs a descriptor number, e.g. fd://3 "
     "(expected HOST:PORT, [IPV6]:PORT, unix:PATH or fd://N)"),
    (["--log-level", "loud", "m:app"],
     "--log-level: unknown log level 'loud' (expected one of critical, error, warning, info, debug)"),
    (["--umask", "9", "m:app"],
     "--umask: invalid value '9' (expected an octal mask such as 077 or 0o077)"),
    (["--access-log-format", "%(h)s %(nope)s", "m:app"],
     "--access-log-format: unknown atom 'nope' (expected json, or a %-format using atoms h l u "
     "t r s b f a D p or field names such as %(client_ip)s)"),
    (["--min-threads", "20", "--max-threads", "10", "m:app"],
     "min_threads (20) exceeds max_threads (10); lower min_threads or raise max_threads "
     "(0 = unbounded)"),
    (["--certfile", "cert.pem", "m:app"], "certfile and keyfile must be given together"),
    (["--certfile", "cert.pem", "--keyfile", "key.pem", "m:app"],
     "--certfile: no such file: cert.pem"),
    (["--timeout", "1", "--keep-alive", "2", "m:app"],
     "command line: give either --timeout or --keep-alive, not both"),
    (["-c", "missing.toml", "m:app"],
     "cannot read config file 'missing.toml': No such file or directory"),
    ([], "missing MODULE:APP (the application to serve), e.g. rocket myproject.wsgi:application"),
    (["nocolon"], "MODULE:APP: 'nocolon' is not MODULE:APP (expected MODULE:APP or MODULE:FACTORY(...))"),
    (["m:make(x)"], "MODULE:APP: 'make(x)': factory arguments must be literals "
                    "(expected MODULE:APP or MODULE:FACTORY(...))"),
])
def test_usage_errors_are_one_line_exit_2(capsys, argv, line):
    code, out, err = run(argv, capsys)
    assert (code, out, err) == (EXIT_USAGE, "", f"rocket: error: {line}\n")


def test_bad_values_from_env_and_file_name_their_source(capsys, tmp_path, monkeypatch):
    (tmp_path / "r.toml").write_text("max_headers = -1\n")
    assert run(["-c", "r.toml", "m:app"], capsys) == (
        EXIT_USAGE, "", "rocket: error: r.toml: max_headers: -1 is negative "
                        "(expected an integer >= 0)\n")
    (tmp_path / "r.toml").write_text("workerz = 1\n")
    assert run(["-c", "r.toml", "m:app"], capsys)[2] == \
        "rocket: error: r.toml: unknown setting 'workerz'\n"
    monkeypatch.setenv("ROCKET_RELOAD", "perhaps")
    assert run(["m:app"], capsys)[2] == \
        "rocket: error: ROCKET_RELOAD: 'perhaps' is not a boolean (expected true or false)\n"


def test_missing_tls_file_from_env_names_the_variable_and_path(capsys, tmp_path, monkeypatch):
    (tmp_path / "key.pem").write_text("x")
    monkeypatch.setenv("ROCKET_CERTFILE", str(tmp_path / "gone.pem"))
    code, _, err = run(["--keyfile", "key.pem", "m:app"], capsys)
    assert (code, err) == (EXIT_USAGE, f"rocket: error: ROCKET_CERTFILE: no such file: "
                                       f"{tmp_path / 'gone.pem'}\n")


def test_app_import_errors_exit_3(capsys, tmp_path):
    (tmp_path / "cli_unit_app_mod.py").write_text("value = 1\n")
    try:
        assert run(["cli_unit_app_mod:app"], capsys) == (
            EXIT_APP, "", "rocket: error: module 'cli_unit_app_mod' has no attribute 'app'\n")
        assert run(["cli_unit_app_mod:value"], capsys) == (
            EXIT_APP, "", "rocket: error: 'cli_unit_app_mod:value' is not callable (it is int); "
                          "expected a WSGI application\n")
        code, out, err = run(["cli_unit_missing_mod:app"], capsys)
        assert code == EXIT_APP and err.startswith(
            "rocket: error: cannot import module 'cli_unit_missing_mod': no module named")
        assert err.count("\n") == 1
    finally:
        sys.modules.pop("cli_unit_app_mod", None)
        if str(tmp_path) in sys.path:
            sys.path.remove(str(tmp_path))


def test_bad_log_config_and_access_log_file_exit_2(capsys, tmp_path):
    (tmp_path / "cli_unit_ok_app.py").write_text("def app(e, s):\n    return []\n")
    (tmp_path / "log.json").write_text("{not json")
    try:
        code, _, err = run(["--log-config", "log.json", "cli_unit_ok_app:app"], capsys)
        assert code == EXIT_USAGE
        assert err.startswith("rocket: error: --log-config: 'log.json' is not valid JSON: ")
        assert err.count("\n") == 1
        code, _, err = run(["--access-log", str(tmp_path / "no" / "dir.log"),
                            "cli_unit_ok_app:app"], capsys)
        assert (code, err) == (EXIT_USAGE, f"rocket: error: --access-log: cannot open "
                                           f"'{tmp_path / 'no' / 'dir.log'}': "
                                           "No such file or directory\n")
    finally:
        sys.modules.pop("cli_unit_ok_app", None)
        if str(tmp_path) in sys.path:
            sys.path.remove(str(tmp_path))


def test_debug_log_level_adds_the_traceback_of_an_import_error(capsys, tmp_path):
    (tmp_path / "cli_unit_boom_mod.py").write_text("raise RuntimeError('boom at import')\n")
    try:
        code, out, err = run(["--log-level", "debug", "cli_unit_boom_mod:app"], capsys)
    finally:
        sys.modules.pop("cli_unit_boom_mod", None)
    assert code == EXIT_APP and out == ""
    assert err.startswith("Traceback (most recent call last):")
    last = err.splitlines()[-1]
    assert last.startswith("rocket: error: error while importing module 'cli_unit_boom_mod': "
                           "RuntimeError: boom at import (at ")
    assert last.endswith("cli_unit_boom_mod.py:1: raise RuntimeError('boom at import'))")


def test_an_import_error_names_the_flag_that_shows_the_traceback(capsys, tmp_path):
    (tmp_path / "cli_unit_boom2_mod.py").write_text("raise RuntimeError('boom at import')\n")
    try:
        code, out, err = run(["cli_unit_boom2_mod:app"], capsys)
    finally:
        sys.modules.pop("cli_unit_boom2_mod", None)
    assert code == EXIT_APP and out == ""
    assert err.startswith("rocket: error: error while importing module 'cli_unit_boom2_mod': "
                          "RuntimeError: boom at import (at ")
    assert err.endswith("; --log-level debug shows the whole traceback\n")
    assert err.count("\n") == 1
