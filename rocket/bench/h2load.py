"""``python -m rocket.bench h2load``: HTTP/2 over TLS with ``h2load`` (Debian nghttp2-client),
Rocket against its own HTTP/1.1 and the peers that serve HTTP/2, side by side.

Rows: Rocket over HTTP/2; the same Rocket command over HTTP/1.1 (``h2load --h1``, where
``-m`` is the pipelining depth); hypercorn (asyncio) and granian (Rust) over HTTP/2 when their
interpreter (or one of ``--peer-python``) can import them. Every server gets a fresh self-signed
certificate (made with ``openssl``), a fresh process pinned to ``--server-cpus`` and h2load
pinned to ``--client-cpus``, a warm-up, then a measured run of ``--duration`` seconds per
shape: 1 connection x 100 streams and 16 connections x 10 streams. The table shows req/s and
the requests h2load counts as failed (errors, timeouts and non-2xx/3xx answers; the requests
still in flight when ``-D`` ends are not counted).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, List, NamedTuple, Optional, Tuple

from rocket.bench.servers import ServerProcess, ServerSpec, taskset_prefix
from rocket.bench.stats import fmt_rate, markdown_table

SHAPES: Dict[str, Tuple[int, int]] = {"c1x100": (1, 100), "c16x10": (16, 10)}
"""Shape name -> (connections, concurrent streams per connection)."""

UNITS_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


class H2loadResult(NamedTuple):
    """The summary h2load prints at the end of a run."""

    seconds: float
    req_per_s: float
    total: int
    started: int
    done: int
    succeeded: int
    failed: int
    errored: int
    timeout: int
    status: Dict[str, int]
    protocol: Optional[str]

    @property
    def all_succeeded(self) -> bool:
        """Every request started was answered 2xx: none failed, errored, timed out or reset."""
        return (self.started == self.done == self.succeeded == self.status.get("2xx", 0)
                and not (self.failed or self.errored or self.timeout))


FINISHED = re.compile(r"^finished in ([\d.]+)(us|ms|s), ([\d.]+) req/s", re.M)
REQUESTS = re.compile(r"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                      r"(\d+) failed, (\d+) errored, (\d+) timeout", re.M)
STATUS = re.compile(r"^status codes: (.*)$", re.M)
PROTOCOL = re.compile(r"^Application protocol: (\S+)", re.M)


def parse_h2load(text: str) -> H2loadResult:
    """The summary of h2load's output; ValueError when it has none (h2load failed)."""
    finished, requests = FINISHED.search(text), REQUESTS.search(text)
    if finished is None or requests is None:
        raise ValueError(f"no h2load summary in: {text[-300:]!r}")
    status: Dict[str, int] = {}
    codes = STATUS.search(text)
    for part in (codes.group(1).split(",") if codes else []):
        count, _, kind = part.strip().partition(" ")
        status[kind] = int(count)
    protocol = PROTOCOL.search(text)
    counts = [int(g) for g in requests.groups()]
    return H2loadResult(float(finished.group(1)) * UNITS_S[finished.group(2)],
                        float(finished.group(3)), *counts, status,
                        protocol.group(1) if protocol else None)


def h2load_argv(url: str, connections: int, streams: int, duration_s: Optional[float] = None,
                requests: Optional[int] = None, h1: bool = False, warmup_s: float = 0.0,
                prefix: Optional[List[str]] = None) -> List[str]:
    """The h2load command line: a duration (``-D``, after ``warmup_s``) or a request count."""
    argv = list(prefix or []) + ["h2load", "-t", "1", "-c", str(connections),
                                 "-m", str(streams)]
    if duration_s is not None:
        argv += ["-D", f"{round(duration_s * 1000)}ms"]
        if warmup_s:
            argv += ["--warm-up-time", f"{round(warmup_s * 1000)}ms"]
    else:
        argv += ["-n", str(requests or connections * streams)]
    return argv + (["--h1"] if h1 else []) + [url]


def run_h2load(argv: List[str], timeout_s: float) -> H2loadResult:
    """Run h2load; its parsed summary. RuntimeError when it does not finish or prints none."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"h2load ran past {timeout_s} s") from None
    try:
        return parse_h2load(done.stdout)
    except ValueError:
        raise RuntimeError(f"h2load failed: {(done.stdout + done.stderr)[-300:]}") from None


def self_signed(directory: str) -> Tuple[str, str]:
    """An EC P-256 certificate for 127.0.0.1 and its PKCS#8 key, made with ``openssl``."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=30)
    return cert, key


def server_specs(cert: str, key: str, threads: int,
                 pythons: Dict[str, str]) -> Dict[str, ServerSpec]:
    """Name -> how to start it on ``{port}`` with TLS, peers with ``pythons[name]``."""
    rocket = ["{python}", "-m", "rocket", "--bind", "127.0.0.1:{port}", "--certfile", cert,
              "--keyfile", key, "--access-log", "off", "--log-level", "warning", "{app}"]
    return {
        "rocket": ServerSpec("rocket", "h2", rocket, "this Rocket, CLI defaults"),
        "hypercorn": ServerSpec("hypercorn", "hypercorn", [
            pythons["hypercorn"], "-m", "hypercorn", "--bind", "127.0.0.1:{port}", "--certfile", cert,
            "--keyfile", key, "--workers", "1", "--log-level", "warning", "{app}"],
            "asyncio, 1 worker"),
        "granian": ServerSpec("granian", "granian", [
            pythons["granian"], "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1",
            "--port", "{port}", "--workers", "1", "--runtime-threads", "1",
            "--blocking-threads", "{threads}", "--ssl-certificate", cert,
            "--ssl-keyfile", key, "--no-ws", "--log-level", "warning", "{app}"],
            f"Rust core, 1 worker, {threads} blocking threads"),
    }


