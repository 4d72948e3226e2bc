"""Monitor: idle and partial connections wait here without a thread, whole heads go on,
each phase ends at its deadline, and lingering closes drain what the client still sends.
While the interpreter lock is saturated it serves whole requests on its own thread, and a
slow one there hands the polling to a new thread ("Serving on the monitor's thread")."""

from __future__ import annotations

import socket
import threading
import time
from types import SimpleNamespace

import pytest

from rocket.http.parser import RequestParser
from rocket.net import monitor as monitor_module
from rocket.net.connection import Connection
from rocket.net.monitor import Monitor
from rocket.net.pollers import make_poller
from tests.unit.net.test_pollers import fallback_poller

HEAD = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def whole_head(conn):
    return b"\r\n\r\n" in conn.reader.trailing_data


def answer(conn, reason):
    return b"ANSWER " + reason.encode()


class PeeredConnection(Connection):
    """A Connection over a socketpair, with the client end as ``peer``."""

    __slots__ = ("peer",)


class FinProbe(PeeredConnection):
    """Records, when its FIN goes out, what ``on_fin()`` returns."""

    __slots__ = ("on_fin", "at_fin")

    def shut_write(self):
        self.at_fin = self.on_fin()
        super().shut_write()


@pytest.fixture
def conns():
    made = []

    def make(cls=PeeredConnection):
        server, client = socket.socketpair()
        conn = cls(server, "", "", RequestParser(), read_timeout=1.0, send_timeout=1.0)
        conn.peer = client
        made.append(conn)
        return conn

    yield make
    for conn in made:
        conn.close()
        conn.peer.close()


@pytest.fixture(params=["native", "selectors"])
def monitor_with_queue(request):
    ready = []
    event = threading.Event()

    def dispatch(conn):
        ready.append(conn)
        event.set()

    monitors = []

    def make(**kwargs):
        poller = make_poller() if request.param == "native" else fallback_poller()
        kwargs.setdefault("ready", whole_head)
        kwargs.setdefault("answer", answer)
        m = Monitor(dispatch, poller=poller, **kwargs)
        m.start()
        monitors.append(m)
        return m

    yield make, ready, event
    for m in monitors:
        m.stop()


