#!/usr/bin/env python3
"""Plots the latency CDFs `halio bench --pattern ... --plot OUT.png` measured: one
line per row (backend / device / block size / queue depth), latency on a log axis.

Usage: plot_latency.py ROWS.jsonl OUT.png   (needs python3-matplotlib)
Each input line: {"label": ..., "cdf": [[latency_ns, cumulative_fraction], ...]}.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(data_path, png_path):
    rows = [json.loads(line) for line in open(data_path) if line.strip()]
    rows = [row for row in rows if row["cdf"]]
    if not rows:
        sys.exit("no successful rows to plot")
    figure, axes = plt.subplots(figsize=(8, 5))
    for row in rows:
        latency_us = [point[0] / 1e3 for point in row["cdf"]]
        fraction = [point[1] for point in row["cdf"]]
        axes.step(latency_us, fraction, where="post", label=row["label"])
    axes.set_xscale("log")
    axes.set_xlabel("latency, queue call to completion seen (us)")
    axes.set_ylabel("fraction of requests")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(png_path, dpi=120)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
