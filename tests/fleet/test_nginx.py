"""The same fleet behind nginx (docs/deploy/nginx.conf, word for word): nginx has no active
health checks, so a dead host is found by live traffic; ``proxy_next_upstream`` sends those
idempotent requests to another host and ``max_fails`` keeps the dead one out."""

from __future__ import annotations

import time

import pytest

from tests.fleet.balancers import LISTEN_PORT
from tests.fleet.faults import Sampler
from tests.fleet.load import Load

pytestmark = pytest.mark.timeout(120)


def test_rolling_reload_under_load_loses_nothing(topology, hosts, nginx):
    load = Load(topology.balancer, LISTEN_PORT, seconds=8).start()
    try:
        time.sleep(1.0)
        for host in hosts:
            old = set(host.current_workers())
            host.reload()
            assert not old & set(host.current_workers()), host.log()
        reloads_done = time.monotonic()
    finally:
        load.join()
    print(f"rolling reload behind nginx: {load.summary()}")
    assert reloads_done < load.stop_at, "the reloads outlasted the load"
    assert load.failures == [], load.summary() + "\n" + nginx.log()
    assert len(load.served_by) == 3, load.summary()


def test_host_killed_under_load(topology, hosts, nginx):
    victim = hosts[1]
    load = Load(topology.balancer, LISTEN_PORT, seconds=12).start()
    try:
        time.sleep(2.0)
        # nginx does not tell which host a request is on: every unanswered request counts.
        with Sampler(load.in_flight) as outstanding:
            time.sleep(0.2)
        before = max(outstanding.largest, load.in_flight())
        victim.kill()
        time.sleep(2.0)
        victim.start()
        served_before_rejoin = load.served_by[victim.name]
    finally:
        load.join()
    print(f"host killed behind nginx: {load.summary()}; {before} request(s) in flight on "
          "all hosts together")
    assert len(load.failures) <= before, load.summary() + "\n" + nginx.log()
    assert load.served_by[victim.name] > served_before_rejoin, "the host did not rejoin"
