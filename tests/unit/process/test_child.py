"""The worker-process side: the accept balancer (the progress its heartbeat publishes:
tests/unit/workers/test_progress.py; the drain it runs: tests/unit/server/test_lifecycle.py)."""

from __future__ import annotations

from rocket.process.child import AcceptBalancer
from rocket.process.scoreboard import Board


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
