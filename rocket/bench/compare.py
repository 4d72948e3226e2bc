"""``python -m rocket.bench compare``: Rocket against every installed peer, side by side.

For every (server, scenario) a fresh server process starts on a free loopback port (pinned
to ``--server-cpus`` with taskset when present), answers ``GET /`` before it is measured,
gets a warm-up and a measured run (wrk when installed, else ``load`` in this process pinned
to ``--client-cpus``), and is stopped, also on Ctrl-C or SIGTERM. The table shows req/s
with the ratio to Rocket in the same scenario, then p99 latency.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import signal
import sys
import time
from typing import Dict, List, Optional, Tuple

from rocket.bench import wrk
from rocket.bench.engine import LoadSpec
from rocket.bench.load import run as run_load
from rocket.bench.servers import DEFAULT_SERVERS, SERVERS, ServerProcess, taskset_prefix
from rocket.bench.stats import fmt_ms, fmt_rate, markdown_table
from rocket.bench.target import parse_url

# where connections outnumber a typical pool: a pinned-thread server leaves some unserved,
# which wrk cannot show (it only times the requests that complete)
FAIR_SCENARIOS = ("hello-c256", "sleep-c100")

# name -> (path, connections, keep_alive, body_size); the project's standard scenarios
SCENARIOS: Dict[str, Tuple[str, int, bool, int]] = {
    "hello-c1": ("/", 1, True, 0),
    "hello-c16": ("/", 16, True, 0),
    "hello-c256": ("/", 256, True, 0),
    "hello-close-c16": ("/", 16, False, 0),
    "echo4k-c16": ("/echo", 16, True, 4096),
    "1m-c16": ("/1m", 16, True, 0),
    "stream-c16": ("/stream", 16, True, 0),
    "sleep-c100": ("/sleep", 100, True, 0),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``compare``."""
    p.add_argument("--servers", default=",".join(DEFAULT_SERVERS),
                   help="comma list; peers that are not installed are skipped (%(default)s)")
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma list (all)")
    p.add_argument("-d", "--duration", type=float, default=5.0, help="measured seconds (5)")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds (1)")
    p.add_argument("--threads", type=int, default=32, help="threads of thread-pool peers (32)")
    p.add_argument("--client", choices=("auto", "wrk", "load"), default="auto",
                   help="load generator: wrk when installed (auto), or this package's load")
    p.add_argument("--server-cpus", default="1", help="taskset CPU list of the server (1)")
    p.add_argument("--client-cpus", default="0", help="CPU list of the client (0)")
    p.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin to CPUs")
    p.add_argument("--timeout", type=float, default=2.0, help="seconds before a request fails")
    p.add_argument("--fairness", type=float, default=2.0, metavar="SECONDS",
                   help=f"after wrk, count responses per connection with load for "
                        f"{' and '.join(FAIR_SCENARIOS)} (0 = off)")
    p.add_argument("--json", metavar="FILE", help="write every result as JSON")
    p.add_argument("--plot", metavar="PNG", help="write a chart (needs matplotlib)")
    p.add_argument("--markdown", metavar="FILE", help="write the tables as Markdown")
    p.add_argument("--log-dir", default=None, help="keep each server's output here")
    p.add_argument("--list", action="store_true", help="show servers and scenarios, then exit")


def _pin(cpus: Optional[str]) -> Optional[set]:
    """Pin this thread to ``cpus`` ("0" or "0,2-3"); return the old affinity to restore."""
    if not cpus or not hasattr(os, "sched_setaffinity"):
        return None
    wanted = set()
    for part in cpus.split(","):
        lo, _, hi = part.partition("-")
        wanted.update(range(int(lo), int(hi or lo) + 1))
    old = os.sched_getaffinity(0)
    if not wanted <= old:
        return None
    os.sched_setaffinity(0, wanted)
    return old


def measure(a: argparse.Namespace, url: str, scenario: str, seconds: float,
            force_load: bool = False) -> dict:
    """One load run of ``scenario`` against ``url`` with the chosen client."""
    path, conns, keep_alive, body = SCENARIOS[scenario]
    if not force_load and _uses_wrk(a):
        prefix = taskset_prefix(a.client_cpus) if a.pin else None
        return wrk.run_wrk(url + path, conns, seconds, keep_alive, body, a.timeout, prefix)
    t = parse_url(url)
    spec = LoadSpec(t.host, t.port, path.encode(), "", b"POST" if body else b"GET", conns,
                    seconds, None, keep_alive, body, False, 1, a.timeout, drain_s=a.timeout)
    old = _pin(a.client_cpus) if a.pin else None
    try:
        res = run_load(spec, 1)
    finally:
        if old is not None:
            os.sched_setaffinity(0, old)
    if res.get("interrupted"):
        raise KeyboardInterrupt  # load stopped early on Ctrl-C; compare stops altogether
    res["tool"] = "load"
    return res


