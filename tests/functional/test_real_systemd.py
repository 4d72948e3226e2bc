"""systemd socket activation and notifications (docs/deploy.md "systemd"):
``systemd-socket-activate`` starts the documented ``ExecStart`` with ``LISTEN_FDS`` for the
documented ``ListenStream``; Rocket serves on the inherited socket and sends READY=1,
WATCHDOG=1, RELOADING=1 then READY=1 on SIGHUP, and STOPPING=1 on SIGTERM to a datagram
``NOTIFY_SOCKET`` the test holds."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import sys
import time
from typing import List

from tests.functional.programs import doc_block, free_port, need, replace, start, stop, wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def unit_value(unit: str, key: str) -> str:
    match = re.search(rf"^{key}=(.*)$", unit, re.M)
    assert match, f"docs/deploy.md: no {key}= in the unit"
    return match.group(1).strip()


class Messages:
    """The notifications received on a datagram socket, in order."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.got: List[str] = []

    def wait_for(self, prefix: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.got:
                if message.startswith(prefix):
                    self.got.remove(message)
                    return message
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                self.got.append(self.sock.recv(4096).decode())
            except socket.timeout:
                break
        raise AssertionError(f"no {prefix!r} notification in {timeout}s; got {self.got}")


def request(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /who HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        return sock.recv(100)


def test_socket_activation_and_notifications(tmp_path):
    program = need("systemd-socket-activate")
    listen = unit_value(doc_block("systemd-socket"), "ListenStream")
    service = doc_block("systemd-service")
    port = free_port()
    listen = replace(listen, "127.0.0.1:8000", f"127.0.0.1:{port}")
    watchdog_s = replace(unit_value(service, "WatchdogSec"), "10", "1")  # shortened
    argv = shlex.split(unit_value(service, "ExecStart"))
    argv = [sys.executable, "-m", "rocket"] + [
        "tests.apps.whoami:app" if a == "myproject.wsgi:application" else a for a in argv[1:]]
    assert "--workers" in argv
    path = str(tmp_path / "notify")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(path)
    pythonpath = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
    proc = start([program, "-l", listen, "-E", f"NOTIFY_SOCKET={path}",
                  "-E", f"WATCHDOG_USEC={int(float(watchdog_s) * 1e6)}",
                  "-E", f"PYTHONPATH={pythonpath}", *argv], cwd=ROOT)
    messages = Messages(notify)
    try:
        answer = wait_until(lambda: request(port), 15, "an answer on the activated socket", proc)
        assert answer.startswith(b"HTTP/1.1 200 ")  # this first connection started Rocket
        assert messages.wait_for("READY=1") == f"READY=1\nMAINPID={proc.pid}"
        messages.wait_for("WATCHDOG=1", timeout=3)
        proc.send_signal(signal.SIGHUP)
        assert messages.wait_for("RELOADING=1").startswith("RELOADING=1\nMONOTONIC_USEC=")
        messages.wait_for("READY=1", timeout=15)
        assert request(port).startswith(b"HTTP/1.1 200 ")
        proc.send_signal(signal.SIGTERM)
        messages.wait_for("STOPPING=1")
        assert proc.wait(15) == 0
    finally:
        stop(proc)
        notify.close()
