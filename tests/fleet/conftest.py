"""Fixtures of the fleet tests: namespaces per module, three hosts and a balancer per test,
all torn down in ``finally`` blocks even when a test fails.

The fleet needs root, iproute2's ``ip netns``, haproxy and nginx. Without them the tests are
skipped with the reason, except in CI (``CI=true``), where a fleet test that cannot run fails.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from typing import Iterator, List, Optional

import pytest

from tests.fleet import netns
from tests.fleet.balancers import HAProxy, Nginx
from tests.fleet.hosts import Host

HOSTS = 3


def missing() -> Optional[str]:
    """Why the fleet cannot run on this machine, or None."""
    reason = netns.unavailable_reason()
    if reason:
        return reason
    for tool in ("haproxy", "nginx"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (apt-get install haproxy nginx-light)"
    return None


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    """Every test under tests/fleet carries the ``fleet`` marker."""
    here = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.fleet)


@pytest.fixture(scope="module")
def topology() -> Iterator[netns.Topology]:
    """The balancer namespace and one namespace per host, deleted afterwards."""
    reason = missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"fleet test cannot run in CI: {reason}", pytrace=False)
        pytest.skip(reason)
    netns.remove_stale()
    topo = netns.Topology(HOSTS).create()
    try:
        yield topo
    finally:
        topo.destroy()


@pytest.fixture
def hosts(topology: netns.Topology) -> Iterator[List[Host]]:
    """``rocket --workers 2`` on each host, started together, stopped afterwards."""
    fleet = [Host(f"host{i}", ns, topology.host_address(i))
             for i, ns in enumerate(topology.hosts, 1)]
    errors: List[BaseException] = []

    def start(host: Host) -> None:
        try:
            host.start()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=start, args=(h,)) for h in fleet]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        if errors:
            raise errors[0]
        yield fleet
    finally:
        for host in fleet:
            host.stop()


@pytest.fixture
def workdir() -> Iterator[str]:
    """A private directory for the balancer's files. Not ``tmp_path``: pytest sessions run
    in parallel by the same user prune each other's old numbered base directories."""
    path = tempfile.mkdtemp(prefix="rocket-fleet-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def haproxy(topology: netns.Topology, hosts: List[Host], workdir: str) -> Iterator[HAProxy]:
    """haproxy on docs/deploy/haproxy.cfg, every server UP."""
    balancer = HAProxy(topology.balancer, workdir)
    try:
        balancer.start()
        balancer.wait_all_up()
        yield balancer
    finally:
        balancer.stop()


@pytest.fixture
def nginx(topology: netns.Topology, hosts: List[Host], workdir: str) -> Iterator[Nginx]:
    """nginx on docs/deploy/nginx.conf."""
    balancer = Nginx(topology.balancer, workdir)
    try:
        yield balancer.start()
    finally:
        balancer.stop()
