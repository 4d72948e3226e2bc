"""The /metrics listener: a real scrape over TCP of the families a Sample gives."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

pytest.importorskip("prometheus_client")

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from rocket.metrics.exposition import MetricsServer, Sample  # noqa: E402
from rocket.metrics.recorder import SIZE, STARTED, Recorder, record  # noqa: E402


def scrape(port: int) -> dict:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode())
            for s in family.samples}


def test_scrape_shows_counters_figures_and_restarts():
    recorder = Recorder()
    counters = recorder.thread_counters()
    for status in (200, 200, 404):
        counters[STARTED] += 1
        record(counters, b"GET", status, 0.003, 7, 11)
    counters[STARTED] += 1  # one still running
    figures = {"busy": 3, "threads": 10, "queued": 2, "connections": 5, "idle": 1,
               "received": 9, "evicted": 4}
    server = MetricsServer("127.0.0.1", 0, lambda: Sample(recorder.snapshot(), figures,
                                                          {"crash": 2}, 2))
    server.start()
    try:
        got = scrape(server.port)
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/other", timeout=5)
        assert info.value.code == 404
    finally:
        server.stop()
    assert got[("rocket_requests_total", (("method", "GET"), ("status", "2xx")))] == 2
    assert got[("rocket_requests_total", (("method", "GET"), ("status", "4xx")))] == 1
    assert got[("rocket_request_duration_seconds_count", ())] == 3
    assert got[("rocket_request_duration_seconds_bucket", (("le", "0.005"),))] == 3
    assert got[("rocket_request_duration_seconds_bucket", (("le", "0.0025"),))] == 0
    assert got[("rocket_request_body_bytes_total", ())] == 21
    assert got[("rocket_response_body_bytes_total", ())] == 33
    assert got[("rocket_requests_in_flight", ())] == 1
    assert got[("rocket_threads", (("state", "busy"),))] == 3
    assert got[("rocket_threads", (("state", "idle"),))] == 7
    assert got[("rocket_queue_depth", ())] == 2
    assert got[("rocket_connections", (("state", "parked"),))] == 1
    assert got[("rocket_connections_evicted_total", ())] == 4
    assert got[("rocket_worker_restarts_total", (("reason", "crash"),))] == 2
    assert got[("rocket_workers", ())] == 2


def test_empty_sample_renders():
    server = MetricsServer("127.0.0.1", 0, lambda: Sample([], {}, {}))
    server.start()
    try:
        assert scrape(server.port)[("rocket_requests_in_flight", ())] == 0
    finally:
        server.stop()
    assert SIZE > 0
