#!/usr/bin/env python3
"""Smoke-tests `halio bench` on a small scratch file: every row succeeds with
positive throughput, the JSON keys documented in bench/README.md are there,
an existing --file is never modified, and bad arguments fail with a one-line
message. Usage: bench_test.py HALIO"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

halio = sys.argv[1]
KEYS = ("backend", "device", "operation", "flush", "direct", "block_size", "queue_depth",
        "workers", "buffer_offset", "target", "bytes", "runs", "gbps_median", "gbps_min",
        "gbps_max", "cpu_percent")


def bench(*args):
    result = subprocess.run([halio, "bench", "--json", "--no-progress", "--runs", "2", *args],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert rows, result.stdout
    for row in rows:
        for key in KEYS:
            assert key in row, f"missing {key}: {row}"
        assert row["gbps_median"] > 0 and row["gbps_min"] <= row["gbps_max"], row
    return rows


rows = bench("--size", "8M", "--block-size", "256K,1M", "--queue-depth", "1,4")
devices = {row["device"] for row in rows}
assert devices == {"local_sync", "local_async"}, devices
assert {row["block_size"] for row in rows} == {256 << 10, 1 << 20}, rows

writes = bench("--size", "4M", "--write", "--backend", "sync")
assert {row["flush"] for row in writes} == {True, False}, writes
assert all(row["operation"] == "write" for row in writes)

with tempfile.NamedTemporaryFile(delete=False) as existing:
    existing.write(os.urandom(3 << 20))
try:
    before = hashlib.sha256(open(existing.name, "rb").read()).hexdigest()
    rows = bench("--file", existing.name, "--buffer-offset", "16", "--whole-buffer")
    assert all(row["bytes"] == 3 << 20 and row["buffer_offset"] == 16 for row in rows), rows
    after = hashlib.sha256(open(existing.name, "rb").read()).hexdigest()
    assert before == after, "halio bench modified --file"
finally:
    os.unlink(existing.name)

bad = subprocess.run([halio, "bench", "--backend", "fastest", "--size", "1M"],
                     capture_output=True, text=True)
assert bad.returncode != 0 and bad.stderr.startswith("halio"), bad
assert "io_uring, asio, sync" in bad.stderr, bad.stderr
print("bench checks passed")
