"""Hand-written fakes for the arbiter tests: a clock, worker processes that record the
signals sent to them, and an arbiter that spawns those instead of forking."""

from __future__ import annotations

import random

from rocket.process.arbiter import Arbiter
from rocket.process.scoreboard import Slot
from rocket.process.supervision import WorkerProcess


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TickingClock(FakeClock):
    """A clock that moves on by ``step_s`` each time it is read."""

    def __init__(self, step_s: float) -> None:
        super().__init__()
        self.step_s = step_s

    def __call__(self) -> float:
        self.now += self.step_s
        return self.now


class FakeWorker(WorkerProcess):
    """Records the signals sent to it; ``exits_on``: the signals it exits on (reaped then)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list = []
        self.exits_on: set = set()

    def send(self, signum: int) -> None:
        self.sent.append(signum)


def unused(*args):
    raise AssertionError("not called when nothing forks")


class FakeArbiter(Arbiter):
    """Spawns FakeWorkers with real slots and made-up pids; never forks or signals."""

    def __init__(self, clock: FakeClock, **settings) -> None:
        settings.setdefault("workers", 2)
        super().__init__(lambda: None, settings, build_server=unused, describe=unused,
                         clock=clock, rng=random.Random(7))
        self._next_pid = 50000
        self.spawned: list = []

    def spawn(self):
        self._next_pid += 1
        worker = FakeWorker(self._next_pid, Slot(self.clock), self.generation, self.clock())
        self.workers[worker.pid] = worker
        self.spawned.append(worker)
        return worker

    def reap(self) -> None:
        """Forget the workers sent a signal they exit on (the real one waits for children)."""
        for worker in list(self.workers.values()):
            if worker.exits_on.intersection(worker.sent):
                del self.workers[worker.pid]
