"""sd_notify in pure Python, against a real datagram socket."""

from __future__ import annotations

import os
import socket

from rocket.process.sdnotify import Notifier, watchdog_interval_s


def test_messages_reach_the_socket(tmp_path):
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    try:
        notifier = Notifier({"NOTIFY_SOCKET": path})
        assert notifier.ready() and notifier.reloading() and notifier.stopping()
        assert notifier.watchdog()
        got = [sock.recv(4096).decode() for _ in range(4)]
        notifier.close()
    finally:
        sock.close()
    assert got[0] == f"READY=1\nMAINPID={os.getpid()}"
    assert got[1].startswith("RELOADING=1\nMONOTONIC_USEC=") and got[1].split("=")[-1].isdigit()
    assert got[2:] == ["STOPPING=1", "WATCHDOG=1"]


def test_abstract_socket_name():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"rocket-test-{os.getpid()}"
    sock.bind("\0" + name)
    sock.settimeout(2)
    try:
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert sock.recv(100).startswith(b"READY=1")
    finally:
        sock.close()


def test_off_without_socket_and_never_raises(tmp_path):
    assert not Notifier({}).enabled and Notifier({}).ready() is False
    gone = Notifier({"NOTIFY_SOCKET": str(tmp_path / "missing")})
    assert gone.enabled and gone.ready() is False


def test_watchdog_interval():
    pid = str(os.getpid())
    assert watchdog_interval_s({"WATCHDOG_USEC": "2000000"}) == 1.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": pid}) == 1.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "0"}) is None and watchdog_interval_s({}) is None
