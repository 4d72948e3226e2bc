"""Three ``rocket --workers 2`` hosts behind haproxy (docs/deploy/haproxy.cfg, word for word)
under a bounded load of 16 keep-alive connections: a rolling reload loses nothing; a host
killed outright, or one whose app hangs in every worker, costs at most the requests it had in
flight, is marked down within haproxy's check timing, and rejoins once it is back."""

from __future__ import annotations

import re
import time

import pytest

from tests.fleet.balancers import LISTEN_PORT, check_timing
from tests.fleet.faults import Sampler, freeze_host
from tests.fleet.load import Load

pytestmark = pytest.mark.timeout(120)

WORKER_TIMEOUT_KILL = re.compile(r"Killing worker (\d+) with SIGKILL: no progress")


def down_within_s(hung: bool) -> float:
    """How soon haproxy must mark a dead host down: the first check after the fault (one
    ``inter``), then ``fall`` failed checks ``fastinter`` apart, each waiting up to
    ``timeout check`` when the host hangs instead of refusing; plus 1 s for this loaded
    machine."""
    t = check_timing()
    per_check = t["fastinter"] + (t["check"] if hung else 0.0)
    return t["inter"] + t["fall"] * per_check + (t["check"] if hung else 0.0) + 1.0


def in_flight(haproxy, server: str) -> int:
    """Requests haproxy has on ``server`` now (its ``scur``)."""
    return int(haproxy.stats()[server]["scur"] or 0)


def test_rolling_reload_under_load_loses_nothing(topology, hosts, haproxy):
    load = Load(topology.balancer, LISTEN_PORT, seconds=20).start()
    reload_s = []
    try:
        time.sleep(1.0)
        for host in hosts:
            old = set(host.current_workers())
            reload_s.append(host.reload())
            assert len(old) == 2 and not old & set(host.current_workers()), host.log()
            haproxy.wait_status(host.name, "UP", 10)
        reloads_done = time.monotonic()
    finally:
        load.join()
    print(f"rolling reload: {load.summary()}; reloads took {[round(s, 1) for s in reload_s]} s")
    assert reloads_done < load.stop_at, "the reloads outlasted the load"
    assert load.failures == [], load.summary()
    assert load.ok > 200 and len(load.served_by) == 3, load.summary()


def test_host_killed_under_load(topology, hosts, haproxy):
    victim = hosts[1]
    load = Load(topology.balancer, LISTEN_PORT, seconds=12).start()
    try:
        time.sleep(3.0)
        before = in_flight(haproxy, victim.name)
        victim.kill()
        before = max(before, in_flight(haproxy, victim.name))
        down_s = haproxy.wait_status(victim.name, "DOWN", 10)
        time.sleep(1.0)
        victim.start()
        served_before_rejoin = load.served_by[victim.name]
        up_s = haproxy.wait_status(victim.name, "UP", 15)
    finally:
        load.join()
    print(f"host killed: {load.summary()}; {before} request(s) in flight on it; "
          f"marked down after {down_s:.2f} s, up {up_s:.2f} s after restart")
    assert len(load.failures) <= before, load.summary()
    assert down_s <= down_within_s(hung=False)
    assert load.served_by[victim.name] > served_before_rejoin, "the host did not rejoin"


def test_host_with_a_hung_app_is_replaced(topology, hosts, haproxy):
    victim = hosts[1]
    load = Load(topology.balancer, LISTEN_PORT, seconds=20).start()
    try:
        time.sleep(2.0)
        since = time.monotonic()
        with Sampler(lambda: in_flight(haproxy, victim.name)) as stuck:
            frozen = freeze_host(topology.balancer, victim)
            assert len(frozen) == 2, f"froze {frozen}\n{victim.log()}"
            haproxy.wait_status(victim.name, "DOWN", 15)
            down_s = time.monotonic() - since
            killed = victim.wait_for(WORKER_TIMEOUT_KILL, count=2, since=since, timeout=20)
            served_before_rejoin = load.served_by[victim.name]
            up_s = haproxy.wait_status(victim.name, "UP", 15)
    finally:
        load.join()
    killed_pids = {int(m.group(1)) for m in killed}
    print(f"hung app: {load.summary()}; at most {stuck.largest} request(s) in flight on the "
          f"host; marked down {down_s:.2f} s after the freeze, workers {sorted(killed_pids)} "
          f"killed by worker_timeout, up again after {up_s:.2f} s more")
    assert killed_pids == frozen
    assert len(load.failures) <= stuck.largest, load.summary()
    assert down_s <= down_within_s(hung=True)
    assert load.served_by[victim.name] > served_before_rejoin, "the host did not rejoin"
