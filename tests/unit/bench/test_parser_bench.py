"""``python -m rocket.bench.parser``: runs briefly and prints one row per message."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rocket.bench import parser as bench


def test_every_parser_returns_the_same_result():
    for message in bench.MESSAGES.values():
        results = []
        for make in bench.RUNNERS.values():
            once = make(message)
            if once is not None:
                results.append(bench.normalise(once()))
                results.append(bench.normalise(once()))  # reused parsers stay correct
        assert results and all(r == results[0] for r in results)
        method, target, headers, body = results[0]
        assert method in (b"GET", b"POST") and target.startswith(b"/")
        assert all(name == name.lower() for name, _ in headers)


def test_post_message_carries_a_4_kib_body():
    once = bench.rocket_runner(bench.MESSAGES["post-4k"])
    assert len(once()[3]) == 4096
    assert len(bench.rocket_runner(bench.MESSAGES["browser-get"])()[2]) == 12


def test_json_report_shape(capsys):
    assert bench.main(["--seconds", "0.09", "--rounds", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["requests_per_second"]) == set(bench.MESSAGES)
    for row in report["requests_per_second"].values():
        assert set(row) == {"rocket", "rocket-repeat", "h11", "httptools"}
        assert row["rocket"] > 0
        for peer in ("h11", "httptools"):
            assert row[peer] is None or row[peer] > 0


def test_table_from_the_command_line():
    out = subprocess.run(
        [sys.executable, "-m", "rocket.bench.parser", "--seconds", "0.09", "--rounds", "1"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("request parser, requests/s")
    assert lines[1].split() == ["message", "rocket", "rocket-repeat", "h11", "httptools", "rocket/h11",
                                "rocket/httptools"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:2 + len(bench.MESSAGES)]}
    assert set(rows) == set(bench.MESSAGES)
    for cells in rows.values():
        assert len(cells) == 6
        assert float(cells[0].replace(",", "")) > 0


@pytest.mark.parametrize("argv", [["--seconds", "0"], ["--rounds", "0"], ["--seconds", "x"]])
def test_bad_arguments_exit_2(argv):
    with pytest.raises(SystemExit) as info:
        bench.main(argv)
    assert info.value.code == 2
