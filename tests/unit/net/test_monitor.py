"""Monitor: parked connections come back when readable, expire after the timeout."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from rocket.net.monitor import Monitor, _SelectorPoller, make_poller


class FakeConn:
    """A socketpair end with the attributes the monitor uses."""

    def __init__(self):
        self.sock, self.peer = socket.socketpair()
        self.closed = False
        self.last_active = 0.0

    def fileno(self):
        return self.sock.fileno() if not self.closed else -1

    def close(self):
        if not self.closed:
            self.closed = True
            self.sock.close()

    def cleanup(self):
        self.close()
        self.peer.close()


@pytest.fixture
def conns():
    made = []

    def make():
        made.append(FakeConn())
        return made[-1]

    yield make
    for conn in made:
        conn.cleanup()


@pytest.fixture(params=["native", "selectors"])
def monitor_with_queue(request):
    ready = []
    event = threading.Event()

    def dispatch(conn):
        ready.append(conn)
        event.set()

    monitors = []

    def make(**kwargs):
        poller = make_poller() if request.param == "native" else _SelectorPoller()
        m = Monitor(dispatch, poller=poller, **kwargs)
        m.start()
        monitors.append(m)
        return m

    yield make, ready, event
    for m in monitors:
        m.stop()


def test_readable_connection_is_handed_back(conns, monitor_with_queue):
    make, ready, event = monitor_with_queue
    monitor = make(timeout=60)
    a, b = conns(), conns()
    monitor.park(a)
    monitor.park(b)
    assert len(monitor) == 2
    b.peer.sendall(b"GET / HTTP/1.1\r\n")
    assert event.wait(2)
    assert ready == [b] and len(monitor) == 1
    assert not b.closed


def test_idle_connections_expire_after_timeout(conns, monitor_with_queue):
    make, ready, _ = monitor_with_queue
    monitor = make(timeout=0.2, sweep_s=0.05)
    conn = conns()
    monitor.park(conn)
    time.sleep(0.1)
    assert not conn.closed
    deadline = time.monotonic() + 2
    while not conn.closed and time.monotonic() < deadline:
        time.sleep(0.02)
    assert conn.closed and monitor.closed_idle == 1 and len(monitor) == 0
    assert conn.peer.recv(10) == b""  # the client sees the close


def test_timeout_zero_keeps_connections(conns, monitor_with_queue):
    make, _, _ = monitor_with_queue
    monitor = make(timeout=0, sweep_s=0.02)
    conn = conns()
    monitor.park(conn)
    time.sleep(0.15)
    assert not conn.closed and len(monitor) == 1


def test_stop_closes_parked_and_later_parks(conns):
    monitor = Monitor(lambda c: None, timeout=60)
    monitor.start()
    parked = conns()
    monitor.park(parked)
    monitor.stop()
    monitor.stop()  # idempotent
    assert parked.closed
    late = conns()
    monitor.park(late)
    assert late.closed
    assert not [t for t in threading.enumerate() if t.name == "rocket-monitor"]


def test_peer_close_is_dispatched_too(conns, monitor_with_queue):
    make, ready, event = monitor_with_queue
    monitor = make(timeout=60)
    conn = conns()
    monitor.park(conn)
    conn.peer.close()
    assert event.wait(2) and ready == [conn]


def test_many_parked_connections_cost_no_threads(conns, monitor_with_queue):
    make, ready, event = monitor_with_queue
    before = threading.active_count()
    monitor = make(timeout=60)
    parked = [conns() for _ in range(200)]
    for conn in parked:
        monitor.park(conn)
    assert threading.active_count() == before + 1
    parked[137].peer.sendall(b"x")
    assert event.wait(2) and ready == [parked[137]]


def test_reparking_the_same_connection_rearms_it(conns, monitor_with_queue):
    make, ready, event = monitor_with_queue
    monitor = make(timeout=60)
    conn = conns()
    for round_no in range(5):
        event.clear()
        monitor.park(conn)
        conn.peer.sendall(b"x")
        assert event.wait(2), round_no
        assert conn.sock.recv(10) == b"x"
    assert ready == [conn] * 5 and monitor.parks == 5


def test_a_reused_descriptor_is_armed_for_its_new_connection(conns, monitor_with_queue):
    make, ready, event = monitor_with_queue
    monitor = make(timeout=60)
    first = conns()
    monitor.park(first)
    first.peer.sendall(b"x")
    assert event.wait(2)
    fd = first.fileno()
    first.cleanup()  # closed while disarmed; the OS may hand its number to the next socket
    event.clear()
    for _ in range(20):
        second = conns()
        if second.fileno() == fd:
            break
    monitor.park(second)
    second.peer.sendall(b"y")
    assert event.wait(2) and ready[-1] is second


def test_a_failing_dispatch_does_not_kill_the_monitor(conns, caplog):
    calls = []
    event = threading.Event()

    def dispatch(conn):
        calls.append(conn)
        if len(calls) == 1:
            raise RuntimeError("boom")
        event.set()

    monitor = Monitor(dispatch, timeout=60)
    monitor.start()
    try:
        first, second = conns(), conns()
        monitor.park(first)
        first.peer.sendall(b"x")
        deadline = time.monotonic() + 2
        while not first.closed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert first.closed and "dispatching" in caplog.text
        monitor.park(second)
        second.peer.sendall(b"y")
        assert event.wait(2) and calls[-1] is second
    finally:
        monitor.stop()


def test_evict_idle_closes_the_longest_idle_first(conns, monitor_with_queue):
    make, ready, event = monitor_with_queue
    monitor = make(timeout=60)
    parked = [conns() for _ in range(4)]
    for conn in parked:
        monitor.park(conn)
    assert monitor.evict_idle(2) == 2
    assert [c.closed for c in parked] == [True, True, False, False]
    assert len(monitor) == 2 and monitor.evicted == 2
    parked[3].peer.sendall(b"GET / HTTP/1.1\r\n")  # the rest still come back when readable
    assert event.wait(2) and ready == [parked[3]]
    assert monitor.evict_idle(5) == 1 and parked[2].closed and monitor.evicted == 3
    assert monitor.evict_idle(1) == 0 and len(monitor) == 0
