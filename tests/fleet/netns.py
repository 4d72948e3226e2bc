"""Network namespaces for the fleet tests: one balancer namespace and N host namespaces, each
host joined to the balancer by its own veth pair, made with Debian's iproute2.

Addresses live only inside these namespaces: host ``i`` (1-based) is ``10.200.i.2/24`` on its
``eth0``, the balancer's end of the same pair is ``10.200.i.1/24``. Nothing is added to the
machine's own namespace (the pairs are created directly inside the namespaces), and deleting
a namespace deletes its veth end, so :meth:`Topology.destroy` leaves nothing behind.

A thread of this process enters a namespace with :func:`enter` (``setns`` applies to the
calling thread only): sockets it creates afterwards live in that namespace.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import time
from typing import List, Optional

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``ip ARGS``; CalledProcessError (with stderr) when it fails and ``check``."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
    if check and done.returncode:
        raise subprocess.CalledProcessError(done.returncode, done.args, done.stdout, done.stderr)
    return done


def unavailable_reason() -> Optional[str]:
    """Why namespaces cannot be made here (not root, no iproute2, no permission), or None."""
    if os.geteuid() != 0:
        return "the fleet tests need root to run `ip netns`"
    if shutil.which("ip") is None:
        return "`ip` (iproute2) is not installed"
    probe = f"rkt{os.getpid()}probe"
    done = ip("netns", "add", probe, check=False)
    if done.returncode:
        return f"`ip netns add` failed: {done.stderr.strip()}"
    ip("netns", "del", probe, check=False)
    return None


def enter(name: str) -> None:
    """Move the calling thread into network namespace ``name``."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({name}): {os.strerror(err)}")
    finally:
        os.close(fd)


def pids(name: str) -> List[int]:
    """Every process living in namespace ``name``."""
    done = ip("netns", "pids", name, check=False)
    return [int(p) for p in done.stdout.split()]


def kill_all(name: str, signum: int = signal.SIGKILL) -> List[int]:
    """Send ``signum`` to every process in namespace ``name``; returns their pids."""
    found = pids(name)
    for pid in found:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    return found


def remove_stale(prefix: str = "rkt") -> List[str]:
    """Delete namespaces left by a test process that was killed before its teardown (their
    names carry its pid: ``rkt<pid>lb``); returns their names."""
    stale = []
    for line in ip("netns", "list", check=False).stdout.splitlines():
        match = re.match(rf"({prefix}(\d+)\S*)", line)
        if match and not os.path.exists(f"/proc/{match.group(2)}"):
            kill_all(match.group(1))
            ip("netns", "del", match.group(1), check=False)
            stale.append(match.group(1))
    return stale


class Topology:
    """``hosts`` host namespaces wired to one balancer namespace (see the module docstring)."""

    def __init__(self, hosts: int, prefix: Optional[str] = None) -> None:
        self.prefix = prefix or f"rkt{os.getpid()}"
        self.balancer = f"{self.prefix}lb"
        self.hosts = [f"{self.prefix}h{i}" for i in range(1, hosts + 1)]
        self.created: List[str] = []

    @staticmethod
    def host_address(index: int) -> str:
        """The address of host ``index`` (1-based) inside its namespace."""
        return f"10.200.{index}.2"

    def create(self) -> Topology:
        """Make the namespaces and veth pairs; on any failure, remove what was made."""
        try:
            for name in (self.balancer, *self.hosts):
                ip("netns", "add", name)
                self.created.append(name)
                ip("-n", name, "link", "set", "lo", "up")
            for index, host in enumerate(self.hosts, 1):
                ip("link", "add", f"to{index}", "netns", self.balancer, "type", "veth",
                   "peer", "name", "eth0", "netns", host)
                ip("-n", self.balancer, "addr", "add", f"10.200.{index}.1/24", "dev", f"to{index}")
                ip("-n", host, "addr", "add", f"{self.host_address(index)}/24", "dev", "eth0")
                ip("-n", self.balancer, "link", "set", f"to{index}", "up")
                ip("-n", host, "link", "set", "eth0", "up")
        except BaseException:
            self.destroy()
            raise
        return self

    def destroy(self) -> None:
        """Kill every process left in the namespaces, then delete them (and their veths)."""
        for name in self.created:
            kill_all(name)
        deadline = time.monotonic() + 5
        while any(pids(n) for n in self.created) and time.monotonic() < deadline:
            time.sleep(0.05)
        for name in reversed(self.created):
            ip("netns", "del", name, check=False)
        self.created = []
