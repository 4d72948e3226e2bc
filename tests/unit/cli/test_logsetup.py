"""rocket.cli.logsetup: the command's log handlers, its access-log writer and --log-config."""

from __future__ import annotations

import json
import logging

import pytest

from rocket import accesslog
from rocket.cli.logsetup import LOG_FORMAT, LogSetupError, load_log_config, setup_logging
from rocket.config.sources import resolve
from rocket.logs import ROOT_NAME

NAMES = (ROOT_NAME, ROOT_NAME + ".Requests", "test.logsetup")


@pytest.fixture(autouse=True)
def restore_logging():
    loggers = [logging.getLogger(name) for name in NAMES]
    saved = [(lg, lg.level, list(lg.handlers), lg.propagate, lg.disabled) for lg in loggers]
    yield
    accesslog.uninstall()
    for lg, level, handlers, propagate, disabled in saved:
        for handler in lg.handlers:
            if handler not in handlers:
                handler.close()
        lg.setLevel(level)
        lg.handlers[:] = handlers
        lg.propagate, lg.disabled = propagate, disabled


def resolved(**given):
    return resolve({name: (value, "--" + name.replace("_", "-")) for name, value in given.items()},
                   {})


def test_defaults_log_to_stderr_and_the_access_log_to_stdout(capsys):
    setup_logging(resolved())
    root = logging.getLogger(ROOT_NAME)
    assert root.level == logging.INFO
    assert root.handlers[-1].formatter._fmt == LOG_FORMAT  # type: ignore[union-attr]
    logging.getLogger(ROOT_NAME + ".Errors").info("serving %d", 1)
    logging.getLogger(ROOT_NAME + ".Errors").debug("hidden")
    requests = logging.getLogger(ROOT_NAME + ".Requests")
    assert requests.disabled and not requests.propagate  # the writer bypasses logging
    assert accesslog.active is not None
    accesslog.active.write('127.0.0.1 - - "GET / HTTP/1.1" 200 5')
    accesslog.flush()
    out, err = capsys.readouterr()
    assert out == '127.0.0.1 - - "GET / HTTP/1.1" 200 5\n'
    assert err.endswith(" INFO Rocket.Errors: serving 1\n") and "hidden" not in err


def test_access_log_to_a_file_and_off(tmp_path):
    path = tmp_path / "access.log"
    setup_logging(resolved(access_log=str(path), log_level="debug"))
    assert logging.getLogger(ROOT_NAME).level == logging.DEBUG
    accesslog.active.write("one line")  # type: ignore[union-attr]
    accesslog.uninstall()
    assert path.read_text() == "one line\n"
    setup_logging(resolved(access_log="off"))
    assert accesslog.active is None


def test_an_access_log_that_cannot_be_opened_names_the_option(tmp_path):
    target = tmp_path / "missing" / "access.log"
    with pytest.raises(LogSetupError, match=r"^--access-log: cannot open .*access\.log"):
        setup_logging(resolved(access_log=str(target)))


def test_log_config_replaces_the_handlers(tmp_path, capsys):
    path = tmp_path / "logging.json"
    path.write_text(json.dumps({"loggers": {"test.logsetup": {"level": "WARNING"}}}))
    setup_logging(resolved(log_config=str(path)))
    assert logging.getLogger("test.logsetup").level == logging.WARNING
    assert accesslog.active is None  # the dictConfig owns the access log too
    assert not logging.getLogger(ROOT_NAME + ".Requests").disabled
    toml = tmp_path / "logging.toml"
    toml.write_text('[loggers."test.logsetup"]\nlevel = "ERROR"\n')
    setup_logging(resolved(log_config=str(toml)))
    assert logging.getLogger("test.logsetup").level == logging.ERROR


def test_a_bad_log_config_is_one_line_naming_the_option(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"handlers": {"h": {"class": "no.such.Handler"}}}))
    with pytest.raises(LogSetupError, match=r"^--log-config: '.*bad\.json': ") as raised:
        setup_logging(resolved(log_config=str(bad)))
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("name, text, message", [
    ("broken.json", "{nope", "is not valid JSON"),
    ("list.json", "[1, 2]", "must hold a JSON object"),
    ("broken.toml", "= nope", "invalid TOML"),
])
def test_load_log_config_errors(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(LogSetupError, match=message) as raised:
        load_log_config(str(path), "ROCKET_LOG_CONFIG")
    assert str(raised.value).startswith("ROCKET_LOG_CONFIG: ")
    with pytest.raises(LogSetupError, match="cannot read"):
        load_log_config(str(tmp_path / "absent.json"), "--log-config")