def wait_until(predicate, timeout=3.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def read_all(sock, timeout=3.0):
    sock.settimeout(timeout)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def one_request(monitor, conn, event):
    """Park ``conn``, have its client send a head, wait until the monitor hands it on, and
    consume the request as a worker would."""
    event.clear()
    monitor.park(conn)
    conn.peer.sendall(HEAD)
    assert event.wait(2)
    assert conn.reader.next_event().method == b"GET"
    conn.reader.next_event()  # EndOfMessage


def test_a_whole_head_is_handed_on_and_part_of_one_is_held(conns, monitor_with_queue):
    make, ready, event = monitor_with_queue
    monitor = make(timeout=60)
    a, b = conns(), conns()
    monitor.park(a)
    monitor.park(b)
    assert len(monitor) == 2
    b.peer.sendall(HEAD[:10])
    assert not event.wait(0.2)  # part of a head: held, no thread
    assert monitor.phases()["head"] == 1
    b.peer.sendall(HEAD[10:])
    assert event.wait(2)
    assert ready == [b] and len(monitor) == 1
    assert b.reader.trailing_data == HEAD and not b.closed


def test_idle_connections_expire_after_keep_alive(conns, monitor_with_queue):
    make, ready, _ = monitor_with_queue
    monitor = make(timeout=0.2)
    conn = conns()
    monitor.park(conn)
    time.sleep(0.1)
    assert not conn.closed
    assert wait_until(lambda: conn.closed)
    assert monitor.closed_idle == 1 and len(monitor) == 0
    assert conn.peer.recv(10) == b""  # the client sees the close


def test_keep_alive_zero_keeps_connections(conns, monitor_with_queue):
    make, _, _ = monitor_with_queue
    monitor = make(timeout=0)
    conn = conns()
    monitor.park(conn)
    time.sleep(0.15)
    assert not conn.closed and len(monitor) == 1


def test_stop_closes_held_and_later_connections(conns):
    monitor = Monitor(lambda c: None, timeout=60)
    monitor.start()
    parked, waiting = conns(), conns()
    monitor.park(parked)
    monitor.wait_head(waiting, time.monotonic())
    monitor.stop()
    monitor.stop()  # idempotent
    assert parked.closed and waiting.closed
    late = conns()
    monitor.park(late)
    assert late.closed
    assert not [t for t in threading.enumerate() if t.name == "rocket-monitor"]


def test_an_idle_peer_closing_is_closed_here(conns, monitor_with_queue):
    make, ready, _ = monitor_with_queue
    monitor = make(timeout=60)
    conn = conns()
    monitor.park(conn)
    conn.peer.close()
    assert wait_until(lambda: conn.closed) and ready == [] and len(monitor) == 0


def test_a_head_cut_short_goes_to_the_worker(conns, monitor_with_queue):
    make, ready, event = monitor_with_queue
    monitor = make(timeout=60)
    conn = conns()
    monitor.park(conn)
    conn.peer.sendall(HEAD[:8])
    conn.peer.shutdown(socket.SHUT_WR)
    assert event.wait(2) and ready == [conn]  # it answers the incomplete head


def test_many_held_connections_cost_no_threads(conns, monitor_with_queue):
    make, ready, event = monitor_with_queue
    before = threading.active_count()
    monitor = make(timeout=60)
    held = [conns() for _ in range(200)]
    for conn in held:
        monitor.park(conn)
    assert threading.active_count() == before + 1
    held[137].peer.sendall(HEAD)
    assert event.wait(2) and ready == [held[137]]


def test_reparking_the_same_connection_rearms_it(conns, monitor_with_queue):
    make, ready, event = monitor_with_queue
    monitor = make(timeout=60)
    conn = conns()
    for round_no in range(5):
        event.clear()
        monitor.park(conn)
        conn.peer.sendall(HEAD)
        assert event.wait(2), round_no
        assert conn.reader.next_event().method == b"GET"
        conn.reader.next_event()  # EndOfMessage
    assert ready == [conn] * 5 and monitor.parks == 5


def test_a_reused_descriptor_is_watched_for_its_new_connection(conns, monitor_with_queue):
    make, ready, event = monitor_with_queue
    monitor = make(timeout=60)
    first = conns()
    monitor.park(first)
    first.peer.sendall(HEAD)
    assert event.wait(2)
    fd = first.fileno()
    first.close()  # closed while disarmed; the OS may hand its number to the next socket
    event.clear()
    for _ in range(20):
        second = conns()
        if second.fileno() == fd:
            break
    monitor.park(second)
    second.peer.sendall(HEAD)
    assert event.wait(2) and ready[-1] is second


def test_a_failing_dispatch_does_not_kill_the_monitor(conns, caplog):
    calls = []
    event = threading.Event()

    def dispatch(conn):
        calls.append(conn)
        if len(calls) == 1:
            raise RuntimeError("boom")
        event.set()

    monitor = Monitor(dispatch, timeout=60, ready=whole_head)
    monitor.start()
    try:
        first, second = conns(), conns()
        monitor.park(first)
        first.peer.sendall(HEAD)
        assert wait_until(lambda: first.closed) and "dispatching" in caplog.text
        monitor.park(second)
        second.peer.sendall(HEAD)
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
    parked[3].peer.sendall(HEAD)  # the rest still come back with a whole head
    assert event.wait(2) and ready == [parked[3]]
    assert monitor.evict_idle(5) == 1 and parked[2].closed and monitor.evicted == 3
    assert monitor.evict_idle(1) == 0 and len(monitor) == 0


def test_part_of_a_head_gets_the_timeout_answer_then_a_lingering_close(conns, monitor_with_queue):
    make, ready, _ = monitor_with_queue
    monitor = make(timeout=60, header_timeout=0.3, drain_gap=5)
    conn = conns()
    started = time.monotonic()
    monitor.wait_head(conn, started)
    conn.peer.sendall(HEAD[:10])
    conn.peer.settimeout(3)
    assert conn.peer.recv(100) == b"ANSWER timeout"
    assert 0.25 < time.monotonic() - started < 2.0  # header_timeout, not the 60 s timeout
    conn.peer.sendall(b"x" * 100_000)  # still sending: read and dropped, no reset
    assert read_all(conn.peer) == b""
    assert monitor.phases()["drain"] == 1
    conn.peer.close()
    assert wait_until(lambda: conn.closed) and ready == [] and monitor.timed_out == 1


def test_the_fin_of_a_lingering_close_goes_out_once_the_drain_holds_it(conns, monitor_with_queue):
    make, _, _ = monitor_with_queue
    monitor = make(timeout=60, header_timeout=0.05, drain_gap=60)
    from_worker, timed_out = conns(FinProbe), conns(FinProbe)
    for conn in (from_worker, timed_out):
        conn.on_fin = lambda: monitor.phases()["drain"]
    monitor.close_gently(from_worker)  # a worker's answer is sent: its lingering close
    assert from_worker.at_fin == 1
    monitor.wait_head(timed_out, time.monotonic())
    timed_out.peer.sendall(HEAD[:10])
    assert read_all(timed_out.peer) == b"ANSWER timeout"  # the 408, then the FIN
    assert timed_out.at_fin == 2 and monitor.phases()["drain"] == 2


def test_a_silent_new_connection_is_closed_without_an_answer(conns, monitor_with_queue):
    make, ready, _ = monitor_with_queue
    monitor = make(timeout=60, header_timeout=0.2)
    conn = conns()
    monitor.wait_head(conn, time.monotonic())
    assert read_all(conn.peer) == b""
    assert conn.closed and ready == []


def test_the_head_deadline_counts_from_its_start(conns, monitor_with_queue):
    make, ready, _ = monitor_with_queue
    monitor = make(timeout=60, header_timeout=0.5)
    late, fresh = conns(), conns()
    now = time.monotonic()
    monitor.wait_head(late, now - 0.4)  # began 0.4 s ago: 0.1 s left
    monitor.wait_head(fresh, now)
    assert wait_until(lambda: late.closed, 0.4)
    assert not fresh.closed
    assert wait_until(lambda: fresh.closed, 1.0)


def test_an_earlier_deadline_wakes_a_waiting_monitor(conns, monitor_with_queue):
    make, _, _ = monitor_with_queue
    monitor = make(timeout=60, header_timeout=0.05)
    time.sleep(0.1)  # the thread now sleeps up to MAX_WAIT_S
    conn = conns()
    started = time.monotonic()
    monitor.wait_head(conn, started)
    assert wait_until(lambda: conn.closed, 0.5)
    assert time.monotonic() - started < 0.3


def test_a_lingering_close_ends_at_eof_at_silence_and_at_its_total(conns, monitor_with_queue):
    make, _, _ = monitor_with_queue
    monitor = make(timeout=60, drain_time=0.6, drain_gap=0.2)
    at_eof, silent, chatty = conns(), conns(), conns()
    for conn in (at_eof, silent, chatty):
        conn.sendall(b"answer")
        monitor.close_gently(conn)
        assert conn.peer.recv(10) == b"answer"
    at_eof.peer.sendall(b"rest of the request")
    at_eof.peer.shutdown(socket.SHUT_WR)
    assert wait_until(lambda: at_eof.closed, 0.15)
    started = time.monotonic()
    while time.monotonic() - started < 1.0 and not chatty.closed:
        chatty.peer.sendall(b"x" * 1000)  # never silent for drain_gap
        time.sleep(0.05)
    assert chatty.closed and 0.4 < time.monotonic() - started < 0.8  # drain_time in all
    assert silent.closed  # drain_gap of silence


def test_the_deadline_heap_stays_bounded(conns, monitor_with_queue):
    make, ready, event = monitor_with_queue
    monitor = make(timeout=600)
    conn = conns()
    for _ in range(3000):  # each park pushes a 600 s deadline that outlives the park
        one_request(monitor, conn, event)
    assert len(monitor._heap) <= 2 * len(monitor) + 1025


def test_a_busy_connection_keeps_one_watch_and_one_heap_entry(conns, monitor_with_queue):
    """Parked after every request, a keep-alive connection reuses its watch and the heap
    entry of its first keep-alive deadline: no allocation, no heap push per request."""
    make, ready, event = monitor_with_queue
    monitor = make(timeout=600)
    conn = conns()
    watches = set()
    for _ in range(50):
        one_request(monitor, conn, event)
        watches.add(id(conn.watch))
    assert len(watches) == 1 and len(monitor._heap) == 1


def test_keep_alive_still_ends_a_connection_whose_entry_came_up_while_it_was_away(
        conns, monitor_with_queue):
    """The heap entry of a connection on a worker comes up and is dropped; parked again,
    the connection gets a new entry, so its keep-alive deadline still closes it."""
    make, ready, event = monitor_with_queue
    monitor = make(timeout=0.3)
    conn = conns()
    one_request(monitor, conn, event)  # on a "worker" now; its 0.3 s entry comes up meanwhile
    time.sleep(0.6)
    monitor.park(conn)
    assert wait_until(lambda: conn.closed, 3)
    assert monitor.closed_idle == 1


def test_keep_alive_still_ends_a_connection_away_while_the_heap_was_rebuilt(
        conns, monitor_with_queue):
    """A rebuilt heap holds only the connections held then; one on a worker gets a new
    entry when it is parked again."""
    make, ready, event = monitor_with_queue
    monitor = make(timeout=0.5)
    conn = conns()
    one_request(monitor, conn, event)
    with monitor._lock:
        monitor._rebuild_heap()  # what 2 x held + 1024 stale entries would trigger
    monitor.park(conn)
    assert wait_until(lambda: conn.closed, 3)
    assert monitor.closed_idle == 1


# -- serving on the monitor's thread ----------------------------------------------------------
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture(params=["native", "selectors"])
def inline_monitor(request):
    """``make(serve)``: a started Monitor serving on its thread with ``serve(conn)`` while
    ``saturation.cpu_bound``; returns (monitor, saturation, dispatched)."""
    made = []

    def make(serve, cpu_bound=True):
        poller = make_poller() if request.param == "native" else fallback_poller()
        saturation = SimpleNamespace(cpu_bound=cpu_bound)
        dispatched = []
        m = Monitor(dispatched.append, poller=poller, ready=whole_head, timeout=60,
                    serve_here=serve, saturation=saturation)
        m.start()
        m.tick()
        made.append(m)
        return m, saturation, dispatched

    yield make
    for m in made:
        m.stop()


def respond(conn):
    """What a worker does with one request: consume it and respond."""
    assert conn.reader.next_event().method == b"GET"
    conn.reader.next_event()  # EndOfMessage
    conn.sendall(RESPONSE)


def read_response(sock):
    sock.settimeout(3)
    data = b""
    while not data.endswith(b"ok"):
        chunk = sock.recv(4096)
        assert chunk, "closed before the response"
        data += chunk
    return data


def test_whole_requests_are_served_on_the_monitor_thread_while_saturated(conns, inline_monitor):
    threads = []

    def serve(conn):
        threads.append(threading.current_thread().name)
        respond(conn)
        return True  # park it idle again

    monitor, _, dispatched = inline_monitor(serve)
    assert monitor.inline
    clients = [conns() for _ in range(3)]
    for conn in clients:
        monitor.park(conn)
    for _ in range(3):  # the same connections again: each is re-armed after its request
        for conn in clients:
            conn.peer.sendall(HEAD)
        for conn in clients:
            assert read_response(conn.peer) == RESPONSE
    assert threads == ["rocket-monitor"] * 9 and dispatched == []
    assert monitor.served_here == 9
    assert wait_until(lambda: monitor.phases()["idle"] == 3 and monitor.serving == 0)


def test_requests_go_to_the_pool_unless_saturated(conns, inline_monitor):
    served = []
    monitor, saturation, dispatched = inline_monitor(served.append, cpu_bound=False)
    assert not monitor.inline
    conn = conns()
    monitor.park(conn)
    conn.peer.sendall(HEAD)
    assert wait_until(lambda: dispatched == [conn])
    assert served == [] and monitor.served_here == 0
    saturation.cpu_bound = True
    monitor.tick()
    assert monitor.inline


def test_a_connection_the_worker_kept_is_not_parked_again(conns, inline_monitor):
    """serve_here returning False: the connection went elsewhere (closed, or to the pool)."""
    def serve(conn):
        respond(conn)
        conn.close()
        return False

    monitor, _, _ = inline_monitor(serve)
    conn = conns()
    monitor.park(conn)
    conn.peer.sendall(HEAD)
    assert read_response(conn.peer) == RESPONSE
    assert wait_until(lambda: monitor.served_here == 1 and monitor.serving == 0)
    assert len(monitor) == 0


def test_a_slow_request_hands_the_polling_over_with_the_rest_of_its_batch(conns, inline_monitor):
    """A request served here blocks: at the next tick a new thread polls, the events its
    thread took but had not begun fire again for the new one (which hands them to the pool,
    serving here being off for a while), and the old thread ends once its request is done."""
    gates = {}
    started = threading.Event()

    def serve(conn):
        gate = gates.get(conn)
        if gate is not None:
            started.set()
            assert gate.wait(10)
        respond(conn)
        return True

    monitor, _, dispatched = inline_monitor(serve)
    first = conns()
    gates[first] = threading.Event()
    monitor.park(first)
    first.peer.sendall(HEAD)
    assert started.wait(3)  # the monitor thread is held: what comes now waits in the kernel
    started.clear()
    batch = [conns() for _ in range(5)]
    slow = threading.Event()
    for conn in batch:
        gates[conn] = slow  # whichever the next poll serves first blocks
        conn.peer.sendall(HEAD)
        monitor.park(conn)
    gates[first].set()
    assert read_response(first.peer) == RESPONSE
    assert started.wait(3)  # the next poll took the five together; the first of them blocks
    blocked = [conn for conn in batch if conn not in dispatched]
    old = monitor._thread
    time.sleep(monitor_module.INLINE_STALL_S + 0.01)
    monitor.tick()
    assert monitor.takeovers == 1 and not monitor.inline
    assert monitor._thread is not old and monitor._thread.is_alive()
    assert wait_until(lambda: len(dispatched) == 4), dispatched
    blocked = [conn for conn in batch if conn not in dispatched]
    assert len(blocked) == 1
    slow.set()
    assert read_response(blocked[0].peer) == RESPONSE
    old.join(3)
    assert not old.is_alive()
    # The new thread polls on: the slow connection was parked again, and now goes to the pool.
    blocked[0].peer.sendall(HEAD)
    assert wait_until(lambda: len(dispatched) == 5 and dispatched[-1] is blocked[0])
    assert monitor.serving == 0


def blocking(inline_monitor, block_on=1):
    """A monitor serving on its thread, whose ``block_on``-th request there blocks until
    ``release`` is set (``started`` is set when it does): (monitor, dispatched, calls,
    started, release)."""
    calls = []
    release = threading.Event()
    started = threading.Event()

    def serve(conn):
        calls.append(conn)
        if len(calls) == block_on:
            started.set()
            assert release.wait(10)
        respond(conn)
        return True

    monitor, _, dispatched = inline_monitor(serve)
    return monitor, dispatched, calls, started, release


def one_blocked_request(inline_monitor, conns):
    """A connection whose first request blocks on the monitor's thread: (monitor, conn,
    release)."""
    monitor, _, _, started, release = blocking(inline_monitor)
    conn = conns()
    monitor.park(conn)
    conn.peer.sendall(HEAD)
    assert started.wait(3)
    return monitor, conn, release


def test_serving_here_comes_back_after_the_backoff(conns, inline_monitor, monkeypatch):
    monkeypatch.setattr(monitor_module, "INLINE_BACKOFF_S", 0.05)
    monitor, conn, release = one_blocked_request(inline_monitor, conns)
    time.sleep(monitor_module.INLINE_STALL_S + 0.01)
    monitor.tick()
    assert not monitor.inline and monitor.takeovers == 1
    monitor.tick()  # still within the backoff
    assert not monitor.inline
    release.set()
    assert read_response(conn.peer) == RESPONSE
    time.sleep(0.06)
    monitor.tick()
    assert monitor.inline


def test_stop_while_serving_here_closes_the_connection_after_its_request(conns, inline_monitor):
    monitor, conn, release = one_blocked_request(inline_monitor, conns)
    assert monitor.serving == 1
    stopper = threading.Thread(target=monitor.stop, kwargs={"timeout": 5})
    stopper.start()
    release.set()
    stopper.join(5)
    assert read_response(conn.peer) == RESPONSE
    assert conn.closed and monitor.serving == 0


def cpu_while_sleeping(seconds):
    """CPU seconds this process used while the test slept ``seconds``: a monitor thread
    polling a descriptor that is readable at every poll burns about all of them."""
    before = time.process_time()
    time.sleep(seconds)
    return time.process_time() - before


def test_a_connection_armed_for_good_is_disarmed_when_its_request_is_handed_over(
        conns, inline_monitor):
    """Served here once, a plain connection stays armed (no system call per request); when
    a slow request of it hands the polling over, its descriptor is disarmed, so the new thread
    does not find it readable at every poll while the old one still serves it."""
    monitor, dispatched, calls, started, gate = blocking(inline_monitor, block_on=2)
    conn = conns()
    monitor.park(conn)
    conn.peer.sendall(HEAD)
    assert read_response(conn.peer) == RESPONSE
    assert wait_until(lambda: monitor.phases()["idle"] == 1)
    native = monitor._modify is not None
    assert conn.watch.always is native
    conn.peer.sendall(HEAD)
    assert started.wait(3)
    conn.peer.sendall(b"GET /next")  # readable while its request is served: must not spin
    time.sleep(monitor_module.INLINE_STALL_S + 0.01)
    monitor.tick()
    assert monitor.takeovers == 1 and not conn.watch.always
    assert cpu_while_sleeping(0.3) < 0.1, "the new monitor thread spins"
    gate.set()
    assert read_response(conn.peer) == RESPONSE
    assert wait_until(lambda: monitor.phases()["head"] == 1)  # "GET /next" waits for the rest
    assert dispatched == [] and len(calls) == 2


def test_a_connection_armed_for_good_is_disarmed_before_a_pool_thread_takes_it(
        conns, inline_monitor):
    monitor, saturation, dispatched = inline_monitor(lambda conn: respond(conn) or True)
    conn = conns()
    monitor.park(conn)
    conn.peer.sendall(HEAD)
    assert read_response(conn.peer) == RESPONSE
    assert wait_until(lambda: monitor.phases()["idle"] == 1)
    saturation.cpu_bound = False
    monitor.tick()  # no longer saturated: the next request goes to the pool
    conn.peer.sendall(HEAD)
    assert wait_until(lambda: dispatched == [conn])
    assert not conn.watch.always
    conn.peer.sendall(b"GET /next")  # readable while a pool thread holds it: no event here
    assert cpu_while_sleeping(0.3) < 0.1, "the monitor thread spins"


def test_an_idle_tick_keeps_the_mode_and_load_decides_it(conns, inline_monitor):
    """A pause between bursts (nothing polled, nothing served, the pool not saturated) leaves
    serving here on, so the next burst does not start on the pool; load that leaves the lock
    unsaturated (an application waiting on I/O) turns it off at the next tick."""
    monitor, saturation, dispatched = inline_monitor(lambda conn: respond(conn) or True)
    assert monitor.inline
    saturation.cpu_bound = False
    monitor.tick()
    monitor.tick()
    assert monitor.inline  # idle: no reason to change
    conn = conns()
    monitor.park(conn)
    conn.peer.sendall(HEAD)
    assert read_response(conn.peer) == RESPONSE
    assert monitor.served_here == 1 and dispatched == []
    monitor.tick()  # served here while the lock was not saturated: back to the pool
    assert not monitor.inline
    monitor.tick()
    assert not monitor.inline  # idle again: stays off
    conn.peer.sendall(HEAD)
    assert wait_until(lambda: dispatched == [conn])
