"""Counters and a mergeable latency histogram for the load tools, plus number formatting.

Latencies are recorded in whole microseconds, rounded down to 11 significant bits (relative
error under 0.1 %), so a histogram stays small however long the run and the histograms of
several client processes merge by adding counts.
"""

from __future__ import annotations

import json
from typing import Dict, Iterable, List, Optional

PERCENTILES = (50.0, 90.0, 99.0, 99.9)
"""The latency percentiles every report shows."""

_EXACT_BITS = 11  # below 2**11 us (2 ms) every microsecond has its own bucket


class LatencyHistogram:
    """Counts of latencies (microseconds) in log-linear buckets; ``add`` is the hot path."""

    __slots__ = ("buckets", "count", "total_us", "max_us")

    def __init__(self) -> None:
        self.buckets: Dict[int, int] = {}
        self.count = 0
        self.total_us = 0
        self.max_us = 0

    def add(self, seconds: float) -> None:
        """Record one latency given in seconds."""
        us = int(seconds * 1e6 + 0.5)
        if us > self.max_us:
            self.max_us = us
        self.total_us += us
        self.count += 1
        shift = us.bit_length() - _EXACT_BITS
        if shift > 0:
            us = (us >> shift) << shift
        b = self.buckets
        b[us] = b.get(us, 0) + 1

    def merge(self, other: LatencyHistogram) -> None:
        """Add every count of ``other`` to this histogram."""
        b = self.buckets
        for k, n in other.buckets.items():
            b[k] = b.get(k, 0) + n
        self.count += other.count
        self.total_us += other.total_us
        self.max_us = max(self.max_us, other.max_us)

    def percentile(self, pct: float) -> Optional[float]:
        """The latency (ms) under which ``pct`` percent of the samples fall; None when empty."""
        if not self.count:
            return None
        rank = pct / 100.0 * self.count
        seen = 0
        for k in sorted(self.buckets):
            seen += self.buckets[k]
            if seen >= rank:
                return k / 1000.0
        return self.max_us / 1000.0

    def mean_ms(self) -> Optional[float]:
        """The mean latency in milliseconds; None when empty."""
        return self.total_us / self.count / 1000.0 if self.count else None

    def summary(self) -> Dict[str, Optional[float]]:
        """``p50_ms``, ``p90_ms``, ``p99_ms``, ``p999_ms``, ``max_ms`` and ``mean_ms``."""
        out: Dict[str, Optional[float]] = {}
        for pct in PERCENTILES:
            out[percentile_key(pct)] = self.percentile(pct)
        out["max_ms"] = self.max_us / 1000.0 if self.count else None
        out["mean_ms"] = self.mean_ms()
        return out

    def to_dict(self) -> dict:
        """A JSON/pickle-friendly form (used to send results between processes)."""
        return {"buckets": list(self.buckets.items()), "count": self.count,
                "total_us": self.total_us, "max_us": self.max_us}

    @classmethod
    def from_dict(cls, data: dict) -> LatencyHistogram:
        """The inverse of ``to_dict``."""
        h = cls()
        h.buckets = {int(k): int(n) for k, n in data["buckets"]}
        h.count = int(data["count"])
        h.total_us = int(data["total_us"])
        h.max_us = int(data["max_us"])
        return h


def percentile_key(pct: float) -> str:
    """The result key of a percentile: 50 -> ``p50_ms``, 99.9 -> ``p999_ms``."""
    return "p{}_ms".format((f"{pct:g}").replace(".", ""))


def fairness(per_connection: List[int]) -> Dict[str, float]:
    """How evenly responses spread over the client connections: ``served`` (connections
    with at least one response) of ``connections``, ``min``/``median``/``max`` responses per
    connection and Jain's index (1.0 = perfectly even). A server that pins threads to
    connections leaves some unserved, which req/s and latency alone never show."""
    counts = sorted(per_connection)
    n = len(counts)
    total = sum(counts)
    squares = sum(c * c for c in counts)
    median = (counts[(n - 1) // 2] + counts[n // 2]) / 2 if n else 0
    return {"connections": n, "served": sum(1 for c in counts if c),
            "min": counts[0] if n else 0, "median": median, "max": counts[-1] if n else 0,
            "jain": round(total * total / (n * squares), 3) if squares else 0.0}


def merge_counts(dicts: Iterable[Dict[str, int]]) -> Dict[str, int]:
    """Sum several ``{kind: count}`` dicts (keys sorted, zero counts dropped)."""
    out: Dict[str, int] = {}
    for d in dicts:
        for k, n in d.items():
            out[str(k)] = out.get(str(k), 0) + int(n)
    return {k: out[k] for k in sorted(out) if out[k]}


def fmt_rate(value: Optional[float]) -> str:
    """12345.6 -> ``12.3k``; None -> ``-``."""
    if value is None:
        return "-"
    if value >= 1e6:
        return "%.2fM" % (value / 1e6)
    if value >= 1e4:
        return "%.1fk" % (value / 1e3)
    if value >= 1e3:
        return "%.2fk" % (value / 1e3)
    return f"{value:.0f}"


def fmt_ms(value: Optional[float]) -> str:
    """A latency in ms with three significant digits; None -> ``-``."""
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def fmt_bytes(n: float) -> str:
    """A byte count with a binary unit: 1536 -> ``1.50 KiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{int(n)} B" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024.0
    return f"{n:.2f} GiB"  # unreachable; keeps type checkers calm


def markdown_table(header: List[str], rows: List[List[str]], right_from: int = 1) -> str:
    """A GitHub Markdown table; columns from ``right_from`` on are right-aligned."""
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def print_result(report: str, res: dict, json_dest: Optional[str]) -> None:
    """Print ``report``; with ``json_dest`` also write ``res`` as JSON to that file, or after
    the report on stdout when it is ``-`` (the ``--json`` option of ``load`` and ``saturate``)."""
    doc = json.dumps(res, indent=2, sort_keys=True)
    if json_dest and json_dest != "-":
        with open(json_dest, "w") as f:
            f.write(doc + "\n")
    print(report)
    if json_dest == "-":
        print(doc)
