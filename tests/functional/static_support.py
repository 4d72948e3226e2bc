"""Helpers for the static-file functional tests: pattern files, a server in its own process
(to read its memory) and that memory."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
from typing import Iterator, Tuple

MiB = 1024 * 1024
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_pattern_file(path: str, size: int) -> str:
    """Write ``size`` bytes of a non-repeating-per-MiB pattern; returns the sha256 hex."""
    block = hashlib.sha256(b"seed").digest() * (MiB // 32)
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        remaining = size
        n = 0
        while remaining:
            chunk = (n.to_bytes(8, "big") + block)[: min(MiB, remaining)]
            f.write(chunk)
            digest.update(chunk)
            remaining -= len(chunk)
            n += 1
    return digest.hexdigest()


SERVER_SCRIPT = """
import sys, time
from rocket import Rocket
root, tls = sys.argv[1], sys.argv[2:]
server = Rocket(("127.0.0.1", 0, *tls), "fs", {"document_root": root}, handle_signals=False,
                access_log=False)
server.start(background=True)
print(server.ports[0], flush=True)
sys.stdin.read()   # the test closes stdin to stop us
server.stop()
"""


@contextlib.contextmanager
def subprocess_server(root: str, tls: Tuple[str, ...] = ()) -> Iterator[Tuple[int, int]]:
    """An ``fs`` server in its own process (so its memory can be read); yields (pid, port)."""
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER_SCRIPT, root, *tls],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    try:
        line = proc.stdout.readline()
        assert line, "server process did not start"
        yield proc.pid, int(line)
    finally:
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        proc.stdout.close()


def memory_kib(pid: int) -> Tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB, from /proc/<pid>/status."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]