def interpreter_for(module: str, candidates: List[str]) -> Optional[str]:
    """The first of ``candidates`` that imports ``module``."""
    for python in candidates:
        probe = subprocess.run([python, "-c", f"import {module}"], capture_output=True,
                               timeout=30)
        if probe.returncode == 0:
            return python
    return None


# row name -> (server name, h1)
ROWS = {"rocket-h2": ("rocket", False), "rocket-h1": ("rocket", True),
        "hypercorn-h2": ("hypercorn", False), "granian-h2": ("granian", False)}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``h2load``."""
    p.add_argument("--rows", default=",".join(ROWS), help="comma list (%(default)s)")
    p.add_argument("--shapes", default=",".join(SHAPES), help="comma list (%(default)s)")
    p.add_argument("-d", "--duration", type=float, default=5.0, help="measured seconds (5)")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds (1)")
    p.add_argument("--threads", type=int, default=32, help="granian's blocking threads (32)")
    p.add_argument("--peer-python", default="",
                   help="comma list of other interpreters to run hypercorn and granian with "
                        "when this one cannot import them")
    p.add_argument("--server-cpus", default="1", help="taskset CPU list of the server (1)")
    p.add_argument("--client-cpus", default="0", help="taskset CPU list of h2load (0)")
    p.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin to CPUs")
    p.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")


def bench_row(a: argparse.Namespace, spec: ServerSpec, h1: bool,
              shapes: List[str]) -> Dict[str, object]:
    """Start the server once, run every shape against it, stop it: shape -> result or error."""
    server = ServerProcess(spec, a.threads, a.server_cpus if a.pin else None, tls=True)
    out: Dict[str, object] = {}
    try:
        if not server.start():
            return {shape: "did not start" for shape in shapes}
        url = f"https://127.0.0.1:{server.port}{'/'}"
        prefix = taskset_prefix(a.client_cpus) if a.pin else None
        for shape in shapes:
            conns, streams = SHAPES[shape]
            argv = h2load_argv(url, conns, streams, a.duration, h1=h1, warmup_s=a.warmup,
                               prefix=prefix)
            try:
                out[shape] = run_h2load(argv, a.duration + a.warmup + 60)
            except RuntimeError as e:
                out[shape] = str(e)
    finally:
        server.stop()
    return out


def render(results: Dict[str, Dict[str, object]], shapes: List[str]) -> str:
    """The Markdown table: one row per server and protocol, req/s and failures per shape."""
    header = (["server", "protocol"] + [f"{s} req/s" for s in shapes]
              + [f"{s} not ok" for s in shapes])
    rows = []
    for name, per_shape in results.items():
        rates, bad, protocols = [], [], set()
        for shape in shapes:
            r = per_shape.get(shape)
            if isinstance(r, H2loadResult):
                protocols.add(r.protocol or "?")
                rates.append(fmt_rate(r.req_per_s))
                bad.append(str(r.failed))  # errored and timed-out ones included
            else:
                rates.append("-")
                bad.append(str(r or "-")[:40])
        rows.append([name, ",".join(sorted(protocols)) or "-"] + rates + bad)
    return markdown_table(header, rows, right_from=2)


def main(args: argparse.Namespace) -> int:
    """Run the rows that can run; print the table. 2 when h2load or openssl is missing."""
    for tool in ("h2load", "openssl"):
        if shutil.which(tool) is None:
            print(f"h2load: the {tool} command is not installed (apt-get install "
                  f"{'nghttp2-client' if tool == 'h2load' else 'openssl'})", file=sys.stderr)
            return 2
    shapes = [s for s in args.shapes.split(",") if s]
    rows = [r for r in args.rows.split(",") if r]
    unknown = [x for x in shapes if x not in SHAPES] + [r for r in rows if r not in ROWS]
    if unknown:
        print(f"h2load: unknown row or shape: {', '.join(unknown)}", file=sys.stderr)
        return 2
    candidates = [sys.executable] + [p for p in args.peer_python.split(",") if p]
    pythons = {name: interpreter_for(name, candidates) for name in ("hypercorn", "granian")}
    results: Dict[str, Dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="rocket-h2load-") as tmp:
        cert, key = self_signed(tmp)
        specs = server_specs(cert, key, args.threads,
                             {k: v or sys.executable for k, v in pythons.items()})
        for row in rows:
            name, h1 = ROWS[row]
            missing = not specs[name].available() if name == "rocket" else pythons[name] is None
            if missing:
                print(f"h2load: {row} skipped ({specs[name].module} is not importable)",
                      file=sys.stderr)
                continue
            results[row] = bench_row(args, specs[name], h1, shapes)
            print(f"{row}: done", file=sys.stderr)
    table = render(results, shapes)
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")
    return 0
