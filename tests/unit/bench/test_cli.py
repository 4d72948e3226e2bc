"""``python -m rocket.bench``: usage errors are one line and exit code 2; --list works."""

from __future__ import annotations

import pytest

from rocket.bench.__main__ import main
from rocket.bench.compare import SCENARIOS


@pytest.mark.parametrize("argv, message", [
    (["load", "ftp://127.0.0.1/"], "unsupported scheme"),
    (["load", "https://127.0.0.1/"], "plain HTTP only"),
    (["load", "http://127.0.0.1:1/", "-n", "0"], "-n must be"),
    (["load", "http://127.0.0.1:1/", "-c", "1", "--processes", "2", "-n", "5"],
     "one connection per process"),
    (["fetch", "http://127.0.0.1:1/", "-H", "no-colon"], "bad header"),
    (["saturate", "127.0.0.1"], "no port"),
    (["compare", "--servers", "nope"], "unknown server nope"),
    (["compare", "--scenarios", "hello-c1,bogus"], "unknown scenario bogus"),
])
def test_usage_errors(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_unknown_command_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bogus"])
    assert exc.value.code == 2


def test_compare_list(capsys):
    assert main(["compare", "--list"]) == 0
    out = capsys.readouterr().out
    assert "rocket" in out and "installed" in out
    for name in SCENARIOS:
        assert name in out


def test_fetch_to_a_closed_port_fails_cleanly(capsys):
    import socket
    with socket.socket() as s:  # a port that was just free: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["fetch", f"http://127.0.0.1:{port}/", "--timeout", "2"]) == 1
    assert "ConnectionRefusedError" in capsys.readouterr().err


def test_parser_command_dispatches_to_the_parser_benchmark(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["parser", "--help"])
    assert exc.value.code == 0
    assert "rocket.bench.parser" in capsys.readouterr().out
