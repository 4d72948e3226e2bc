"""One info() shape: a single process's figures and an arbiter's sums use the same keys."""

from __future__ import annotations

from rocket.config.settings import Config, Interface
from rocket.server.info import INFO_KEYS, SUMMED_KEYS, arbiter_info, summed_figures

FIGURES = {"requests": 10, "connections": 3, "busy": 1, "threads": 4, "queued": 1,
           "received": 7, "idle": 1, "parks": 5, "handled": 9, "max_connections": 960,
           "evictions": 4, "paused_ms": 1500}


def test_summed_figures_names_each_figure_once():
    summed = summed_figures(FIGURES)
    assert list(summed) == list(SUMMED_KEYS)
    assert summed == {"received_connections": 7, "active_connections": 3,
                      "idle_connections": 1, "parks": 5, "requests": 10, "threads": 4,
                      "threads_busy": 1, "threads_idle": 3, "queue_depth": 1,
                      "max_connections": 960, "evictions": 4, "accept_paused_s": 1.5,
                      "open_streams": 0}


class FakeArbiter:
    interfaces = [Interface("127.0.0.1", 1)]
    config = Config()
    stopping = None
    target = 2
    generation = 3
    started_at = 1.0

    def worker_records(self) -> list:
        return [dict(FIGURES, pid=11, generation=3, state="serving", uptime_s=2.0,
                     heartbeat_age_s=0.1),
                dict(FIGURES, requests=7, received=5, pid=12, generation=3, state="booting",
                     uptime_s=1.0, heartbeat_age_s=0.2)]


def test_arbiter_info_sums_the_workers_in_the_common_shape():
    info = arbiter_info(FakeArbiter())
    assert set(info) == set(INFO_KEYS)
    assert info["received_connections"] == info["connections_received"] == 12
    assert info["requests"] == 17 and info["threads_busy"] == 2 and info["queue_depth"] == 2
    assert info["max_connections"] == 1920 and info["evictions"] == 8
    assert info["accept_paused_s"] == 3.0
    assert info["listen_on"] == info["listen"] == ["127.0.0.1:1"]
    assert info["workers_wanted"] == 2 and info["generation"] == 3 and info["running"]
    assert [w["pid"] for w in info["workers"]] == [11, 12]
    assert set(info["workers"][0]) == {"pid", "generation", "state", "uptime_s",
                                       "heartbeat_age_s", *SUMMED_KEYS}
    assert info["workers"][1]["state"] == "booting" and info["workers"][1]["requests"] == 7
    stopped = FakeArbiter()
    stopped.stopping = "graceful"
    assert arbiter_info(stopped)["uptime_s"] == 0.0 and not arbiter_info(stopped)["running"]
