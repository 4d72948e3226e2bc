"""Faults the fleet tests inject and what they measure about them."""

from __future__ import annotations

import socket
import threading
import time
from typing import Callable, List, Set

from tests.fleet import netns
from tests.fleet.hosts import PORT, Host


def freeze_host(balancer_ns: str, host: Host, workers: int = 2, timeout: float = 10.0) -> Set[int]:
    """Hang the app in every worker of ``host``: ``GET /freeze`` straight to the host (not
    through the balancer) until ``workers`` distinct processes said they froze; the pids."""
    frozen: Set[int] = set()
    held: List[socket.socket] = []

    def run() -> None:
        netns.enter(balancer_ns)
        deadline = time.monotonic() + timeout
        while len(frozen) < workers and time.monotonic() < deadline:
            s = socket.create_connection((host.address, PORT), timeout=2)
            held.append(s)  # a request that hangs keeps its socket until the end
            s.settimeout(0.5)
            s.sendall(b"GET /freeze HTTP/1.1\r\nHost: fleet\r\nConnection: close\r\n\r\n")
            data = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except socket.timeout:
                continue  # that process was frozen already
            words = data.split(b"\r\n\r\n", 1)[-1].split()
            if words[:1] == [b"frozen"]:
                frozen.add(int(words[2]))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout + 5)
    for s in held:
        s.close()
    return frozen


class Sampler:
    """Calls ``read()`` every ``period_s`` in a thread and keeps the largest value."""

    def __init__(self, read: Callable[[], int], period_s: float = 0.02) -> None:
        self.read = read
        self.period_s = period_s
        self.largest = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self.largest = self.read()
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.largest = max(self.largest, self.read())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
