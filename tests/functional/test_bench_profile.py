"""The server side of ``--profile``: ThreadProfiler.installed() around a real Rocket."""

from __future__ import annotations

import pstats

from rocket.bench.__main__ import main
from rocket.bench.engine import LoadSpec
from rocket.bench.load import run
from rocket.bench.profiling import ThreadProfiler
from tests.functional.serving import running


def profiled_app(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]


def test_worker_threads_of_a_real_server_are_profiled(tmp_path, capsys):
    path = str(tmp_path / "rocket.prof")
    profiler = ThreadProfiler(path)
    with profiler.installed(prefix="rocket-"), running(profiled_app) as server:
        res = run(LoadSpec("127.0.0.1", server.port, b"/", requests=200, connections=4))
        assert res["responses"] == 200
    assert profiler.threads >= 2  # at least the listener and one worker
    stats = pstats.Stats(path)
    key = next(k for k in stats.stats if k[2] == "profiled_app")
    assert stats.stats[key][1] == 200  # every call of the app, whichever thread ran it
    capsys.readouterr()
    # Every entry: the rank of a function this small varies between runs (on PyPy it falls
    # below the 40th now and then).
    everything = str(len(stats.stats))
    assert main(["profile-report", path, "--limit", everything, "--sort", "cumulative"]) == 0
    assert "profiled_app" in capsys.readouterr().out
