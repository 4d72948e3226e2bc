"""A real Prometheus (docs/deploy.md "Prometheus") scrapes ``metrics_bind`` of Rocket with 2
worker processes under a short load; its HTTP API then shows the request counter equal to the
requests sent, summed over both workers."""

from __future__ import annotations

import json
import os
import socket
import threading
import urllib.parse
import urllib.request

import pytest

from tests.functional.programs import doc_block, free_port, need, replace, start, stop, wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONNECTIONS, PER_CONNECTION = 8, 50


def keep_alive_load(port: int) -> int:
    """CONNECTIONS clients each sending PER_CONNECTION keep-alive requests; returns the count
    of 200 answers."""
    done = []

    def client():
        ok = 0
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            reader = sock.makefile("rb")
            for _ in range(PER_CONNECTION):
                sock.sendall(b"GET /load HTTP/1.1\r\nHost: a\r\n\r\n")
                status = reader.readline()
                length = 0
                while (line := reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                reader.read(length)
                ok += status.startswith(b"HTTP/1.1 200 ")
        done.append(ok)

    threads = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return sum(done)


def query(port: int, promql: str) -> list:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    reply = json.loads(urllib.request.urlopen(url, timeout=5).read())
    assert reply["status"] == "success", reply
    return reply["data"]["result"]


def test_prometheus_counts_every_request_over_two_workers(tmp_path, rocket_process):
    program = need("prometheus")
    pytest.importorskip("prometheus_client")
    app_port, metrics_port, prom_port = free_port(), free_port(), free_port()
    rocket = rocket_process(["--bind", f"127.0.0.1:{app_port}", "--workers", "2",
                             "--metrics-bind", f"127.0.0.1:{metrics_port}", "--no-access-log",
                             "tests.apps.whoami:app"], cwd=ROOT)
    rocket.wait_for_all(r"Booted worker process", 2, timeout=15)
    conf = doc_block("prometheus")
    conf = replace(conf, "scrape_interval: 5s", "scrape_interval: 1s")
    conf = replace(conf, "127.0.0.1:9100", f"127.0.0.1:{metrics_port}")
    (tmp_path / "prometheus.yml").write_text(conf)
    prom = start([program, f"--config.file={tmp_path / 'prometheus.yml'}",
                  f"--storage.tsdb.path={tmp_path / 'data'}",
                  f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"])
    try:
        sent = keep_alive_load(app_port)
        assert sent == CONNECTIONS * PER_CONNECTION

        def counted():
            result = query(prom_port, 'sum(rocket_requests_total{job="rocket"})')
            return result and float(result[0]["value"][1]) == sent

        wait_until(counted, 25, f"Prometheus counting {sent} requests", prom)
        workers = query(prom_port, 'rocket_workers{job="rocket"}')
        assert float(workers[0]["value"][1]) == 2
        up = query(prom_port, 'up{job="rocket"}')
        assert float(up[0]["value"][1]) == 1
    finally:
        stop(prom)
