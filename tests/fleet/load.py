"""A bounded load through a balancer: ``connections`` threads inside the balancer's namespace,
each one keep-alive connection sending GET requests back to back for ``seconds`` (and at most
``max_requests`` each). Every request that does not end in a 200 is a failure; nothing is
retried by the client, so a failure counted here is one a user would have seen."""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from typing import List, Optional, Tuple

from tests.fleet import netns


class Load:
    """Start with :meth:`start`, read :meth:`in_flight` meanwhile, :meth:`join` at the end."""

    def __init__(self, ns: str, port: int, path: str = "/work?ms=10", connections: int = 16,
                 seconds: float = 20.0, max_requests: int = 20_000,
                 timeout_s: float = 15.0) -> None:
        self.ns = ns
        self.port = port
        self.path = path
        self.seconds = seconds
        self.max_requests = max_requests
        self.timeout_s = timeout_s
        self.ok = 0
        self.served_by: Counter = Counter()
        self.failures: List[Tuple[float, str]] = []
        self.busy: List[Optional[float]] = [None] * connections
        self.lock = threading.Lock()
        self.stop_at = 0.0
        self.threads = [threading.Thread(target=self._loop, args=(i,), daemon=True,
                                         name=f"fleet-load-{i}") for i in range(connections)]

    def start(self) -> Load:
        """Begin sending; returns self."""
        self.stop_at = time.monotonic() + self.seconds
        for t in self.threads:
            t.start()
        return self

    def _loop(self, index: int) -> None:
        netns.enter(self.ns)
        conn: Optional[http.client.HTTPConnection] = None
        for _ in range(self.max_requests):
            if time.monotonic() >= self.stop_at:
                break
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout_s)
            self.busy[index] = time.monotonic()
            try:
                conn.request("GET", self.path)
                resp = conn.getresponse()
                body = resp.read().decode()
                if resp.status != 200:
                    raise AssertionError(f"status {resp.status}: {body[:200]!r}")
                if resp.will_close:
                    conn.close()
                    conn = None
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                with self.lock:
                    self.failures.append((time.monotonic(), repr(exc)))
                conn.close()
                conn = None
            else:
                with self.lock:
                    self.ok += 1
                    self.served_by[body.split()[0]] += 1
            finally:
                self.busy[index] = None
        if conn is not None:
            conn.close()

    def in_flight(self) -> int:
        """Requests sent and not yet answered, on every host together."""
        return sum(1 for b in self.busy if b is not None)

    def join(self) -> Load:
        """Wait for every thread (bounded: the duration plus one request timeout)."""
        for t in self.threads:
            t.join(max(0.0, self.stop_at - time.monotonic()) + self.timeout_s + 5)
        assert not any(t.is_alive() for t in self.threads), "load threads did not finish"
        return self

    def summary(self) -> str:
        """One line: answered, failed and per-host counts."""
        return (f"{self.ok} ok, {len(self.failures)} failed, by host {dict(self.served_by)}; "
                f"first failures: {[f for _, f in self.failures[:3]]}")
