"""One fleet host: ``rocket --workers 2`` inside its own network namespace, with its log read
live so a test can wait for a reload or a replacement to finish."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from typing import List, Sequence, Tuple

from tests.fleet import netns

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PORT = 8000
BOOTED = re.compile(r"Booted worker process (\d+) \(generation (\d+)\)")
EXITED = re.compile(r"Worker (\d+) (exited|killed|died)")

# The host settings of docs/deploy/haproxy.cfg's comment, but --worker-timeout 6 (the hung-app
# test would wait 30 s) and --graceful-timeout 10 (the requests here last 10 ms). As with 30 s,
# worker_timeout outlasts the 5.5 s haproxy has to mark a hung host down (test_haproxy's
# down_within_s): with 2 s, the workers were sometimes replaced before the second failed
# check, and the host never went down.
ROCKET_ARGS = ("--workers", "2", "--threads", "4:8", "--keep-alive", "75",
               "--graceful-timeout", "10", "--worker-timeout", "6",
               "--max-requests", "20000", "--max-requests-jitter", "2000")


class Host:
    """``rocket ROCKET_ARGS tests.fleet.fleet_app:app`` in namespace ``ns`` on ``address``."""

    def __init__(self, name: str, ns: str, address: str,
                 extra_args: Sequence[str] = ()) -> None:
        self.name = name
        self.ns = ns
        self.address = address
        self.extra_args = tuple(extra_args)
        self.lines: List[Tuple[float, str]] = []
        self._cond = threading.Condition()
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> Host:
        """Launch the arbiter and wait until both workers booted."""
        since = time.monotonic()
        env = dict(os.environ, PYTHONPATH=ROOT, PYTHONUNBUFFERED="1", FLEET_HOST=self.name)
        env = {k: v for k, v in env.items() if not k.startswith("ROCKET_")}
        cmd = ["ip", "netns", "exec", self.ns, sys.executable, "-m", "rocket", *ROCKET_ARGS,
               *self.extra_args, "--bind", f"{self.address}:{PORT}", "--access-log", "off",
               "--log-level", "info", "tests.fleet.fleet_app:app"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
        self.wait_for(BOOTED, count=2, since=since, timeout=timeout)
        return self

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._cond:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, regex: re.Pattern, count: int = 1, since: float = 0.0,
                 timeout: float = 20.0) -> List[re.Match]:
        """The first ``count`` matches of ``regex`` logged after ``since``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for t, line in self.lines if t >= since
                         for m in [regex.search(line)] if m]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.name}: {regex.pattern!r} x{count} not logged "
                                         f"in {timeout}s:\n{self.log()}")
                self._cond.wait(min(left, 0.1))

    def log(self) -> str:
        """Everything the host logged so far."""
        with self._cond:
            return "\n".join(line for _, line in self.lines)

    def reload(self, timeout: float = 30.0) -> float:
        """SIGHUP, then wait until the new workers booted and the old ones exited; seconds."""
        assert self.proc is not None
        since = time.monotonic()
        old = self.current_workers()
        self.proc.send_signal(signal.SIGHUP)
        self.wait_for(BOOTED, count=2, since=since, timeout=timeout)
        for pid in old:
            self.wait_for(re.compile(rf"Worker {pid} (exited|killed|died)"), since=since,
                          timeout=timeout)
        return time.monotonic() - since

    def current_workers(self) -> List[int]:
        """Pids of the workers booted and not yet gone, from the log."""
        with self._cond:
            text = [line for _, line in self.lines]
        booted = [int(m.group(1)) for line in text for m in [BOOTED.search(line)] if m]
        gone = {int(m.group(1)) for line in text for m in [EXITED.search(line)] if m}
        return [pid for pid in booted if pid not in gone]

    def kill(self) -> List[int]:
        """SIGKILL the whole host, arbiter and workers at once; returns the pids killed."""
        killed = netns.kill_all(self.ns)
        if self.proc is not None:
            self.proc.wait(10)
        return killed

    def stop(self) -> None:
        """Stop whatever runs in the namespace (SIGTERM, then SIGKILL after 10 s)."""
        netns.kill_all(self.ns, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while netns.pids(self.ns) and time.monotonic() < deadline:
            time.sleep(0.05)
        netns.kill_all(self.ns)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(10)
