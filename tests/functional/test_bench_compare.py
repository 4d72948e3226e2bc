"""``compare`` restricted to Rocket: every scenario for 1 s, valid JSON, a PNG, nothing left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rocket.bench.__main__ import main
from rocket.bench.compare import SCENARIOS


def children_of(pid):
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(name))
    return out


def test_rocket_alone_every_scenario(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    js, png, md = tmp_path / "c.json", tmp_path / "c.png", tmp_path / "c.md"
    code = main(["compare", "--servers", "rocket", "-d", "1", "--warmup", "0",
                 "--client", "load", "--json", str(js), "--plot", str(png),
                 "--markdown", str(md)])
    out = capsys.readouterr().out
    assert code == 0, out
    doc = json.loads(js.read_text())
    assert doc["meta"]["servers"] == ["rocket"]
    assert doc["meta"]["client"] == "load"
    assert [r["scenario"] for r in doc["results"]] == list(SCENARIOS)
    for rec in doc["results"]:
        assert rec["status"] == "ok", rec
        assert rec["responses"] > 0
        assert rec["requests"] == rec["responses"] + rec["errors_total"]
        assert rec["latency_ms"]["p99_ms"] is not None
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10000
    assert "| rocket |" in out and "(1.00×)" in out
    fair = {r["scenario"]: r["fairness"] for r in doc["results"] if "fairness" in r}
    assert fair["hello-c256"]["served"] == 256  # Rocket serves every connection
    assert fair["sleep-c100"]["served"] == 100
    assert "connections that got at least one response" in out
    text = md.read_text()
    assert "python -m rocket.bench compare --servers rocket" in text
    assert "![compare chart](c.png)" in text


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds the server through /proc")
def test_interrupt_stops_the_server():
    proc = subprocess.Popen(
        [sys.executable, "-m", "rocket.bench", "compare", "--servers", "rocket",
         "--scenarios", "sleep-c100", "-d", "30", "--warmup", "0", "--client", "load"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    servers = []
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not servers:
            servers = children_of(proc.pid)
            time.sleep(0.1)
        assert servers, "compare never started a server"
        time.sleep(1.0)  # the server is up and under load
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 130
    assert "interrupted" in err
    for pid in servers:  # compare has exited: its server must not run on (or be reused)
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                assert b"rocket.bench.serve" not in f.read()
        except OSError:
            pass  # gone, as it should be
