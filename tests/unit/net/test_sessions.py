"""The monitor's session phase: a connection held for good, its session called on every
readiness event and at its deadline, told to drain at a graceful stop, closed gently."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from rocket.net.connection import Connection
from rocket.net.monitor import MAX_WAIT_S, Monitor
from rocket.net.pollers import make_poller
from rocket.net.sessions import SESSION
from tests.unit.net.test_monitor import wait_until
from tests.unit.net.test_pollers import fallback_poller


class RecordingSession:
    """A session that echoes what it reads, records its calls and re-arms for reading."""

    def __init__(self, monitor):
        self.monitor = monitor
        self.conn = None
        self.received = b""
        self.deadlines = 0
        self.drained = threading.Event()
        self.trailing_data = b""

    def feed(self, data):
        self.received += data

    def on_ready(self, watch):
        if self.conn.read_nowait() is False:
            self.monitor.drop(watch)
            return
        self.conn.send_some_nowait(self.received[-1:])
        self.monitor.rearm(watch)

    def on_deadline(self, watch):
        self.deadlines += 1

    def drain(self):
        self.drained.set()


@pytest.fixture(params=["native", "selectors"])
def held(request):
    monitor = Monitor(lambda conn: None, poller=make_poller() if request.param == "native"
                      else fallback_poller(), drain_time=1.0, drain_gap=0.5)
    monitor.start()
    server, client = socket.socketpair()
    client.settimeout(3.0)
    session = RecordingSession(monitor)
    conn = session.conn = Connection(server, "", "", session)
    watch = monitor.hold(conn)
    yield monitor, watch, session, client
    monitor.stop()
    conn.close()
    client.close()


def test_each_event_reaches_the_session_which_re_arms_for_the_next(held):
    monitor, watch, session, client = held
    assert monitor.phases()[SESSION] == 1
    for byte in (b"a", b"b", b"c"):
        client.sendall(byte)
        assert client.recv(1) == byte
    assert session.received == b"abc" and len(monitor) == 1


def test_the_deadline_calls_the_session_and_no_longer_holds_it(held):
    monitor, watch, session, client = held
    monitor.set_deadline(watch, monitor.clock() + 0.1)
    assert wait_until(lambda: session.deadlines == 1)
    assert len(monitor) == 0


def test_a_graceful_stop_drains_sessions_instead_of_closing_them(held):
    monitor, watch, session, client = held
    monitor.close_waiting()
    assert session.drained.wait(3.0) and len(monitor) == 1
    monitor.close_session(watch)  # the session's streams are done: FIN, then linger
    assert client.recv(10) == b""
    assert monitor.phases()[SESSION] == 0


def test_eof_lets_the_session_drop_its_connection(held):
    monitor, watch, session, client = held
    client.shutdown(socket.SHUT_WR)
    assert wait_until(lambda: len(monitor) == 0)
    assert session.conn.closed


def test_a_rearm_from_another_thread_reaches_the_waiting_monitor(held):
    """A stream's thread arms the session for writing while the monitor waits in poll()
    (MAX_WAIT_S at most, with no deadline): the session hears of it at once."""
    monitor, watch, session, client = held
    ready = threading.Event()
    session.on_ready = lambda fired: ready.set()
    client.sendall(b"a")  # on_ready fires once and, replaced, no longer re-arms
    assert ready.wait(3.0)
    ready.clear()
    time.sleep(0.3)  # the monitor waits again, on nothing of this session
    started = time.monotonic()
    monitor.rearm(watch, True)
    assert ready.wait(3.0) and time.monotonic() - started < MAX_WAIT_S / 2
