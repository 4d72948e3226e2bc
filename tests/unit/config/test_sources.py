"""rocket.config.sources: names, converters, TOML/env/CLI sources and their precedence."""

from __future__ import annotations

import pytest

from rocket.config.settings import MAX_THREADS_BOUND, Interface
from rocket.config.sources import (
    SourceError,
    access_log_format,
    access_log_target,
    all_settings,
    build_config,
    env_name,
    flag_name,
    from_environ,
    from_toml,
    resolve,
    umask,
)
from rocket.logs import COMBINED_FORMAT


def write(tmp_path, text, name="rocket.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_names_follow_the_setting_name():
    assert flag_name("max_threads") == "--max-threads"
    assert env_name("max_threads") == "ROCKET_MAX_THREADS"


def test_cli_rows_replace_config_rows_of_the_same_name_once():
    names = [s.name for s in all_settings()]
    assert len(names) == len(set(names))
    assert {"app", "reload", "log_level", "umask", "access_log", "max_threads"} <= set(names)
    rows = {s.name: s for s in all_settings()}
    assert rows["access_log"].default == "-"
    assert rows["access_log_format"].default == COMBINED_FORMAT


def test_precedence_cli_over_env_over_file_over_default(tmp_path):
    path = write(tmp_path, "min_threads = 1\nmax_threads = 7\nbacklog = 11\nlinger = 0.01\n")
    env = {"ROCKET_MAX_THREADS": "8", "ROCKET_BACKLOG": "12"}
    cli = {"backlog": ("13", "--backlog")}
    r = resolve(cli, env, path)
    assert r.values["min_threads"] == 1 and r.origin["min_threads"] == "rocket.toml: min_threads"
    assert r.values["max_threads"] == 8 and r.origin["max_threads"] == "ROCKET_MAX_THREADS"
    assert r.values["backlog"] == 13 and r.origin["backlog"] == "--backlog"
    assert r.values["queue_size"] == 1024 and "queue_size" not in r.origin
    config = build_config(r)
    assert (config.min_threads, config.max_threads, config.backlog) == (1, 8, 13)


def test_rocket_table_is_accepted(tmp_path):
    path = write(tmp_path, '[rocket]\nbind = ["127.0.0.1:9000", "unix:/tmp/r.sock"]\n')
    r = resolve({}, {}, path)
    assert r.values["bind"] == (Interface("127.0.0.1", 9000), Interface("", 0, unix_path="/tmp/r.sock"))


def test_keys_outside_the_rocket_table_are_refused(tmp_path):
    path = write(tmp_path, 'backlog = 5\n[rocket]\nmin_threads = 2\n')
    with pytest.raises(SourceError) as err:
        from_toml(path)
    assert str(err.value) == ("rocket.toml: key 'backlog' is outside the [rocket] table; "
                              "put every setting inside [rocket] or none")


def test_unknown_toml_key_names_the_key(tmp_path):
    with pytest.raises(SourceError, match=r"^rocket.toml: unknown setting 'max_thread'$"):
        from_toml(write(tmp_path, "max_thread = 3\n"))
    with pytest.raises(SourceError, match=r"unknown setting 'max-threads' \(use underscores\)"):
        from_toml(write(tmp_path, "max-threads = 3\n"))


def test_bad_toml_and_missing_file_are_one_line(tmp_path):
    with pytest.raises(SourceError, match=r"^.*rocket.toml: invalid TOML: "):
        from_toml(write(tmp_path, "min_threads = \n"))
    missing = str(tmp_path / "nope.toml")
    with pytest.raises(SourceError) as err:
        from_toml(missing)
    assert str(err.value) == f"cannot read config file {missing!r}: No such file or directory"


def test_bad_values_name_their_source(tmp_path):
    with pytest.raises(SourceError) as err:
        resolve({"max_threads": ("many", "--max-threads")}, {})
    assert str(err.value) == "--max-threads: invalid value 'many' (expected an integer >= 0)"
    with pytest.raises(SourceError) as err:
        resolve({}, {"ROCKET_KEEP_ALIVE": "-1"})
    assert str(err.value) == "ROCKET_KEEP_ALIVE: -1.0 is negative (expected a number of seconds >= 0)"
    with pytest.raises(SourceError) as err:
        resolve({}, {}, write(tmp_path, 'reload = "maybe"\n'))
    assert str(err.value) == "rocket.toml: reload: 'maybe' is not a boolean (expected true or false)"
    with pytest.raises(SourceError) as err:
        resolve({"bind": (["localhost"], "--bind")}, {})
    assert str(err.value) == ("--bind: 'localhost' has no port "
                              "(expected HOST:PORT, [IPV6]:PORT, unix:PATH or fd://N)")


def test_aliases_fold_and_conflict_within_one_source():
    r = resolve({}, {"ROCKET_TIMEOUT": "30"})
    assert r.values["keep_alive"] == 30.0 and r.origin["keep_alive"] == "ROCKET_TIMEOUT"
    r = resolve({"keep_alive": ("5", "--keep-alive")}, {"ROCKET_TIMEOUT": "30"})
    assert r.values["keep_alive"] == 5.0
    with pytest.raises(SourceError) as err:
        resolve({"timeout": ("1", "--timeout"), "keep_alive": ("2", "--keep-alive")}, {})
    assert str(err.value) == "command line: give either --timeout or --keep-alive, not both"


def test_env_bind_splits_on_commas_and_spaces():
    raw = from_environ({"ROCKET_BIND": "127.0.0.1:1, [::1]:2 unix:/tmp/x", "ROCKET_PORT": "9"})
    assert raw == {"bind": (["127.0.0.1:1", "[::1]:2", "unix:/tmp/x"], "ROCKET_BIND")}
    r = resolve({}, {"ROCKET_BIND": "[::1]:2"})
    assert r.values["bind"] == (Interface("::1", 2),)


def test_contradictions_are_errors():
    r = resolve({"min_threads": ("9", "--min-threads"), "max_threads": ("5", "--max-threads")}, {})
    with pytest.raises(SourceError, match=r"^min_threads \(9\) exceeds max_threads \(5\)"):
        build_config(r)
    r = resolve({"certfile": ("c.pem", "--certfile")}, {})
    with pytest.raises(SourceError, match="certfile and keyfile must be given together"):
        build_config(r)


def test_config_kwargs_pass_cli_defaults_and_drop_cli_only_rows():
    r = resolve({"reload": (True, "--reload"), "access_log": ("off", "--access-log")}, {})
    kwargs = r.config_kwargs()
    assert kwargs == {"access_log": False, "access_log_format": COMBINED_FORMAT}
    config = build_config(resolve({}, {}))
    assert config.access_log is True and config.access_log_format == COMBINED_FORMAT


def test_access_log_format_atoms_become_field_names():
    fmt = access_log_format('%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"')
    assert fmt == COMBINED_FORMAT
    assert access_log_format("%(client_ip)s %(status)s") == "%(client_ip)s %(status)s"
    with pytest.raises(ValueError, match="unknown atom 'x'"):
        access_log_format("%(x)s")
    with pytest.raises(ValueError, match="bad format"):
        access_log_format("%(h)s %")


def test_access_log_target_and_umask():
    assert access_log_target("-") == "-"
    assert access_log_target("off") is None and access_log_target(False) is None
    assert access_log_target(True) == "-"
    assert access_log_target("/var/log/a.log") == "/var/log/a.log"
    assert umask("077") == 0o77 and umask(0o22) == 0o22 and umask(None) is None
    for bad in ("999", "8", True, 0o1000):
        with pytest.raises(ValueError):
            umask(bad)


def test_threads_shorthand_expands_per_source_and_conflicts_within_one():
    r = resolve({"threads": ("4:8", "--threads")}, {"ROCKET_MIN_THREADS": "2"})
    assert (r.values["min_threads"], r.values["max_threads"]) == (4, 8)
    assert r.origin["min_threads"] == r.origin["max_threads"] == "--threads"
    r = resolve({"max_threads": ("6", "--max-threads")}, {"ROCKET_THREADS": "3"})
    assert (r.values["min_threads"], r.values["max_threads"]) == (3, 6)
    r = resolve({"threads": ("4", "--threads")}, {})  # MIN alone keeps the default bound
    assert (r.values["min_threads"], r.values["max_threads"]) == (4, MAX_THREADS_BOUND)
    assert "max_threads" not in r.origin and build_config(r).max_threads == MAX_THREADS_BOUND
    assert "threads" not in r.config_kwargs()
    with pytest.raises(SourceError) as err:
        resolve({"threads": ("4", "--threads"), "max_threads": ("9", "--max-threads")}, {})
    assert str(err.value) == "command line: give either --threads or --max-threads, not both"
    with pytest.raises(SourceError) as err:
        resolve({"threads": ("9:3", "--threads")}, {})
    assert str(err.value) == "--threads: MIN 9 exceeds MAX 3 (expected MIN[:MAX], e.g. 4 or 4:32)"


def test_static_mounts_from_every_source(tmp_path):
    (tmp_path / "pub").mkdir()
    pub = str(tmp_path / "pub")
    r = resolve({"static": ([f"/a={pub}", f"/={pub}"], "--static")}, {})
    assert r.values["static"] == (("/a", pub), ("", pub))
    assert r.config_kwargs()["static"] == (("/a", pub), ("", pub))  # a Config key: Rocket mounts
    assert "static" not in resolve({}, {}).config_kwargs()
    r = resolve({}, {"ROCKET_STATIC": f"/b={pub},/c={pub}"})
    assert [m[0] for m in r.values["static"]] == ["/b", "/c"]
    with pytest.raises(SourceError) as err:
        resolve({"static": (["/x"], "--static")}, {})
    assert str(err.value) == ("--static: static mount '/x' must look like URL=DIR, e.g. "
                              "/assets=./public (expected URL=DIR[;OPTION[=VALUE]...], e.g. /assets=./public or "
                              "/=./site;display_index)")
