"""``python -m rocket.bench soak --minutes N``: a bounded mixed load on loopback, watched for leaks.

It starts ``python -m rocket --workers W`` (default 2) on ``rocket.bench.soakload:app`` in its
own process group, runs ``--clients`` threads of mixed scenarios (see
:mod:`rocket.bench.soakload`), sends SIGHUP (a graceful reload; in one process a graceful
restart) about once a minute and at least once, and samples the server's process group every
second: resident memory, open file descriptors and threads, summed over the processes.

The verdict compares the second quarter of the run (after the warm-up) with the last quarter,
each figure by its floor (its minimum): in-flight connections and a reload's overlap do not
raise the floor of descriptors and threads, and a garbage-collected heap (PyPy's) saws up and
down between its collections, where what stays is the floor. "growing" when one rose past
its tolerance (:data:`TOLERANCE`), else "flat". It also prints the 5xx responses, all made by the server
itself (the app never fails; 0 expected), and the unexpected client outcomes. Exit code 0 when
flat with neither, else 1. Linux only (it reads /proc).
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import sys
import tempfile
import threading
import time
from typing import List, Optional, Sequence, Tuple

from rocket.bench.servers import ServerProcess, ServerSpec, _status_kib
from rocket.bench.soakload import SCENARIOS, Tally, client_loop

APP = "rocket.bench.soakload:app"
SAMPLE_S = 1.0
HUP_EVERY_S = 60.0
TOLERANCE = {"rss_mib": (4.0, 0.10), "fds": (8, 0.0), "threads": (4, 0.0)}
"""Rise allowed between the two windows: (absolute, relative to the earlier value); a figure
is growing when it rose by more than both."""

Sample = Tuple[float, float, int, int, int]
"""(seconds since the start, RSS MiB, open fds, threads, processes)"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``soak`` command's options."""
    p.add_argument("--minutes", type=float, default=10.0, help="duration (default 10)")
    p.add_argument("--seconds", type=float, default=None, help="duration in seconds instead")
    p.add_argument("--workers", type=int, default=2, help="server worker processes (default 2; "
                   "1 = one process)")
    p.add_argument("--clients", type=int, default=8, help="client threads (default 8)")
    p.add_argument("--seed", type=int, default=13, help="random seed of the scenarios")
    p.add_argument("--csv", metavar="FILE", help="write the samples as CSV")
    p.add_argument("--plot", metavar="PNG", help="plot the samples (needs matplotlib)")
    p.add_argument("--log", metavar="FILE", help="the server's log (default: a temp file)")


def process_figures(pids: Sequence[int]) -> Tuple[float, int, int]:
    """(RSS MiB, open fds, threads) summed over ``pids`` (Linux /proc)."""
    rss_kib = threads = fds = 0
    for pid in pids:
        rss_kib += _status_kib(pid, "VmRSS")
        threads += _status_kib(pid, "Threads")
        try:
            fds += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            pass
    return rss_kib / 1024.0, fds, threads


