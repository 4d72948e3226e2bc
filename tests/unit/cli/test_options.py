"""The options a newcomer types: typos, zero threads, size suffixes, per-mount static options
and the grouped ``--help``."""

from __future__ import annotations

import re

import pytest

from rocket.cli.main import build_parser, main
from rocket.config.converters import byte_count, format_bytes
from rocket.config.settings import GROUPS, Config, ConfigError
from rocket.config.sources import all_settings, default_text, flag_name

pytestmark = pytest.mark.usefixtures("clean_env")


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_mistyped_option_suggests_the_closest_and_never_takes_its_value_as_the_app(capsys):
    code, out, err = run(["--threds", "4", "app:app"], capsys)
    assert (code, out) == (2, "")
    assert err == "rocket: error: unrecognized option --threds; did you mean --threads?\n"
    code, _, err = run(["app:app", "--max-bdy=1M"], capsys)
    assert err == "rocket: error: unrecognized option --max-bdy; did you mean --max-body?\n"
    code, _, err = run(["--interfaces", "127.0.0.1:0", "app:app"], capsys)
    assert err == "rocket: error: unrecognized option --interfaces; did you mean --bind?\n"


def test_known_options_and_their_values_pass_the_typo_check(capsys):
    code, out, _ = run(["-b127.0.0.1:0", "--access-log", "-", "--access-log-format",
                        "%(h)s", "--check-config", "m:app"], capsys)
    assert code == 0 and 'access_log = "-"' in out


@pytest.mark.parametrize("argv, line", [
    (["--threads", "0", "m:app"], "--threads: MIN is 0; at least 1 thread must serve"),
    (["--threads", "0:0", "m:app"], "--threads: MIN is 0; at least 1 thread must serve"),
    (["--min-threads", "0", "m:app"], "--min-threads: 0 is less than 1 (expected an integer >= 1)"),
])
def test_zero_threads_are_refused_with_one_line(capsys, argv, line):
    code, _, err = run(argv, capsys)
    assert code == 2 and err.startswith(f"rocket: error: {line}") and err.count("\n") == 1


def test_min_threads_zero_is_refused_by_the_api_too():
    with pytest.raises(ConfigError, match="'min_threads': 0 is less than 1"):
        Config(min_threads=0)


@pytest.mark.parametrize("text, number", [
    ("65536", 65536), (65536, 65536), ("512KiB", 512 << 10), ("512K", 512 << 10),
    ("512k", 512 << 10), ("10MB", 10_000_000), ("10mb", 10_000_000), ("1G", 1 << 30),
    ("1GiB", 1 << 30), ("2GB", 2_000_000_000), ("1.5K", 1536), (" 3 MiB ", 3 << 20), ("0", 0),
])
def test_byte_counts_take_binary_and_decimal_suffixes(text, number):
    assert byte_count(text) == number


@pytest.mark.parametrize("text", ["10XB", "K", "-1", "1.0001K", "", True, "1 2"])
def test_bad_byte_counts_are_refused(text):
    with pytest.raises(ValueError):
        byte_count(text)


def test_format_bytes_shows_the_shortest_exact_form():
    assert [format_bytes(n) for n in (1 << 30, 65536, 8190, 0, 3 << 20)] == [
        "1GiB", "64KiB", "8190", "0", "3MiB"]


def test_every_byte_count_setting_takes_suffixes_from_cli_env_and_toml(capsys, tmp_path,
                                                                      monkeypatch):
    (tmp_path / "r.toml").write_text('max_header_bytes = "512KiB"\nmax_trailer_bytes = 2048\n')
    monkeypatch.setenv("ROCKET_MAX_MESSAGE_BYTES", "1G")
    code, out, err = run(["-c", "r.toml", "--max-body", "10MB", "--max-request-line", "4K",
                          "--check-config"], capsys)
    assert (code, err) == (0, "")
    assert "max_body = 10000000  # from --max-body" in out
    assert "max_request_line = 4096  # from --max-request-line" in out
    assert "max_header_bytes = 524288  # from r.toml: max_header_bytes" in out
    assert "max_trailer_bytes = 2048" in out
    assert "max_message_bytes = 1073741824  # from ROCKET_MAX_MESSAGE_BYTES" in out
    assert Config(max_body="1MiB").max_body == 1 << 20
    sized = [s.name for s in all_settings() if s.converter is byte_count]
    assert {"max_body", "max_header_bytes", "max_request_line", "max_message_bytes"} <= set(sized)
    code, _, err = run(["--max-body", "10XB", "m:app"], capsys)
    assert code == 2 and err.startswith("rocket: error: --max-body: invalid byte count '10XB' "
                                        "(expected bytes, e.g. 65536, 512KiB, 10MB or 1G")


def test_static_mount_options_on_the_command_line(capsys, tmp_path):
    (tmp_path / "site").mkdir()
    code, out, _ = run(["--static", f"/={tmp_path / 'site'};display_index;cache_bytes=1M",
                        "--check-config"], capsys)
    assert code == 0
    assert "{display_index = true, cache_bytes = 1048576}" in out
    code, _, err = run(["--static", f"/={tmp_path / 'site'};listing"], capsys)
    assert code == 2 and "unknown option 'listing'; known: display_index, cache_control" in err
    code, _, err = run(["--static", f"/={tmp_path / 'site'};display_index=maybe"], capsys)
    assert code == 2 and "option display_index: 'maybe' is not a boolean" in err


def help_sections(text):
    sections, title = {}, None
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            title = line[:-1]
            sections[title] = []
        elif title is not None:
            sections[title].extend(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", line))
    return sections


def test_help_is_grouped_by_the_rows_sections_with_defaults(capsys):
    code, out, err = run(["--help"], capsys)
    assert code == 0 and err == ""
    sections = help_sections(out)
    titles = [t for t in sections if t in GROUPS]
    assert titles == list(GROUPS)
    for setting in all_settings():
        if setting.name != "app":
            assert setting.group in GROUPS, f"{setting.name} names no --help section"
            assert flag_name(setting.name) in sections[setting.group], setting.name
    for flag in ("--no-access-log", "--no-reload", "--settings-markdown", "--no-handle-signals"):
        assert flag in out
    flat = " ".join(out.split())
    assert "bytes in a request body (413); 0 = unbounded [default: 1GiB]" in flat
    assert "[default: 127.0.0.1:8000]" in flat and "--max-body SIZE" in flat


def test_every_row_shows_a_default_in_the_users_terms():
    for setting in all_settings():
        text = default_text(setting)
        assert text and "None" not in text and "socket." not in text, setting.name
    parser_help = build_parser().format_help()
    assert "SOMAXCONN" in parser_help and "socket.SOMAXCONN" not in parser_help
