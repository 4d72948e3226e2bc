"""Hand-written fakes for the server tests."""

from __future__ import annotations

import threading


class FailingThreadFactory:
    """Starts ``allowed`` threads, then fails as under a pids limit."""

    def __init__(self, allowed):
        self.allowed = allowed
        self.calls = 0

    def __call__(self, **kwargs):
        self.calls += 1
        if self.calls > self.allowed:
            raise RuntimeError("can't start new thread")
        return threading.Thread(**kwargs)