def _uses_wrk(a: argparse.Namespace) -> bool:
    """True when ``--client`` picks wrk (``auto``: when it is installed)."""
    return a.client == "wrk" or (a.client == "auto" and wrk.available())


def bench_one(a: argparse.Namespace, name: str, scenario: str) -> dict:
    """Start ``name``, run ``scenario`` against it, stop it; return the result record."""
    spec = SERVERS[name]
    log = os.path.join(a.log_dir, f"{name}-{scenario}.log") if a.log_dir else None
    server = ServerProcess(spec, a.threads, a.server_cpus if a.pin else None, log)
    rec: dict = {"server": name, "scenario": scenario, "note": spec.note.format(
        threads=a.threads)}
    try:
        if not server.start():
            rec["status"] = "start_failed"
            return rec
        url = f"http://127.0.0.1:{server.port}"
        if a.warmup > 0:
            measure(a, url, scenario, a.warmup)
        cpu0, _ = server.usage()
        t0 = time.monotonic()
        res = measure(a, url, scenario, a.duration)
        wall = time.monotonic() - t0
        cpu1, rss = server.usage()
        rec.update(res)
        rec["status"] = "ok" if res["responses"] else "no_responses"
        rec["server_cpu_pct"] = round(100.0 * (cpu1 - cpu0) / wall, 1) if wall else None
        rec["cpu_us_per_req"] = (round(1e6 * (cpu1 - cpu0) / res["responses"], 1)
                                 if res["responses"] else None)
        rec["rss_peak_mib"] = round(rss, 1) if rss else None
        if scenario in FAIR_SCENARIOS and "fairness" not in rec and a.fairness > 0:
            rec["fairness"] = measure(a, url, scenario, a.fairness, force_load=True)["fairness"]
    except RuntimeError as e:
        rec.update(status="failed", error=str(e))
    finally:
        server.stop()
    return rec


def _cell(rec: Optional[dict], base: Optional[dict], key: str) -> str:
    if rec is None:
        return "-"
    if rec.get("status") != "ok":
        return rec.get("status", "-")
    if key == "rps":
        text = fmt_rate(rec["rps"])
        if base is not None and base.get("status") == "ok" and base["rps"]:
            text += f" ({rec['rps'] / base['rps']:.2f}×)"
        return text + (" *" if rec.get("client_bound") else "")
    return fmt_ms(rec["latency_ms"].get(key))


def _fair_cell(rec: Optional[dict]) -> str:
    fair = (rec or {}).get("fairness")
    if not fair:
        return "-"
    return f"{fair['served']}/{fair['connections']} (Jain {fair['jain']:.2f})"


def tables(results: List[dict], servers: List[str], scenarios: List[str]) -> str:
    """Markdown tables: req/s (ratio to Rocket), p99 and p50 latency, one row per server,
    and the connections served in the fairness scenarios."""
    by = {(r["server"], r["scenario"]): r for r in results}
    out = []
    for title, key in (("req/s (ratio to rocket; * = client-bound)", "rps"),
                       ("p99 latency, ms", "p99_ms"), ("p50 latency, ms", "p50_ms")):
        rows = [[s] + [_cell(by.get((s, sc)), by.get(("rocket", sc)), key) for sc in scenarios]
                for s in servers]
        out.append("### {}\n\n{}".format(title, markdown_table(["server"] + scenarios, rows)))
    fair_scens = [sc for sc in scenarios if any(
        by.get((s, sc), {}).get("fairness") for s in servers)]
    if fair_scens:
        rows = [[s] + [_fair_cell(by.get((s, sc))) for sc in fair_scens] for s in servers]
        out.append("### connections that got at least one response (Jain index: 1 = even)"
                   "\n\n" + markdown_table(["server"] + fair_scens, rows))
    errs = [r for r in results if r.get("errors_total")]
    if errs:
        out.append("Errors: " + "; ".join("{} {}: {}".format(r["server"], r["scenario"],
                                                         r["errors"]) for r in errs))
    return "\n\n".join(out)


def _select(text: str, known: Dict, what: str) -> List[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in known]
    if bad:
        raise ValueError("unknown {} {} (see --list)".format(what, ", ".join(bad)))
    return names


