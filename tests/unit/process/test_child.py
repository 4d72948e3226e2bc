"""The worker-process side: progress for the heartbeat, and the accept balancer (the drain it
runs is the server's: tests/unit/server/test_lifecycle.py)."""

from __future__ import annotations

from rocket.process.child import AcceptBalancer, Progress
from rocket.process.scoreboard import Board


def test_progress_idle_counts_as_progress_busy_without_change_does_not():
    progress = Progress(now=0.0)
    assert progress.update(1.0, requests=0, handled=0, busy=0, queued=0) == 1.0
    assert progress.update(2.0, requests=5, handled=1, busy=1, queued=0) == 2.0
    assert progress.update(3.0, requests=5, handled=1, busy=1, queued=0) == 2.0   # stuck
    assert progress.update(4.0, requests=5, handled=1, busy=0, queued=1) == 2.0   # stuck
    assert progress.update(5.0, requests=6, handled=1, busy=1, queued=0) == 5.0


def test_progress_counts_body_bytes_moved_by_a_long_transfer():
    progress = Progress(now=0.0)
    assert progress.update(1.0, 3, 1, busy=1, queued=0, bytes_moved=100) == 1.0
    assert progress.update(2.0, 3, 1, busy=1, queued=0, bytes_moved=300) == 2.0   # moving
    assert progress.update(3.0, 3, 1, busy=1, queued=0, bytes_moved=300) == 2.0   # stalled


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_accept_balancer_steps_back_when_ahead_but_only_briefly():
    board = Board(entries=4)
    clock = FakeClock()
    mine = {"count": 0}
    balancer = AcceptBalancer(board, 0, lambda: mine["count"], slack=1, max_defer_s=0.01,
                              clock=clock)
    try:
        assert balancer.has_room()                 # alone: always
        board.set(2, 0)                            # a sibling with no connection
        mine["count"] = 1
        assert balancer.has_room()                 # within the slack
        mine["count"] = 3
        assert not balancer.has_room()             # ahead: let the sibling accept
        assert board.counts()[0] == 3              # and our count is published
        clock.now += 0.005
        assert not balancer.has_room()
        clock.now += 0.006
        assert balancer.has_room()                 # never more than max_defer_s
        board.set(2, 5)
        assert balancer.has_room()
        full = AcceptBalancer(board, 0, lambda: 0, has_room=lambda: False)
        assert not full.has_room()                 # the pool's own limit still applies
    finally:
        board.close()
