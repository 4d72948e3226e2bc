"""The servers ``compare`` knows, and a server process it can start, measure and always stop.

Each server runs in its own session (process group), so stopping it reaches every worker it
forked: SIGTERM to the group, then SIGKILL to whatever is left after a grace period. Every
started server is tracked until stopped, and ``stop_all()`` (also run at exit) stops the rest.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Dict, List, Optional, Tuple

from rocket.bench.fetch import fetch
from rocket.bench.target import Target

APP = "rocket.bench.apps:app"
_SERVE = ["{python}", "-m", "rocket.bench.serve"]


class ServerSpec:
    """How to start one server: the module it needs and its command line template."""

    def __init__(self, name: str, module: str, argv: List[str], note: str) -> None:
        self.name = name
        self.module = module
        self.argv = argv
        self.note = note

    def available(self) -> bool:
        """True when the server's package can be imported by this interpreter."""
        try:
            return importlib.util.find_spec(self.module) is not None
        except (ImportError, ValueError):
            return False

    def command(self, port: int, threads: int) -> List[str]:
        """The argv that serves the benchmark app on 127.0.0.1:``port``."""
        fill = {"python": sys.executable, "port": str(port), "threads": str(threads),
                "app": APP}
        return [part.format(**fill) for part in self.argv]


def _launcher(kind: str, threads: bool = True) -> List[str]:
    extra = ["--threads", "{threads}"] if threads else []
    return _SERVE + [kind, "--port", "{port}"] + extra


SERVERS: Dict[str, ServerSpec] = {s.name: s for s in (
    ServerSpec("rocket", "rocket", _launcher("rocket", threads=False),
               "this Rocket with its defaults: Rocket((host, port), 'wsgi', app_info)"),
    ServerSpec("waitress", "waitress", _launcher("waitress"),
               "pure Python, asyncore loop + {threads} threads"),
    ServerSpec("cheroot", "cheroot", _launcher("cheroot"),
               "pure Python (CherryPy), {threads} threads"),
    ServerSpec("gunicorn-gthread", "gunicorn",
               ["{python}", "-m", "gunicorn", "-b", "127.0.0.1:{port}", "-w", "1", "-k",
                "gthread", "--threads", "{threads}", "--backlog", "1024", "--keep-alive", "10",
                "--log-level", "warning", "{app}"],
               "pure Python, 1 worker (+ arbiter), gthread {threads} threads"),
    ServerSpec("rocket3", "rocket3", _launcher("rocket3"),
               "pure Python (web2py's Rocket), fixed pool of {threads} threads"),
    ServerSpec("granian", "granian",
               ["{python}", "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1",
                "--port", "{port}", "--workers", "1", "--runtime-threads", "1",
                "--blocking-threads", "{threads}", "--http", "1", "--no-ws", "--backlog",
                "1024", "--log-level", "warning", "{app}"],
               "Rust core, 1 worker, {threads} blocking threads"),
    ServerSpec("meinheld", "meinheld", _launcher("meinheld", threads=False),
               "C (picoev) event loop, single thread"),
    ServerSpec("bjoern", "bjoern", _launcher("bjoern", threads=False),
               "C (libev) event loop, single thread"),
    ServerSpec("wsgiref", "wsgiref", _launcher("wsgiref", threads=False),
               "stdlib wsgiref, thread per connection, no keep-alive (not in the default set)"),
)}

DEFAULT_SERVERS = [n for n in SERVERS if n != "wsgiref"]
"""Rocket and every peer the issue names; peers not installed are skipped."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def taskset_prefix(cpus: Optional[str]) -> List[str]:
    """``["taskset", "-c", cpus]`` when pinning was asked for and taskset is installed."""
    if cpus and shutil.which("taskset"):
        return ["taskset", "-c", cpus]
    return []


_RUNNING: set = set()


class ServerProcess:
    """One started server; ``stop()`` is idempotent and always leaves nothing running."""

    def __init__(self, spec: ServerSpec, threads: int = 32, cpus: Optional[str] = None,
                 log_path: Optional[str] = None, tls: bool = False) -> None:
        self.spec = spec
        self.tls = tls
        self.port = free_port()
        self.argv = taskset_prefix(cpus) + spec.command(self.port, threads)
        self.log_path = log_path or os.devnull
        self.proc: Optional[subprocess.Popen] = None

    def start(self, ready_timeout_s: float = 20.0) -> bool:
        """Start the server and wait until ``GET /`` answers 200; False if it never does."""
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
        _RUNNING.add(self)
        target = Target("127.0.0.1", self.port, b"/", tls=self.tls)
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                r = fetch(target, timeout_s=2.0, verify=False)
                if r.complete and r.response is not None and r.response.status == 200:
                    return True
            except Exception:  # noqa: BLE001 - not up yet, or answering garbage: retry
                pass
            time.sleep(0.05)
        return False

    def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM the server's process group, SIGKILL it after ``grace_s``."""
        proc, self.proc = self.proc, None
        _RUNNING.discard(self)
        if proc is None:
            return
        _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            proc.poll()
            if not _group_alive(proc.pid, proc):
                break
            time.sleep(0.05)
        else:
            _signal_group(proc.pid, signal.SIGKILL)
        try:
            proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 5.0  # forked workers may take a moment to die
        while _group_alive(proc.pid, proc) and time.monotonic() < deadline:
            time.sleep(0.02)

    def pids(self) -> List[int]:
        """PIDs of the server's process group (Linux /proc; empty elsewhere)."""
        if self.proc is None:
            return []
        return _group_pids(self.proc.pid)

    def usage(self) -> Tuple[float, float]:
        """(CPU seconds used so far, summed peak RSS in MiB) of the process group."""
        ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        cpu = 0.0
        rss_kib = 0
        for pid in self.pids():
            st = _stat_fields(pid)
            if st is not None:
                cpu += (int(st[11]) + int(st[12])) / ticks
            rss_kib += _status_kib(pid, "VmHWM")
        return cpu, rss_kib / 1024.0


def _stat_fields(pid: int) -> Optional[List[str]]:
    """Fields of /proc/PID/stat after the command name (field 3 = index 0)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("latin-1")
    except OSError:
        return None
    return data[data.rindex(")") + 2:].split()


def _status_kib(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _group_pids(pgid: int) -> List[int]:
    if not os.path.isdir("/proc"):
        return []
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat_fields(int(name))
            if st is not None and int(st[2]) == pgid and st[0] != "Z":
                out.append(int(name))
    return out


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int, leader: subprocess.Popen) -> bool:
    """True while any process of the group is alive (zombies do not count)."""
    if not os.path.isdir("/proc"):
        return leader.poll() is None
    return bool(_group_pids(pgid))


def stop_all() -> None:
    """Stop every server this process started and has not stopped yet."""
    for server in list(_RUNNING):
        server.stop(grace_s=2.0)


atexit.register(stop_all)
