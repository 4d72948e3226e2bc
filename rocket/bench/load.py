"""``python -m rocket.bench load URL``: many keep-alive (or closing) clients, then a report.

One client process runs in this process; ``--processes P`` spawns P client processes that
start together (a barrier), report progress through a queue each second and send back their
counters and latency histograms, which merge exactly.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import math
import multiprocessing
import queue as queue_mod
import signal
import sys
import time
from typing import Callable, Dict, Iterator, List, Optional, TextIO

from rocket.bench.engine import LoadSpec, run_load
from rocket.bench.stats import (
    PERCENTILES,
    LatencyHistogram,
    fairness,
    fmt_bytes,
    fmt_ms,
    merge_counts,
    percentile_key,
    print_result,
)
from rocket.bench.target import parse_header, parse_url

CLIENT_BOUND_PCT = 90.0  # a client process this busy measures itself, not the server
_START_TIMEOUT_S = 60.0  # spawning interpreters is slow on a loaded machine, never minutes


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``load`` (shared with ``compare`` where they overlap)."""
    p.add_argument("url", help="http://HOST:PORT/PATH")
    p.add_argument("-c", "--connections", type=int, default=16, help="open connections (16)")
    p.add_argument("-d", "--duration", type=float, default=None,
                   help="seconds to run (default 5 when -n is not given)")
    p.add_argument("-n", "--requests", type=int, default=None, help="stop after N requests")
    p.add_argument("--processes", type=int, default=1, help="client processes (1)")
    ka = p.add_mutually_exclusive_group()
    ka.add_argument("--keep-alive", dest="keep_alive", action="store_true", default=True,
                    help="reuse connections (default)")
    ka.add_argument("--close", dest="keep_alive", action="store_false",
                    help="one request per connection (Connection: close)")
    p.add_argument("-X", "--method", default=None, help="GET, or POST when a body is sent")
    p.add_argument("--body-size", type=int, default=0, help="request body bytes (POST)")
    p.add_argument("--chunked-upload", action="store_true",
                   help="send the body with Transfer-Encoding: chunked")
    p.add_argument("--pipeline", type=int, default=1, help="requests in flight per connection")
    p.add_argument("--unix", metavar="PATH", help="connect to this unix socket (URL gives Host)")
    p.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'",
                   help="extra request header (repeatable)")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds before a request fails")
    p.add_argument("--json", metavar="FILE", help="also write the result as JSON ('-' = stdout)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")


def spec_from_args(a: argparse.Namespace) -> LoadSpec:
    """Build the LoadSpec of parsed ``load`` arguments; raises ValueError on bad values."""
    t = parse_url(a.url)
    if t.tls:
        raise ValueError("load speaks plain HTTP only; point it at an http:// listener")
    if a.body_size < 0:
        raise ValueError("--body-size must be >= 0")
    if a.requests is not None and a.requests < 1:
        raise ValueError("-n must be at least 1")
    method = (a.method or ("POST" if a.body_size or a.chunked_upload else "GET")).upper()
    duration = a.duration if a.duration is not None or a.requests is not None else 5.0
    return LoadSpec(t.host, t.port, t.target, t.host_header, method.encode("ascii"),
                    a.connections, duration, a.requests, a.keep_alive, a.body_size,
                    a.chunked_upload, a.pipeline, a.timeout,
                    headers=[parse_header(h) for h in a.header], unix_path=a.unix)


