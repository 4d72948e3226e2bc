"""``rocket --check-config``: the printed TOML is a config file that gives back the same
settings, for every row of the table (print -> read -> print is stable)."""

from __future__ import annotations

import sys

import pytest

from rocket.cli.main import main, parse_args
from rocket.config.converters import byte_count, optional_hook, to_bool
from rocket.config.settings import byte_rate, non_negative_float, non_negative_int, positive_int
from rocket.config.sources import all_settings, flag_name, resolve

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FOLDED = {"threads"}
"""Rows printed as others: ``threads`` is min_threads and max_threads."""

BY_CONVERTER = {non_negative_int: "7", positive_int: "3", non_negative_float: "2.5", byte_rate: "300",
                byte_count: "3MiB", optional_hook: "os.path:join"}
"""A value other than the default for a row not named in ``samples`` (rows added later)."""


def samples(tmp_path):
    """A value other than the default for every setting, as typed on the command line."""
    files = {}
    for name in ("cert.pem", "key.pem", "ca.pem", "log.json"):
        (tmp_path / name).write_text("x")
        files[name] = str(tmp_path / name)
    (tmp_path / "site").mkdir()
    site = str(tmp_path / "site")
    return {
        "app": "m:app",
        "bind": ["127.0.0.1:9000", "[::1]:9001", f"unix:{tmp_path / 'r.sock'}"],
        "backlog": "77", "min_threads": "3", "max_threads": "9", "queue_size": "5",
        "keep_alive": "7.5", "header_timeout": "4", "body_timeout": "6", "linger": "0.2",
        "tls_handshake_timeout": "2", "certfile": files["cert.pem"], "keyfile": files["key.pem"],
        "ca_certs": files["ca.pem"], "ciphers": "ECDHE+AESGCM", "max_request_line": "4KiB",
        "max_field_bytes": "5KB", "max_header_bytes": "1M", "max_headers": "50",
        "max_chunk_line": "512", "max_trailer_bytes": "2k", "max_body": "10MB",
        "access_log": str(tmp_path / "access.log"), "access_log_format": "%(h)s %(r)s %(s)s",
        "handle_signals": False, "workers": "3", "reuse_port": True, "max_requests": "100",
        "max_requests_jitter": "10", "graceful_timeout": "12", "worker_timeout": "0",
        "server_name": "example.test", "concurrency": "process", "max_message_bytes": "2MiB",
        "static": [f"/={site};display_index;cache_control=public, max-age=60;precompressed=off",
                   f"/media={site}"],
        "profile": str(tmp_path / "prof.out"), "connection_made": "os.path:join",
        "pre_request": "os.path:join", "post_request": "os.path:join",
        "connection_lost": "os.path:join", "log_level": "debug", "log_config": files["log.json"],
        "umask": "027", "reload": True,
        "forwarded_allow_ips": "10.0.0.0/8,unix", "forwarded_headers": "forwarded",
        "strip_untrusted_forwarded": False, "proxy_protocol": "auto", "request_id": True,
        "health_path": "/healthz", "health_log": True, "drain_grace": "3",
        "metrics_bind": "127.0.0.1:9100", "http2": "false",
    }


def argv_for(values):
    argv = []
    for name, value in values.items():
        if name == "app":
            argv.append(value)
        elif value is True or value is False:
            argv.append(flag_name(name if value else "no_" + name))
        else:
            for one in value if isinstance(value, list) else [value]:
                argv += [flag_name(name), one]
    return argv


def check_config(argv, capsys):
    assert main(argv + ["--check-config"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def without_origins(text):
    return [line.split("  # from")[0] for line in text.splitlines()[1:]]


pytestmark = pytest.mark.usefixtures("clean_env")


def test_every_setting_survives_print_read_print(tmp_path, capsys):
    values = samples(tmp_path)
    for setting in all_settings():
        if setting.name not in values and setting.name not in FOLDED:
            values[setting.name] = (not setting.default if setting.converter is to_bool
                                    else BY_CONVERTER[setting.converter])
    argv = argv_for(values)
    first = check_config(argv, capsys)
    (tmp_path / "printed.toml").write_text(first)
    second = check_config(["-c", "printed.toml"], capsys)
    assert without_origins(second) == without_origins(first)
    printed = tomllib.loads(first)
    given = resolve(parse_args(argv)[1], {}).values
    read = resolve({}, {}, str(tmp_path / "printed.toml")).values
    for setting in all_settings():
        if setting.name in FOLDED:
            continue
        assert setting.name in printed, f"{setting.name} is not printed"
        assert read[setting.name] == given[setting.name], setting.name  # nothing lost
        assert given[setting.name] != setting.default, setting.name  # the sample is a change


def test_static_mount_options_are_printed_as_an_inline_table(tmp_path, capsys):
    (tmp_path / "site").mkdir()
    out = check_config(["--static", f"/={tmp_path / 'site'};display_index"], capsys)
    line = next(line for line in out.splitlines() if line.startswith("static = "))
    assert line.split("  #")[0] == f'static = [["/", "{tmp_path / "site"}", {{display_index = true}}]]'
    assert tomllib.loads(out)["static"] == [["/", str(tmp_path / "site"), {"display_index": True}]]
