#!/usr/bin/env python3
"""scripts/soak's plot: soak.csv (sampler.py) to a PNG with one panel each
for RSS, open fds, flows, held packets and verdict latency (mean and p99 of
each second) over time; the warm-up is shaded and the RSS / fd bounds of
summary.json are drawn.
Needs python3-matplotlib (scripts/setup installs it).
"""
import argparse
import csv
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def series(rows, name, scale=1.0):
    xs, ys = [], []
    for r in rows:
        try:
            x, y = float(r["t"]), float(r[name]) * scale
        except (TypeError, ValueError):
            continue
        xs.append(x)
        ys.append(y)
    return xs, ys


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--csv", required=True)
    p.add_argument("--summary")
    p.add_argument("--png", required=True)
    args = p.parse_args(argv)
    with open(args.csv, newline="") as f:
        rows = list(csv.DictReader(f))
    figures = {}
    if args.summary:
        with open(args.summary) as f:
            figures = json.load(f).get("figures", {})
    warm_end = max([float(r["t"]) for r in rows if r["phase"] == "warmup"] or [0])
    cool_start = min([float(r["t"]) for r in rows if r["phase"] == "cool"] or [None],
                     key=lambda v: v if v is not None else 1e18)
    panels = [("rss_kib", "RSS (MiB)", 1 / 1024.0), ("fds", "open fds", 1.0),
              ("flows_active", "flows in table", 1.0), ("held", "held packets", 1.0),
              ("latency_us", "verdict latency\nper s (us)", 1.0)]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.1 * len(panels)), sharex=True)
    for ax, (name, label, scale) in zip(axes, panels):
        xs, ys = series(rows, name, scale)
        ax.plot(xs, ys, linewidth=0.9)
        ax.set_ylabel(label)
        ax.axvspan(0, warm_end, color="0.9", label="warm-up")
        if cool_start is not None:
            ax.axvspan(cool_start, max(xs or [cool_start]), color="#e8f0ff", label="cool-down")
        ax.grid(True, linewidth=0.3)
    # The last panel also carries each second's p99 (from the histogram's buckets).
    xs, ys = series(rows, "latency_p99_us")
    if xs:
        axes[-1].plot(xs, ys, linewidth=0.9, color="tab:red")
        axes[-1].set_yscale("log")
        axes[-1].legend(axes[-1].get_lines(), ["mean", "p99"], loc="upper right", fontsize=7)
    rss = figures.get("rss_kib", {})
    if rss.get("bound"):
        axes[0].axhline(rss["bound"] / 1024.0, color="red", linestyle="--", linewidth=0.8,
                        label="bound")
        axes[0].legend(loc="lower right", fontsize=7)
    fds = figures.get("fds", {})
    if fds.get("warmup_peak") is not None:
        axes[1].axhline(fds["warmup_peak"] + 5, color="red", linestyle="--", linewidth=0.8)
    axes[-1].set_xlabel("seconds")
    fig.suptitle("flightwall soak: 2 queues, mixed allowed / denied / adversarial traffic, "
                 "SIGHUP every 20 s", fontsize=9)
    fig.tight_layout()
    fig.savefig(args.png, dpi=100)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
