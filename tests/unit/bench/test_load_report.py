"""Merging per-process load results, the report text and the client-bound verdict."""

from __future__ import annotations

from rocket.bench.engine import LoadSpec
from rocket.bench.load import CLIENT_BOUND_PCT, format_report, summarize
from rocket.bench.stats import LatencyHistogram


def part(responses, errors, cpu_s, wall_s=2.0, latencies=(0.001, 0.002)):
    h = LatencyHistogram()
    for i in range(responses):
        h.add(latencies[i % len(latencies)])
    return {"requests": responses + sum(errors.values()), "responses": responses,
            "errors": errors, "status": {"200": responses}, "connects": 4,
            "bytes_in": 100 * responses, "bytes_out": 50 * responses, "wall_s": wall_s,
            "cpu_s": cpu_s, "latency": h.to_dict()}


def test_parts_merge_and_stay_consistent():
    spec = LoadSpec("127.0.0.1", 8000, b"/", duration_s=2, connections=8)
    res = summarize(spec, [part(100, {"read": 2}, 0.5), part(300, {"timeout": 1}, 1.0)])
    assert res["requests"] == 403
    assert res["responses"] == 400
    assert res["errors"] == {"read": 2, "timeout": 1}
    assert res["requests"] == res["responses"] + res["errors_total"]
    assert res["rps"] == 200.0
    assert res["client_cpu_pct_each"] == [25.0, 50.0]
    assert res["client_bound"] is False
    assert res["latency_ms"]["p50_ms"] == 1.0 and res["latency_ms"]["max_ms"] == 2.0
    text = format_report(res)
    assert "403 sent, 400 responses, 3 errors" in text
    assert "read 2, timeout 1" in text
    assert "bottleneck" not in text


def test_a_busy_client_says_so():
    spec = LoadSpec("127.0.0.1", 8000, b"/", duration_s=2, connections=8)
    res = summarize(spec, [part(10, {}, 2.0 * CLIENT_BOUND_PCT / 100 + 0.01)])
    assert res["client_bound"] is True
    assert "the client was the bottleneck" in format_report(res)


def test_non_2xx_are_responses_not_errors():
    spec = LoadSpec("127.0.0.1", 8000, b"/", requests=5)
    p = part(5, {}, 0.1)
    p["status"] = {"200": 3, "503": 2}
    res = summarize(spec, [p])
    assert res["non_2xx_3xx"] == 2 and res["errors_total"] == 0
