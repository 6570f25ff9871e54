#!/usr/bin/env python3
"""Plots `halio bench --json` output: throughput vs block size, one line per
backend x device (and per queue depth when several were measured).

Usage: plot_throughput.py BENCH.jsonl OUT.png   (needs python3-matplotlib)
"""
import collections
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(data_path, png_path):
    rows = [json.loads(line) for line in open(data_path) if line.strip()]
    rows = [row for row in rows if "gbps_median" in row]
    if not rows:
        sys.exit("no successful rows to plot")
    depths = {row["queue_depth"] for row in rows if row["device"] != "local_sync"}
    lines = collections.defaultdict(list)
    for row in rows:
        label = f'{row["backend"]} / {row["device"]}'
        if len(depths) > 1 and row["device"] != "local_sync":
            label += f' qd={row["queue_depth"]}'
        if row.get("flush"):
            label += " +flush"
        lines[label].append((row["block_size"], row["gbps_median"], row["gbps_min"],
                             row["gbps_max"]))
    figure, axes = plt.subplots(figsize=(8, 5))
    for label, points in sorted(lines.items()):
        points.sort()
        sizes = [p[0] / 1024 for p in points]
        median = [p[1] for p in points]
        errors = [[p[1] - p[2] for p in points], [p[3] - p[1] for p in points]]
        axes.errorbar(sizes, median, yerr=errors, marker="o", capsize=3, label=label)
    if any("fio_gbps" in row for row in rows):
        by_size = collections.defaultdict(list)
        for row in rows:
            if "fio_gbps" in row:
                by_size[row["block_size"]].append(row["fio_gbps"])
        sizes = sorted(by_size)
        axes.plot([s / 1024 for s in sizes], [max(by_size[s]) for s in sizes], "k--",
                  label="fio (best job)")
    first = rows[0]
    axes.set_xscale("log", base=2)
    axes.set_xlabel("block size (KiB)")
    axes.set_ylabel("GB/s (median, min-max bars)")
    axes.set_title(f'halio {first["operation"]} of {first["bytes"] / 2**20:.0f} MiB, '
                   f'{"O_DIRECT" if first["direct"] else "page cache"}, '
                   f'{first.get("target", "ring")} buffer')
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(png_path, dpi=110)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
