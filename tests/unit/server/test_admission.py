"""Admission: room below the limit, eviction at it, one pause and one recovery line."""

from __future__ import annotations

import errno
import logging
import resource

from rocket.server.admission import (
    EMFILE_EVICT,
    FD_RESERVE,
    Admission,
    default_max_connections,
    raise_fd_limit,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


class Load:
    """Open connections, of which ``idle`` may be evicted; the queue's room."""

    def __init__(self, open_count: int, idle: int) -> None:
        self.open = open_count
        self.idle = idle
        self.queue_room = True

    def evict(self, count: int) -> int:
        evicted = min(count, self.idle)
        self.idle -= evicted
        self.open -= evicted
        return evicted


def admission(load: Load, limit: int = 10, clock: FakeClock = None) -> Admission:
    return Admission(limit, lambda: load.open, lambda: load.idle, load.evict,
                     lambda: load.queue_room, clock=clock or FakeClock())


def pause_lines(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "Rocket.Errors.Admission"]


def test_room_below_the_limit_and_eviction_at_it_only_for_an_accepted_client():
    load = Load(open_count=9, idle=3)
    gate = admission(load)
    assert gate.has_room() and gate.evictions == 0
    gate.make_room()  # the 10th connection: below the limit, nothing to close
    load.open = 10
    assert gate.evictions == 0 and load.idle == 3
    assert gate.has_room() and gate.evictions == 0  # an idle one can go: accept
    gate.make_room()
    assert load.open == 9 and load.idle == 2 and gate.evictions == 1
    assert not gate.paused


def test_at_the_limit_with_none_to_evict_the_new_connection_is_refused(caplog):
    """The listener may have waited in accept() while the last idle connection got busy: the
    connection it then accepts is refused rather than let in over max_connections."""
    load = Load(open_count=10, idle=0)
    gate = admission(load)
    with caplog.at_level(logging.WARNING, "Rocket.Errors.Admission"):
        assert gate.make_room() is False
        assert gate.make_room() is False
    assert gate.refused == 2 and gate.evictions == 0 and load.open == 10
    lines = pause_lines(caplog)
    assert len(lines) == 1 and "a new connection was closed" in lines[0]  # rate-limited
    load.idle = 1
    assert gate.make_room() is True and gate.evictions == 1 and gate.refused == 2
    load.open = 5
    assert gate.make_room() is True  # below the limit: nothing to do


def test_make_room_counts_again_only_near_the_limit_or_without_has_room_before_it():
    """After has_room() found room beyond the one connection accepted next, make_room()
    trusts that count (one non-blocking accept() came between); with room for that one
    only, or a second make_room() after one has_room(), it counts again."""
    load = Load(open_count=3, idle=0)
    counts = []
    gate = Admission(10, lambda: counts.append(load.open) or load.open, lambda: load.idle,
                     load.evict, lambda: load.queue_room, clock=FakeClock())
    assert gate.has_room() and counts == [3]
    assert gate.make_room() is True and counts == [3]  # not counted again
    load.open = 10  # say other listeners filled up meanwhile: the next one counts
    assert gate.make_room() is False and counts == [3, 10] and gate.refused == 1
    load.open = 9
    assert gate.has_room() and counts == [3, 10, 9]
    load.open = 10  # became full between has_room() and make_room(): seen
    assert gate.make_room() is False and counts == [3, 10, 9, 10] and gate.refused == 2
    load.open, load.idle = 9, 0
    assert gate.has_room() and gate.make_room() is True and counts[-2:] == [9, 9]


def test_no_idle_connection_pauses_once_and_recovers_once(caplog):
    clock = FakeClock()
    load = Load(open_count=10, idle=0)
    gate = admission(load, clock=clock)
    with caplog.at_level(logging.WARNING, "Rocket.Errors.Admission"):
        for _ in range(100):
            assert not gate.has_room()
            clock.now += 0.01
        assert gate.paused and abs(gate.paused_s - 1.0) < 1e-6
        load.open = 9
        assert gate.has_room() and not gate.paused
        clock.now += 5
        assert abs(gate.paused_s - 1.0) < 1e-6  # no longer growing
    lines = pause_lines(caplog)
    assert len(lines) == 2
    assert "max_connections (10) reached" in lines[0] and "after 1.00s" in lines[1]


def test_a_full_work_queue_pauses_too(caplog):
    load = Load(open_count=1, idle=1)
    load.queue_room = False
    gate = admission(load)
    assert not gate.has_room() and gate.evictions == 0
    assert "queue_size" in pause_lines(caplog)[0]


def test_emfile_evicts_a_batch_or_pauses_until_an_accept_succeeds():
    clock = FakeClock()
    load = Load(open_count=100, idle=EMFILE_EVICT + 4)
    gate = admission(load, limit=1000, clock=clock)
    emfile = OSError(errno.EMFILE, "Too many open files")
    assert gate.out_of_descriptors(emfile) and gate.evictions == EMFILE_EVICT
    assert gate.out_of_descriptors(emfile) and gate.evictions == EMFILE_EVICT + 4
    assert not gate.out_of_descriptors(emfile) and gate.paused
    clock.now += 0.5
    assert gate.has_room() and gate.paused  # below the limit, but only an accept proves room
    gate.recovered()
    assert not gate.paused and abs(gate.paused_s - 0.5) < 1e-6


def test_default_max_connections_keeps_a_reserve():
    assert default_max_connections(1 << 20, 128) == (1 << 20) - FD_RESERVE - 128
    assert default_max_connections(1024, 128) == 1024 - FD_RESERVE - 128
    assert default_max_connections(256, 128) == 128  # never below half


def test_raise_fd_limit_lifts_the_soft_limit_to_the_hard_one():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowered = min(soft, 512)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowered, hard))
    try:
        limit = raise_fd_limit()
        now_soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        assert limit == now_soft
        if hard != resource.RLIM_INFINITY:
            assert now_soft == hard
        assert limit >= lowered
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