def main(a: argparse.Namespace) -> int:
    """Entry point of ``compare``: 0 when Rocket (if asked for) answered every scenario."""
    if a.list:
        for n, s in SERVERS.items():
            state = "installed" if s.available() else "missing"
            print(f"{n:<18} {state:<9} {s.note.format(threads=a.threads)}")
        for n, (path, c, ka, body) in SCENARIOS.items():
            mode = "keep-alive" if ka else "close"
            post = f" POST {body} B" if body else ""
            print(f"{n:<16} {path:<8} c={c:<4} {mode}{post}")
        return 0
    try:
        servers = _select(a.servers, SERVERS, "server")
        scenarios = _select(a.scenarios, SCENARIOS, "scenario")
    except ValueError as e:
        print(f"compare: {e}", file=sys.stderr)
        return 2
    missing = [n for n in servers if not SERVERS[n].available()]
    servers = [n for n in servers if n not in missing]
    if missing:
        print("compare: not installed, skipped: {}".format(", ".join(missing)), file=sys.stderr)
    if a.pin and (os.cpu_count() or 1) < 2:
        a.pin = False
    if a.log_dir:
        os.makedirs(a.log_dir, exist_ok=True)
    tool = "wrk" if _uses_wrk(a) else "load"
    meta = {"started": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"),
            "command": "python -m rocket.bench " + " ".join(
                shlex.quote(x) for x in getattr(a, "argv", ["compare"])),
            "host": platform.node(), "python": platform.python_version(),
            "implementation": platform.python_implementation(), "cpus": os.cpu_count(),
            "pinned": a.pin, "server_cpus": a.server_cpus if a.pin else None,
            "client_cpus": a.client_cpus if a.pin else None, "client": tool,
            "duration_s": a.duration, "warmup_s": a.warmup, "threads": a.threads,
            "servers": servers, "scenarios": scenarios, "loadavg_start": _loadavg()}
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    results: List[dict] = []
    try:
        for name in servers:
            for scen in scenarios:
                rec = bench_one(a, name, scen)
                results.append(rec)
                p99 = fmt_ms((rec.get("latency_ms") or {}).get("p99_ms"))
                print(f"{name:<18} {scen:<16} {rec.get('status'):<12} "
                      f"{fmt_rate(rec.get('rps')):>9} req/s  p99 {p99} ms  "
                      f"errors {rec.get('errors_total', '-')}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("compare: interrupted; every server was stopped", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    meta["loadavg_end"] = _loadavg()
    text = tables(results, servers, scenarios)
    print(text)
    doc = {"meta": meta, "results": results}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=2, sort_keys=True)
            f.write("\n")
    if a.markdown:
        write_markdown(a.markdown, markdown_report(doc, text, a.plot))
    if a.plot:
        from rocket.bench.plot import plot
        try:
            plot(doc, a.plot)
        except ImportError:
            print("compare: --plot needs matplotlib (pip install 'rocket-wsgi[bench]')",
                  file=sys.stderr)
            return 2
    bad = [r for r in results if r["server"] == "rocket" and r.get("status") != "ok"]
    return 1 if bad else 0


def _loadavg() -> Optional[float]:
    """The 1-minute load average (other work on the machine skews every number)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def markdown_report(doc: dict, tables_text: str, plot_path: Optional[str]) -> str:
    """A self-contained Markdown section: command, machine, tables and the chart link."""
    m = doc["meta"]
    pinning = (f"server on CPU {m['server_cpus']}, client on CPU {m['client_cpus']}"
               if m["pinned"] else "no CPU pinning")
    lines = [f"Run {m['started']} on {m['host']} ({m['cpus'] or 0} CPUs, "
             f"{m['implementation']} {m['python']}); client: {m['client']}; "
             f"{m['duration_s']} s per scenario after {m['warmup_s']} s of warm-up; {pinning};"
             f" load average {m.get('loadavg_start')} at the start, {m.get('loadavg_end')} at"
             " the end (above 0.5 or so, other work shared the machine: read with care).",
             "", "```sh", m["command"], "```", "", tables_text, ""]
    if plot_path:
        lines += [f"![compare chart]({os.path.basename(plot_path)})", ""]
    return "\n".join(lines)


BEGIN_MARK = "<!-- compare:begin -->"
END_MARK = "<!-- compare:end -->"


def write_markdown(path: str, section: str) -> None:
    """Write ``section`` to ``path``; an existing file keeps everything outside its
    ``<!-- compare:begin -->`` / ``<!-- compare:end -->`` markers (docs/benchmarks.md)."""
    try:
        with open(path, encoding="utf-8") as f:
            old = f.read()
    except FileNotFoundError:
        old = ""
    i, j = old.find(BEGIN_MARK), old.find(END_MARK)
    if 0 <= i < j:
        text = old[:i + len(BEGIN_MARK)] + "\n" + section + "\n" + old[j:]
    else:
        text = section
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
