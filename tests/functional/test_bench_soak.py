"""``python -m rocket.bench soak``: a 20 s version of the mixed-load soak (``--workers 2``,
one SIGHUP) must end flat, with no 5xx made by the server and no unexpected outcome."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

if not os.path.isdir("/proc") or not hasattr(os, "fork"):
    pytest.skip("the soak samples the server through Linux /proc", allow_module_level=True)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_20_second_soak_is_flat_with_no_server_5xx(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    done = subprocess.run([sys.executable, "-m", "rocket.bench", "soak", "--seconds", "20",
                           "--csv", str(tmp_path / "soak.csv"), "--log", str(tmp_path / "log")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=80)
    report = done.stdout + done.stderr
    assert "verdict: flat; 5xx made by the server: 0; unexpected client outcomes: 0" in report, \
        report
    assert "1 SIGHUP(s)" in report and "0 traceback(s)" in report, report
    assert done.returncode == 0, report
    rows = (tmp_path / "soak.csv").read_text().splitlines()
    assert rows[0] == "t_s,rss_mib,fds,threads,processes" and len(rows) >= 15
