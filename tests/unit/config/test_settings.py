"""The settings table: conversion, validation, contradictions, Rocket's interface forms."""

from __future__ import annotations

import socket

import pytest

from rocket.config.settings import (
    MAX_THREADS_BOUND,
    SAME_DEFAULT,
    SETTINGS,
    Config,
    ConfigError,
    Interface,
    to_interfaces,
)


def test_defaults_match_rocket():
    c = Config(compatible=True)
    assert c.min_threads == 10
    assert c.max_threads == 0
    assert c.keep_alive == 600 and c.timeout == 600
    assert c.header_timeout == 10
    assert c.backlog == socket.SOMAXCONN
    assert c.bind == (Interface("127.0.0.1", 8000),)
    assert 0 < c.linger < 1


def test_production_defaults_differ_only_where_a_row_has_a_compat_default():
    production, compat = Config(), Config(compatible=True)
    assert production.max_threads == MAX_THREADS_BOUND > 0 and compat.max_threads == 0
    assert not production.compatible and compat.compatible
    for setting in SETTINGS:
        same = setting.compat_default is SAME_DEFAULT
        assert same == (setting.default_for(True) is setting.default_for(False)), setting.name
        if same and setting.name != "bind":
            assert getattr(production, setting.name) == getattr(compat, setting.name)
    assert Config(compatible=True, max_threads=70).max_threads == 70  # explicit wins


def test_min_threads_alone_keeps_the_bound_and_raises_it_when_above():
    assert Config(min_threads=4).max_threads == MAX_THREADS_BOUND
    assert Config(min_threads=MAX_THREADS_BOUND + 100).max_threads == MAX_THREADS_BOUND + 100
    with pytest.raises(ConfigError, match="min_threads.*exceeds max_threads"):
        Config(min_threads=20, max_threads=5)  # both explicit: a contradiction


def test_every_row_has_help_and_a_converting_default():
    for setting in SETTINGS:
        assert setting.help, setting.name
        if setting.default is not None:
            assert setting.converter(setting.default) == setting.default, setting.name


def test_values_are_converted():
    c = Config(min_threads="4", max_threads="8", access_log="off", linger="0.1")
    assert (c.min_threads, c.max_threads, c.access_log, c.linger) == (4, 8, False, 0.1)


def test_unknown_key_names_it():
    with pytest.raises(ConfigError, match="unknown setting 'max_thread'"):
        Config(max_thread=3)


@pytest.mark.parametrize("name,value,expected", [
    ("min_threads", -1, "'min_threads'.*negative"),
    ("max_threads", "many", "'max_threads'"),
    ("access_log", "maybe", "'access_log'.*boolean"),
    ("keep_alive", -5, "'keep_alive'"),
    ("bind", ("127.0.0.1", 70000), "'bind'.*65535"),
    ("bind", ("127.0.0.1", 80, "key.pem"), "'bind'"),
    ("bind", "localhost", "'bind'.*no port"),
])
def test_bad_values_name_the_setting(name, value, expected):
    with pytest.raises(ConfigError, match=expected):
        Config(**{name: value})


def test_contradictions_are_refused():
    with pytest.raises(ConfigError, match="min_threads.*exceeds max_threads"):
        Config(min_threads=20, max_threads=5)
    Config(min_threads=20, max_threads=0)  # 0 = unbounded: no contradiction
    with pytest.raises(ConfigError, match="together"):
        Config(certfile="c.pem")
    with pytest.raises(ConfigError, match="ca_certs"):
        Config(ca_certs="ca.pem")
    with pytest.raises(ConfigError, match="linger"):
        Config(linger=5, header_timeout=1)
    with pytest.raises(ConfigError, match="either 'timeout' or 'keep_alive'"):
        Config(timeout=1, keep_alive=2)


def test_rocket_interface_forms():
    assert to_interfaces(("0.0.0.0", 80)) == (Interface("0.0.0.0", 80),)
    assert to_interfaces([("::1", "81"), ("127.0.0.1", 82, "k.pem", "c.pem")]) == (
        Interface("::1", 81), Interface("127.0.0.1", 82, "k.pem", "c.pem"))
    five = to_interfaces(("127.0.0.1", 443, "k", "c", "ca"))[0]
    assert five.ca_certs == "ca" and five.secure
    assert to_interfaces("[::1]:8080") == (Interface("::1", 8080),)
    assert to_interfaces(["a:1", "unix:/tmp/r.sock"])[1].unix_path == "/tmp/r.sock"
    assert to_interfaces(("localhost", 0))[0].describe() == "localhost:0"
    assert Interface("::1", 443, "k", "c").describe() == "[::1]:443*"


def test_global_tls_files_apply_to_plain_interfaces():
    c = Config(bind=["127.0.0.1:0", ("127.0.0.1", 1, "k2", "c2")], certfile="c", keyfile="k")
    assert c.bind[0].certfile == "c" and c.bind[1].certfile == "c2"


def test_limits_are_built_from_the_table():
    limits = Config(max_body=5, max_headers=7).limits()
    assert limits.max_body == 5 and limits.max_headers == 7


def test_aliases_and_explicit():
    c = Config(timeout=0, interfaces=("127.0.0.1", 9))
    assert c.keep_alive == 0 and c.bind[0].port == 9
    assert c.explicit == {"keep_alive", "bind"}
    assert "keep_alive=0" in repr(c)


@pytest.mark.parametrize("given, resolved", [("auto", "true"), ("on", "true"), (True, "true"),
                                             ("no", "false"), (False, "false")])
def test_http2_is_auto_true_or_false_and_auto_resolves_to_the_h2_package(given, resolved):
    pytest.importorskip("h2")
    assert Config(http2=given).http2 == resolved


def test_http2_refuses_other_words_naming_the_setting():
    with pytest.raises(ConfigError, match="'http2'.*auto, true, false"):
        Config(http2="maybe")
