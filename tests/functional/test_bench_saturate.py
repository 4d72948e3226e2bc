"""``saturate`` against a real Rocket: 500 held connections, and a new request still served."""

from __future__ import annotations

import json

from rocket.bench.__main__ import main
from rocket.bench.apps import app
from rocket.bench.saturate import saturate


def test_500_connections(start_server):
    host, port = "127.0.0.1", start_server(app).port
    res = saturate(host, port, 500, connect_timeout_s=10, hold_s=0.5, timeout_s=10)
    assert res["attempted"] == 500
    assert res["connected"] == 500
    assert res["failed"] == {} and res["pending"] == 0
    assert res["connect_rate"] > 0
    assert res["probe"]["ok"] and res["probe"]["status"] == 200
    assert res["held_open"] == 500
    assert res["served_after_hold"] == 500


def test_cli_report_and_json(start_server, tmp_path, capsys):
    host, port = "127.0.0.1", start_server(app).port
    out = tmp_path / "sat.json"
    assert main(["saturate", f"{host}:{port}", "-c", "50", "--hold", "0.2",
                 "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Accepted     50 in" in text
    assert "Probe        a new request got 200" in text
    assert "Served       50 of 50" in text
    assert json.loads(out.read_text())["connected"] == 50


def test_nothing_listening(capsys):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = saturate("127.0.0.1", port, 5, connect_timeout_s=2, hold_s=0, timeout_s=2)
    assert res["connected"] == 0
    assert res["failed"] == {"ECONNREFUSED": 5}
    assert res["probe"]["ok"] is False
