"""Run ``wrk`` (when installed) for one ``compare`` scenario; results in ``load``'s shape.

The Lua script is written to a temporary file per run: it sets the POST body and
``Connection: close`` from environment variables and prints one JSON line at the end, so
wrk keeps its fast static-request path (no per-request Lua callbacks).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from typing import List, Optional

from rocket.bench.load import CLIENT_BOUND_PCT

SCRIPT = r"""
local size = tonumber(os.getenv("BENCH_BODY") or "0")
if size > 0 then
  wrk.method = "POST"
  wrk.body = string.rep("a", size)
  wrk.headers["Content-Type"] = "application/octet-stream"
end
if os.getenv("BENCH_CLOSE") == "1" then wrk.headers["Connection"] = "close" end
done = function(s, lat, req)
  local e = s.errors
  io.write(string.format('BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"mean_us":%.1f,' ..
    '"max_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\n',
    s.requests, s.duration, s.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    lat.mean, lat.max, lat:percentile(50), lat:percentile(90), lat:percentile(99),
    lat:percentile(99.9)))
end
"""


def available() -> bool:
    """True when a ``wrk`` binary is on PATH."""
    return shutil.which("wrk") is not None


def run_wrk(url: str, connections: int, duration_s: float, keep_alive: bool = True,
            body_size: int = 0, timeout_s: float = 2.0,
            prefix: Optional[List[str]] = None) -> dict:
    """One wrk run (one thread); returns a dict with ``load``'s keys; raises RuntimeError."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(SCRIPT)
        script = f.name
    env = dict(os.environ, BENCH_BODY=str(body_size), BENCH_CLOSE="0" if keep_alive else "1")
    argv = (prefix or []) + ["wrk", "-t1", f"-c{connections}",
                             f"-d{max(1, round(duration_s))}s", "--timeout",
                             f"{max(1, round(timeout_s))}s", "-s", script, url]
    import resource  # POSIX only, like wrk itself

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        p = subprocess.run(argv, env=env, capture_output=True, text=True,
                           timeout=duration_s + timeout_s + 30)
    except subprocess.TimeoutExpired:
        raise RuntimeError("wrk did not finish") from None
    finally:
        os.unlink(script)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    for line in p.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            w = json.loads(line[len("BENCHJSON "):])
            break
    else:
        raise RuntimeError(f"wrk failed: {(p.stdout + p.stderr)[-300:]}")
    secs = w["duration_us"] / 1e6 or 1.0
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    errors = {k: w[k] for k in ("connect", "read", "write", "timeout") if w[k]}
    cpu_pct = round(100.0 * cpu / secs, 1)
    ms = lambda us: round(us / 1000.0, 3)  # noqa: E731
    return {
        "tool": "wrk", "requests": w["requests"], "responses": w["requests"],
        "errors": errors, "errors_total": sum(errors.values()),
        "non_2xx_3xx": w["status"], "duration_s": round(secs, 3),
        "rps": round(w["requests"] / secs, 1), "bytes_in": w["bytes"],
        "mib_in_per_s": round(w["bytes"] / secs / 1048576, 3),
        "latency_ms": {"p50_ms": ms(w["p50_us"]), "p90_ms": ms(w["p90_us"]),
                       "p99_ms": ms(w["p99_us"]), "p999_ms": ms(w["p999_us"]),
                       "max_ms": ms(w["max_us"]), "mean_ms": ms(w["mean_us"])},
        "client_cpu_pct": cpu_pct, "client_bound": cpu_pct >= CLIENT_BOUND_PCT,
    }
