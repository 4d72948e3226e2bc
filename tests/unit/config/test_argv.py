"""rocket.config.argv: one flag builder for the ``rocket`` command and SocketServer scripts."""

from __future__ import annotations

import re

import pytest

from rocket.cli.main import build_parser, parse_args
from rocket.config.argv import (
    UsageError,
    negative_flag,
    parse_settings,
    settings_parser,
)
from rocket.config.docs import rows as doc_rows
from rocket.config.settings import ALIASES, SETTINGS, Config
from rocket.config.sources import SourceError, all_settings, flag_name, is_bool, resolve


def options_by_dest(parser):
    found = {}
    for action in parser._actions:
        found.setdefault(action.dest, set()).update(action.option_strings)
    return found


def test_every_settings_row_is_a_flag_of_both_parsers():
    script, command = options_by_dest(settings_parser()), options_by_dest(build_parser())
    for setting in SETTINGS:
        assert flag_name(setting.name) in script[setting.name], setting.name
        if is_bool(setting):
            assert flag_name("no_" + setting.name) in script[setting.name]
    for setting in all_settings():
        if setting.name != "app":
            assert flag_name(setting.name) in command[setting.name], setting.name


def test_the_command_and_scripts_accept_the_same_flags_for_the_table():
    script, command = options_by_dest(settings_parser()), options_by_dest(build_parser())
    for name in [s.name for s in SETTINGS] + list(ALIASES):
        assert script.get(name) == command.get(name), name
    assert script["bind"] == {"-b", "--bind"} and script["keep_alive"] == {"--keep-alive"}
    assert script["timeout"] == {"--timeout"} and "interfaces" not in script
    assert script["access_log"] == {"--access-log", "--no-access-log"}


def test_one_command_line_gives_the_same_settings_to_both(tmp_path):
    (tmp_path / "a").mkdir()
    argv = ["-b", "127.0.0.1:0", "--bind", "unix:/tmp/s.sock", "--timeout", "3",
            "--no-handle-signals", "--max-body", "10", "--static", f"/a={tmp_path / 'a'}",
            "--static", f"/b={tmp_path}", "--pre-request", "os.path:join"]
    script = parse_settings(settings_parser(), argv)
    _, raw = parse_args(argv)
    command = resolve(raw, {}).config_kwargs()
    assert set(script) == {"bind", "keep_alive", "handle_signals", "max_body", "static",
                           "pre_request"}
    assert {name: command[name] for name in script} == script
    assert script["keep_alive"] == 3.0 and script["handle_signals"] is False
    assert [m[0] for m in script["static"]] == ["/a", "/b"]  # --static repeats in both
    Config(**script)


def test_only_the_settings_given_and_the_off_forms():
    parser = settings_parser()
    assert parse_settings(parser, []) == {}
    assert parse_settings(parser, ["--no-access-log"]) == {"access_log": False}
    assert parse_settings(parser, ["--access-log"]) == {"access_log": True}
    _, raw = parse_args(["--no-access-log", "m:app"])
    assert raw["access_log"] == ("off", "--access-log")
    assert raw["app"] == ("m:app", "MODULE:APP")


@pytest.mark.parametrize("argv, line", [
    (["--nope"], "unrecognized option --nope (see echo.py --help)"),
    (["--backlog"], "argument --backlog: expected one argument"),
    (["--backlog", "many"], "--backlog: invalid value 'many' (expected an integer >= 0)"),
    (["--timeout", "1", "--keep-alive", "2"],
     "command line: give either --timeout or --keep-alive, not both"),
    (["--interfaces", "127.0.0.1:0"], "unrecognized option --interfaces; did you mean --bind?"),
    (["--threds", "4"], "unrecognized option --threds; did you mean --min-threads?"),
    (["--max-thread=4"], "unrecognized option --max-thread; did you mean --max-threads?"),
])
def test_mistakes_are_one_line_naming_the_flag(argv, line):
    with pytest.raises(SourceError) as raised:
        parse_settings(settings_parser(prog="echo.py"), argv)
    assert str(raised.value) == line
    if "argument" in line or "option" in line:
        assert isinstance(raised.value, UsageError)


def test_the_readme_table_lists_the_flags_the_parser_makes():
    command = options_by_dest(build_parser())
    everything = set().union(*command.values())
    for row in doc_rows():
        if row["name"] == "app":
            continue
        flags = set(re.findall(r"`([^`]+)`", row["flag"]))
        assert flags <= everything, row["name"]
        assert flag_name(row["name"]) in flags
    by_name = {s.name: s for s in all_settings()}
    assert negative_flag(by_name["reload"]) == "--no-reload"
    assert negative_flag(by_name["access_log"]) == "--no-access-log"
    assert negative_flag(by_name["max_threads"]) is None


def test_help_escapes_percent_signs(capsys):
    with pytest.raises(SystemExit) as exited:
        settings_parser(prog="echo.py").parse_args(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "--max-message-bytes" in out
    # Python 3.13's argparse names the metavar once: "-b, --bind ADDRESS".
    assert re.search(r"-b( ADDRESS)?, --bind ADDRESS", out)
    assert "%-style format" in out and out.startswith("usage: echo.py ")