def _split(total: int, parts: int) -> List[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _child(index: int, spec: LoadSpec, q, go, stop) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent turns Ctrl-C into ``stop``
    q.put(("ready", index, None))
    if not go.wait(_START_TIMEOUT_S):
        return
    result = run_load(spec, lambda snap: q.put(("progress", index, snap)), stop.is_set)
    q.put(("result", index, result))


def run(spec: LoadSpec, processes: int = 1,
        progress: Optional[Callable[[Dict[str, float]], None]] = None) -> dict:
    """Run ``spec`` split over ``processes`` client processes; return the merged result."""
    if processes <= 1:
        with _sigint_as_request() as asked:
            res = summarize(spec, [run_load(spec, progress, lambda: bool(asked))])
        res["interrupted"] = res["interrupted"] or bool(asked)
        return res
    if spec.connections < processes:
        raise ValueError("need at least one connection per process (-c >= --processes)")
    specs = []
    conns = _split(spec.connections, processes)
    reqs = _split(spec.requests, processes) if spec.requests is not None else [None] * processes
    for c, n in zip(conns, reqs):
        s = copy.copy(spec)
        s.connections, s.requests = c, n
        specs.append(s)
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    go, stop = ctx.Event(), ctx.Event()
    procs = [ctx.Process(target=_child, args=(i, s, q, go, stop), daemon=True)
             for i, s in enumerate(specs)]
    results: Dict[int, dict] = {}
    try:
        for pr in procs:
            pr.start()
        ready = 0
        deadline = time.monotonic() + _START_TIMEOUT_S
        while ready < processes:
            kind, _, _ = q.get(timeout=max(0.1, deadline - time.monotonic()))
            ready += kind == "ready"
        go.set()
        interrupted = _collect(spec, procs, q, stop, results, progress)
    except queue_mod.Empty:
        raise RuntimeError(
            f"client processes did not start within {_START_TIMEOUT_S:.0f} s") from None
    finally:
        for pr in procs:
            pr.join(timeout=2.0)
            if pr.is_alive():
                pr.terminate()
                pr.join(timeout=2.0)
        q.close()
    if len(results) < processes:
        raise RuntimeError(f"{processes - len(results)} of {processes} client processes died")
    res = summarize(spec, [results[i] for i in sorted(results)])
    res["interrupted"] = res["interrupted"] or interrupted
    return res


@contextlib.contextmanager
def _sigint_as_request() -> Iterator[List[bool]]:
    """While active, the first Ctrl-C only appends to the yielded list (the run then stops
    cleanly and reports); a second one raises KeyboardInterrupt as usual."""
    asked: List[bool] = []

    def on_sigint(signum, frame) -> None:
        if asked:
            raise KeyboardInterrupt
        asked.append(True)

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread: Ctrl-C is not delivered here anyway
        previous = None
    try:
        yield asked
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _collect(spec: LoadSpec, procs: list, q, stop, results: Dict[int, dict],
             progress: Optional[Callable[[Dict[str, float]], None]]) -> bool:
    """Gather progress and results from the children; on Ctrl-C ask them to stop (they
    report what they measured). True when stopped early."""
    latest: Dict[int, Dict[str, float]] = {}
    grace_s = spec.timeout_s * 2 + 30  # past its end, a child that says nothing is stuck
    end = time.monotonic() + spec.duration_s + grace_s if spec.duration_s else math.inf
    with _sigint_as_request() as asked:
        while len(results) < len(procs) and time.monotonic() < end:
            if asked and not stop.is_set():
                stop.set()
                end = min(end, time.monotonic() + grace_s)
            if not _collect_one(procs, q, results, latest, progress):
                break  # every child exited and the queue is drained: some crashed
    return bool(asked)


def _collect_one(procs: list, q, results: Dict[int, dict], latest: Dict[int, Dict[str, float]],
                 progress: Optional[Callable[[Dict[str, float]], None]]) -> bool:
    try:
        kind, idx, payload = q.get(timeout=0.5)
    except queue_mod.Empty:
        return any(pr.is_alive() for pr in procs)
    if kind == "result":
        results[idx] = payload
    elif kind == "progress":
        latest[idx] = payload
        if progress is not None and len(latest) == len(procs):
            progress({k: sum(s[k] for s in latest.values()) if k != "elapsed_s"
                      else max(s[k] for s in latest.values())
                      for k in ("elapsed_s", "responses", "errors", "requests")})
            latest.clear()
    return True


def summarize(spec: LoadSpec, parts: List[dict]) -> dict:
    """Merge per-process results into the report dict (the ``--json`` document)."""
    hist = LatencyHistogram()
    for r in parts:
        hist.merge(LatencyHistogram.from_dict(r["latency"]))
    wall = max(r["wall_s"] for r in parts)
    errors = merge_counts(r["errors"] for r in parts)
    status = merge_counts(r["status"] for r in parts)
    responses = sum(r["responses"] for r in parts)
    bytes_in = sum(r["bytes_in"] for r in parts)
    cpu_each = [round(100.0 * r["cpu_s"] / r["wall_s"], 1) if r["wall_s"] else 0.0
                for r in parts]
    lat = hist.summary()
    return {
        "url": "http://{}{}".format(spec.host_header, spec.target.decode("latin-1")),
        "method": spec.method.decode("latin-1"), "connections": spec.connections,
        "processes": len(parts), "keep_alive": spec.keep_alive, "pipeline": spec.pipeline,
        "body_size": spec.body_size, "chunked_upload": spec.chunked_upload,
        "duration_s": round(wall, 3),
        "requests": sum(r["requests"] for r in parts), "responses": responses,
        "errors": errors, "errors_total": sum(errors.values()), "status": status,
        "non_2xx_3xx": sum(n for code, n in status.items() if not 200 <= int(code) < 400),
        "connects": sum(r["connects"] for r in parts),
        "rps": round(responses / wall, 1) if wall else 0.0,
        "bytes_in": bytes_in, "bytes_out": sum(r["bytes_out"] for r in parts),
        "mib_in_per_s": round(bytes_in / wall / 1048576, 3) if wall else 0.0,
        "latency_ms": {k: (round(v, 3) if v is not None else None) for k, v in lat.items()},
        "client_cpu_pct": max(cpu_each), "client_cpu_pct_each": cpu_each,
        "client_bound": max(cpu_each) >= CLIENT_BOUND_PCT,
        "interrupted": any(r.get("interrupted") for r in parts),
        "fairness": fairness([n for r in parts for n in r.get("per_connection", [])]),
    }


class ProgressLine:
    """Prints ``[  3s]  12345 req/s  errors 0`` once a second (overwriting on a terminal)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.last = (0.0, 0, 0)
        self.printed = False

    def __call__(self, snap: Dict[str, float]) -> None:
        t0, r0, _ = self.last
        t, r, e = snap["elapsed_s"], snap["responses"], snap["errors"]
        rate = (r - r0) / (t - t0) if t > t0 else 0.0
        self.last = (t, r, e)
        line = f"[{t:4.0f}s] {rate:9.0f} req/s  {r:9d} responses  errors {e}"
        self.out.write(("\r" + line) if self.tty else line + "\n")
        self.out.flush()
        self.printed = True

    def done(self) -> None:
        """End the overwritten line on a terminal."""
        if self.tty and self.printed:
            self.out.write("\n")
            self.out.flush()


def format_report(res: dict) -> str:
    """The human-readable report of one run."""
    lat = res["latency_ms"]
    pcts = "  ".join(f"p{p:g} {fmt_ms(lat[percentile_key(p)])}" for p in PERCENTILES)
    errs = ", ".join(f"{k} {n}" for k, n in res["errors"].items()) or "none"
    status = ", ".join(f"{k}: {n}" for k, n in res["status"].items()) or "-"
    wall = res["duration_s"] or 1.0
    cpu_each = ", ".join(f"{c}%" for c in res["client_cpu_pct_each"])
    fair = res["fairness"]
    lines = [
        f"Requests    {res['requests']} sent, {res['responses']} responses, "
        f"{res['errors_total']} errors ({res['non_2xx_3xx']} non-2xx/3xx responses)",
        f"Throughput  {res['rps']:.1f} req/s; transfer {fmt_bytes(res['bytes_in'] / wall)}/s in,"
        f" {fmt_bytes(res['bytes_out'] / wall)}/s out ({fmt_bytes(res['bytes_in'])} in total)",
        f"Latency ms  {pcts}  max {fmt_ms(lat['max_ms'])}  (mean {fmt_ms(lat['mean_ms'])})",
        f"Errors      {errs}",
        f"Fairness    {fair['served']} of {fair['connections']} connections served;"
        f" responses per connection min {fair['min']}, median {fair['median']:g},"
        f" max {fair['max']}; Jain index {fair['jain']}",
        f"Status      {status}",
        f"Client CPU  {res['client_cpu_pct']}% (per process: {cpu_each})",
    ]
    if res.get("interrupted"):
        lines.append("NOTE        interrupted (Ctrl-C): the figures cover the run until then")
    if res["client_bound"]:
        lines.append(
            f"NOTE        the client was the bottleneck: a client process used "
            f"{res['client_cpu_pct']:.0f}% of a core, so these numbers measure the client, not"
            " the server. Add --processes, pin the server and the client to separate cores,"
            " or use wrk.")
    return "\n".join(lines)


def main(a: argparse.Namespace) -> int:
    """Entry point of ``load``: returns 0, or 1 when no response arrived at all."""
    try:
        spec = spec_from_args(a)
    except ValueError as e:
        print(f"load: {e}", file=sys.stderr)
        return 2
    what = f"{spec.duration_s:.3g} s" if spec.duration_s is not None else ""
    if spec.requests is not None:
        what = f"{spec.requests} requests" + (" or " + what if what else "")
    mode = "keep-alive" if spec.keep_alive else "close"
    print(f"Load: {spec.method.decode()} http://{spec.host_header}"
          f"{spec.target.decode('latin-1')} for {what}, {spec.connections} connections, "
          f"{a.processes} process(es), {mode}, pipeline {spec.pipeline}", file=sys.stderr)
    line = None if a.quiet else ProgressLine(sys.stderr)
    try:
        res = run(spec, a.processes, line)
    except (ValueError, RuntimeError) as e:
        print(f"load: {e}", file=sys.stderr)
        return 2
    finally:
        if line is not None:
            line.done()
    print_result(format_report(res), res, a.json)
    return 0 if res["responses"] else 1
