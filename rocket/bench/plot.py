"""The ``compare --plot`` chart: req/s as grouped bars per scenario, then latency percentiles.

Needs matplotlib (the ``bench`` extra); it draws with the Agg backend, so no display is used.
"""

from __future__ import annotations

from typing import Dict, List

from rocket.bench.stats import PERCENTILES, percentile_key


def plot(doc: dict, path: str) -> None:
    """Write the chart of a ``compare`` document (``{"meta", "results"}``) to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    servers: List[str] = doc["meta"]["servers"]
    scenarios: List[str] = doc["meta"]["scenarios"]
    by: Dict[tuple, dict] = {(r["server"], r["scenario"]): r for r in doc["results"]
                             if r.get("status") == "ok"}
    ncols = min(4, max(1, len(scenarios)))
    nrows = 1 + (len(scenarios) + ncols - 1) // ncols
    fig = plt.figure(figsize=(4 * ncols, 4 + 3 * (nrows - 1)), constrained_layout=True)
    grid = fig.add_gridspec(nrows, ncols, height_ratios=[1.4] + [1] * (nrows - 1))
    colors = plt.get_cmap("tab10")

    bars = fig.add_subplot(grid[0, :])
    width = 0.8 / max(1, len(servers))
    for i, server in enumerate(servers):
        xs = [j + (i - (len(servers) - 1) / 2) * width for j in range(len(scenarios))]
        ys = [by[(server, s)]["rps"] if (server, s) in by else 0 for s in scenarios]
        bars.bar(xs, ys, width, label=server, color=colors(i % 10))
    bars.set_xticks(range(len(scenarios)))
    bars.set_xticklabels(scenarios)
    bars.set_ylabel("requests / s")
    if any(r.get("rps") for r in by.values()):
        bars.set_yscale("log")
    bars.set_title("Throughput per scenario ({}, {} s each)".format(
        doc["meta"].get("client", "load"), doc["meta"].get("duration_s")))
    bars.legend(ncol=min(len(servers), 5), fontsize="small")
    bars.grid(axis="y", alpha=0.3)

    labels = [f"p{p:g}" for p in PERCENTILES] + ["max"]
    keys = [percentile_key(p) for p in PERCENTILES] + ["max_ms"]
    for j, scen in enumerate(scenarios):
        ax = fig.add_subplot(grid[1 + j // ncols, j % ncols])
        for i, server in enumerate(servers):
            rec = by.get((server, scen))
            if rec is None:
                continue
            lat = rec.get("latency_ms") or {}
            ys = [lat.get(k) for k in keys]
            if all(y is not None for y in ys):
                ax.plot(labels, ys, marker="o", label=server, color=colors(i % 10))
        ax.set_title(scen, fontsize="medium")
        ax.set_ylabel("latency, ms")
        if ax.lines:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    fig.savefig(path, dpi=90)
    plt.close(fig)
