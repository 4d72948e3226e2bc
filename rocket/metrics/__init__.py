"""Prometheus metrics (the ``metrics_bind`` setting; the ``metrics`` extra, prometheus_client).

- :mod:`rocket.metrics.recorder`: the per-request counters, kept per pool thread in a flat
  list of numbers (the hot path: a few list increments, no lock);
- :mod:`rocket.metrics.exposition`: turns summed counters and live figures into metric
  families and serves them on their own listener.

Across worker processes each one publishes its list in its shared-memory scoreboard slot and
the arbiter sums them (measured cheaper than prometheus_client's multiprocess mode: see
docs/deploy.md, "Prometheus").
"""