def verdict(samples: List[Sample]) -> Tuple[bool, List[str]]:
    """(flat, one line per figure) comparing the second quarter with the last quarter."""
    n = len(samples)
    if n < 8:
        return True, ["too few samples for a verdict"]
    early, late = samples[n // 4:n // 2], samples[n - n // 4:]
    lines, flat = [], True
    for index, name in ((1, "rss_mib"), (2, "fds"), (3, "threads")):
        before = min(s[index] for s in early)
        after = min(s[index] for s in late)
        absolute, relative = TOLERANCE[name]
        rose = after - before
        growing = rose > absolute and rose > relative * before
        flat = flat and not growing
        lines.append(f"{name:8} {before:10.1f} -> {after:10.1f}  ({rose:+.1f}) "
                     f"{'GROWING' if growing else 'flat'}")
    return flat, lines


def _hup_times(duration_s: float) -> List[float]:
    count = max(1, round(duration_s / HUP_EVERY_S))
    return [duration_s * (k + 0.5) / count for k in range(count)]


def run(duration_s: float, workers: int, clients: int, seed: int,
        log_path: str) -> Tuple[List[Sample], Tally, int]:
    """Serve, load, sample and stop; returns (samples, tally, SIGHUPs sent)."""
    argv = ["{python}", "-m", "rocket", "-b", "127.0.0.1:{port}", "--workers", str(workers),
            "--access-log", "off", "--log-level", "warning", APP]
    server = ServerProcess(ServerSpec("rocket", "rocket", argv, "soak"), log_path=log_path)
    if not server.start() or server.proc is None:
        raise RuntimeError(f"the server did not start; see {log_path}")
    samples: List[Sample] = []
    tally = Tally()
    hups = 0
    try:
        start = time.monotonic()
        until = start + duration_s
        threads = [threading.Thread(target=client_loop, args=(server.port, seed + i, until,
                                                              tally), daemon=True)
                   for i in range(clients)]
        for thread in threads:
            thread.start()
        pending = _hup_times(duration_s)
        next_sample = start
        while time.monotonic() < until:
            now = time.monotonic() - start
            if pending and now >= pending[0]:
                pending.pop(0)
                os.kill(server.proc.pid, signal.SIGHUP)
                hups += 1
            pids = server.pids()
            samples.append((round(now, 2), *process_figures(pids), len(pids)))
            next_sample += SAMPLE_S
            time.sleep(max(0.0, next_sample - time.monotonic()))
        for thread in threads:
            thread.join(30)
    finally:
        server.stop(grace_s=10.0)
    return samples, tally, hups


def report(samples: List[Sample], tally: Tally, hups: int, workers: int,
           duration_s: float) -> Tuple[bool, List[str]]:
    """The printed report; True when the run passed (flat, no 5xx, nothing unexpected)."""
    flat, figures = verdict(samples)
    five = tally.statuses.get("5xx", 0)
    unexpected = sum(tally.errors.values())
    lines = [f"soak: {duration_s:g} s, --workers {workers}, {hups} SIGHUP(s), "
             f"{len(samples)} samples",
             f"{'scenario':14} {'runs':>7} {'unexpected':>10}"]
    lines += [f"{name:14} {tally.runs[name]:7} {tally.errors[name]:10}" for name in SCENARIOS]
    lines.append("responses: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.statuses.items())))
    lines.append("figure       2nd quarter -> last quarter")
    lines += figures
    lines += [f"  {example}" for example in tally.examples[:10]]
    passed = flat and not five and not unexpected
    lines.append(f"verdict: {'flat' if flat else 'growing'}; 5xx made by the server: {five}; "
                 f"unexpected client outcomes: {unexpected}")
    return passed, lines


def write_csv(samples: List[Sample], path: str) -> None:
    """The samples, one row each."""
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["t_s", "rss_mib", "fds", "threads", "processes"])
        out.writerows(samples)


def plot(samples: List[Sample], path: str, title: str) -> None:
    """RSS, fds and threads over time, one panel each (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True, constrained_layout=True)
    t = [s[0] / 60.0 for s in samples]
    for ax, index, label in zip(axes, (1, 2, 3), ("RSS (MiB)", "open fds", "threads")):
        ax.plot(t, [s[index] for s in samples], linewidth=1)
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("minutes")
    axes[0].set_title(title)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(args: argparse.Namespace) -> int:
    """Run the soak; prints the report, returns 0 when it passed."""
    if not os.path.isdir("/proc"):
        print("soak: needs Linux /proc to sample the server", file=sys.stderr)
        return 2
    duration_s = args.seconds if args.seconds is not None else args.minutes * 60.0
    log_path: Optional[str] = args.log
    if log_path is None:
        handle, log_path = tempfile.mkstemp(prefix="rocket-soak-", suffix=".log")
        os.close(handle)
    samples, tally, hups = run(duration_s, args.workers, args.clients, args.seed, log_path)
    passed, lines = report(samples, tally, hups, args.workers, duration_s)
    with open(log_path, errors="replace") as f:
        tracebacks = f.read().count("Traceback")
    lines.insert(-1, f"server log {log_path}: {tracebacks} traceback(s)")
    print("\n".join(lines))
    if args.csv:
        write_csv(samples, args.csv)
    if args.plot:
        try:
            plot(samples, args.plot, f"rocket soak, --workers {args.workers}, "
                 f"{duration_s / 60:g} min")
        except ImportError:
            print("--plot needs matplotlib", file=sys.stderr)
    return 0 if passed else 1

