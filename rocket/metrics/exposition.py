"""The ``/metrics`` listener: metric families from summed counters and live figures.

The server (one process) or the arbiter (worker processes) hands in ``collect()``, which
returns a :class:`Sample`; every scrape calls it once and renders the Prometheus text format
with prometheus_client. The listener is a small threaded HTTP server of its own on
``metrics_bind``, never the application's port, so a scrape never waits behind the app and
the app never sees ``/metrics``.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional

from rocket.metrics.recorder import (
    BUCKETS_S,
    BYTES_IN,
    BYTES_OUT,
    DURATION_SUM,
    HISTOGRAM,
    METHODS,
    REQUESTS,
    SIZE,
    STARTED,
    STATUS_CLASSES,
)

__all__ = ["Sample", "MetricsServer", "families", "require_client", "INSTALL_HINT"]

INSTALL_HINT = "metrics_bind needs prometheus_client: pip install 'rocket-wsgi[metrics]'"


class Sample(NamedTuple):
    """What one scrape shows: summed ``counters`` (the recorder's layout), live ``figures``
    (``Lifecycle.figures()`` keys, summed over processes) and worker ``restarts`` by reason."""

    counters: List[float]
    figures: Dict[str, float]
    restarts: Dict[str, int]
    workers: int = 1


def require_client() -> Any:
    """The prometheus_client module; ImportError with :data:`INSTALL_HINT` when missing."""
    try:
        import prometheus_client
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return prometheus_client


def families(sample: Sample) -> Iterator[Any]:
    """The metric families of one sample."""
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
    )

    c = sample.counters if len(sample.counters) >= SIZE else [0.0] * SIZE
    f = sample.figures
    requests = CounterMetricFamily("rocket_requests", "HTTP requests answered, by method and "
                                   "status class", labels=["method", "status"])
    finished = 0.0
    for m, method in enumerate(METHODS):
        for s, status in enumerate(STATUS_CLASSES):
            value = c[REQUESTS + m * len(STATUS_CLASSES) + s]
            finished += value
            if value:
                requests.add_metric([method, status], value)
    yield requests
    buckets, running = [], 0.0
    for i, bound in enumerate(BUCKETS_S + (float("inf"),)):
        running += c[HISTOGRAM + i]
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), running))
    yield HistogramMetricFamily("rocket_request_duration_seconds", "Time from the request "
                                "head to the end of the response", buckets=buckets,
                                sum_value=c[DURATION_SUM])
    yield CounterMetricFamily("rocket_request_body_bytes", "Request body bytes received",
                              value=c[BYTES_IN])
    yield CounterMetricFamily("rocket_response_body_bytes", "Response body bytes sent",
                              value=c[BYTES_OUT])
    yield GaugeMetricFamily("rocket_requests_in_flight", "Requests started and not finished",
                            value=max(0.0, c[STARTED] - finished))
    threads = GaugeMetricFamily("rocket_threads", "Pool threads", labels=["state"])
    busy = f.get("busy", 0)
    threads.add_metric(["busy"], busy)
    threads.add_metric(["idle"], max(0, f.get("threads", 0) - busy))
    yield threads
    yield GaugeMetricFamily("rocket_queue_depth", "Connections waiting for a pool thread",
                            value=f.get("queued", 0))
    connections = GaugeMetricFamily("rocket_connections", "Open connections; parked: idle "
                                    "keep-alive ones in the monitor", labels=["state"])
    connections.add_metric(["open"], f.get("connections", 0))
    connections.add_metric(["parked"], f.get("idle", 0))
    yield connections
    yield CounterMetricFamily("rocket_connections_accepted", "Connections accepted",
                              value=f.get("received", 0))
    yield CounterMetricFamily("rocket_connections_evicted", "Idle keep-alive connections "
                              "closed by the keep_alive timeout", value=f.get("evicted", 0))
    restarts = CounterMetricFamily("rocket_worker_restarts", "Worker processes replaced, by "
                                   "reason", labels=["reason"])
    for reason, count in sorted(sample.restarts.items()):
        restarts.add_metric([reason], count)
    yield restarts
    yield GaugeMetricFamily("rocket_workers", "Worker processes serving", value=sample.workers)


class _Collector:
    def __init__(self, collect: Callable[[], Sample]) -> None:
        self.collect_sample = collect

    def collect(self) -> Iterator[Any]:
        return families(self.collect_sample())


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.partition("?")[0] != "/metrics":
            self._answer(404, b"not found; metrics are at /metrics\n", "text/plain")
            return
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        try:
            body = generate_latest(self.server.registry)
        except Exception as exc:  # noqa: BLE001 - a failed scrape answers 500, never kills
            self._answer(500, f"collecting the metrics failed: {exc!r}\n".encode(), "text/plain")
            return
        self._answer(200, body, CONTENT_TYPE_LATEST)

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Scrapes are not logged."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    registry: Any = None


class MetricsServer:
    """Serves ``/metrics`` on ``host:port`` in a daemon thread; ``port`` is the bound one."""

    def __init__(self, host: str, port: int, collect: Callable[[], Sample]) -> None:
        client = require_client()
        registry = client.CollectorRegistry(auto_describe=False)
        registry.register(_Collector(collect))
        server_class = type("_Server6", (_Server,), {"address_family": socket.AF_INET6}) \
            if ":" in host else _Server
        self._httpd = server_class((host, port), _Handler)
        self._httpd.registry = registry
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        """Start serving."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.25,),
                                        name="rocket-metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(2.0)
            self._thread = None
        self._httpd.server_close()
