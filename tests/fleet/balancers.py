"""haproxy and nginx in the balancer namespace, run on the configurations of docs/deploy/
word for word: the test only adds what a machine-wide install keeps elsewhere (haproxy's
stats socket in a second ``global`` file; nginx's main file that includes the docs' one)."""

from __future__ import annotations

import csv
import io
import os
import re
import socket
import subprocess
import threading
import time
from typing import Dict, List, Optional

from tests.fleet import netns
from tests.fleet.hosts import ROOT

DEPLOY = os.path.join(ROOT, "docs", "deploy")
HAPROXY_CFG = os.path.join(DEPLOY, "haproxy.cfg")
NGINX_CONF = os.path.join(DEPLOY, "nginx.conf")
LISTEN_PORT = 80


class Balancer:
    """A balancer process in namespace ``ns``; its output is kept for failure messages."""

    name = "balancer"

    def __init__(self, ns: str, workdir: str) -> None:
        self.ns = ns
        self.workdir = workdir
        self.proc: Optional[subprocess.Popen] = None
        self.output: List[str] = []

    def command(self) -> List[str]:
        """The balancer's command line (run inside the namespace)."""
        raise NotImplementedError

    def start(self, timeout: float = 15.0) -> Balancer:
        """Launch it and wait until its port answers inside the namespace."""
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, *self.command()],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self._port_open():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not start:\n{self.log()}")
            time.sleep(0.05)
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line.rstrip("\n"))

    def _port_open(self) -> bool:
        result: List[bool] = []

        def probe() -> None:
            netns.enter(self.ns)
            with socket.socket() as s:
                s.settimeout(0.5)
                result.append(s.connect_ex(("127.0.0.1", LISTEN_PORT)) == 0)

        thread = threading.Thread(target=probe)
        thread.start()
        thread.join(5)
        return bool(result and result[0])

    def log(self) -> str:
        """What the balancer printed."""
        return "\n".join(self.output)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class HAProxy(Balancer):
    """``haproxy -db -f <stats socket> -f docs/deploy/haproxy.cfg``."""

    name = "haproxy"

    @property
    def stats_path(self) -> str:
        """The admin socket (a unix socket: reachable from outside the namespace)."""
        return os.path.join(self.workdir, "haproxy.sock")

    def command(self) -> List[str]:
        extra = os.path.join(self.workdir, "haproxy-global.cfg")
        with open(extra, "w") as f:
            f.write(f"global\n    stats socket {self.stats_path} mode 600 level admin\n")
        return ["haproxy", "-db", "-f", extra, "-f", HAPROXY_CFG]

    def stats(self) -> Dict[str, Dict[str, str]]:
        """``show stat`` of the backend's servers: name -> row (``status``, ``scur``...)."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(self.stats_path)
            s.sendall(b"show stat\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        text = data.decode().lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {r["svname"]: r for r in rows
                if r["pxname"] == "rocket" and r["svname"] not in ("BACKEND", "FRONTEND")}

    def wait_status(self, server: str, status: str, timeout: float) -> float:
        """Seconds until ``server``'s check status starts with ``status`` (UP, DOWN)."""
        start = time.monotonic()
        while not self.stats()[server]["status"].startswith(status):
            if time.monotonic() - start > timeout:
                raise AssertionError(f"haproxy: {server} not {status} within {timeout}s: "
                                     f"{self.stats()[server]['status']}\n{self.log()}")
            time.sleep(0.02)
        return time.monotonic() - start

    def wait_all_up(self, timeout: float = 15.0) -> None:
        """Every server UP."""
        for server in self.stats():
            self.wait_status(server, "UP", timeout)


def check_timing() -> Dict[str, float]:
    """``inter``, ``fastinter``, ``fall``, ``rise`` and ``timeout check`` (seconds) of the
    docs' haproxy.cfg, so the tests' deadlines follow the file."""
    with open(HAPROXY_CFG) as f:
        text = f.read()

    def seconds(value: str) -> float:
        return float(value[:-2]) / 1000 if value.endswith("ms") else float(value.rstrip("s"))

    found = {k: re.search(rf"\b{k} (\S+)", text) for k in ("inter", "fastinter", "fall", "rise")}
    timing = {k: seconds(m.group(1)) for k, m in found.items() if m}
    check = re.search(r"timeout check (\S+)", text)
    timing["check"] = seconds(check.group(1)) if check else 0.0
    return timing


class Nginx(Balancer):
    """nginx with a main file that includes docs/deploy/nginx.conf."""

    name = "nginx"

    def command(self) -> List[str]:
        main = os.path.join(self.workdir, "nginx-main.conf")
        error_log = os.path.join(self.workdir, "nginx-error.log")
        temp = "".join(f"    {kind}_temp_path {os.path.join(self.workdir, kind)};\n"
                       for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        with open(main, "w") as f:
            f.write(f"daemon off;\nworker_processes 1;\npid {self.workdir}/nginx.pid;\n"
                    f"error_log {error_log} warn;\nevents {{ worker_connections 1024; }}\n"
                    f"http {{\n    access_log off;\n{temp}    include {NGINX_CONF};\n}}\n")
        return ["nginx", "-e", error_log, "-p", self.workdir, "-c", main]

    def log(self) -> str:
        path = os.path.join(self.workdir, "nginx-error.log")
        if not os.path.exists(path):
            return super().log()
        with open(path) as f:
            return super().log() + "\n" + f.read()
