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


STAGED_KEYS = ("mode", "direct", "write", "bytes", "staging_size", "staging_count",
               "copy_bytes_per_second", "copy_latency_us", "runs", "read_gbps", "copy_gbps",
               "staged_gbps", "efficiency")


def bench_rows(*args):
    result = subprocess.run([halio, "bench", "--json", "--no-progress", "--runs", "2", *args],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert rows, result.stdout
    return rows


def refused(*args, needles=()):
    """`halio bench ARGS` fails with a one-line message holding `needles`."""
    result = subprocess.run([halio, "bench", "--no-progress", *args], capture_output=True,
                            text=True)
    assert result.returncode != 0 and result.stderr.startswith("halio"), (args, result)
    for needle in needles:
        assert needle in result.stderr, (args, needle, result.stderr)


def bench(*args):
    rows = bench_rows(*args)
    for row in rows:
        for key in KEYS:
            assert key in row, f"missing {key}: {row}"
        assert row["gbps_median"] > 0 and row["gbps_min"] <= row["gbps_max"], row
    return rows


rows = bench("--size", "8M", "--block-size", "256K,1M", "--queue-depth", "1,4")
devices = {row["device"] for row in rows}
assert devices == {"local_sync", "local_async"}, devices
assert {row["block_size"] for row in rows} == {256 << 10, 1 << 20}, rows

# Every device halio has, local_discrete into device memory through staging.
devices = json.loads(subprocess.run([halio, "probe", "--json"], capture_output=True, text=True,
                                    check=True).stdout)["devices"].split(",")
rows = bench("--size", "8M", "--device", ",".join(devices), "--block-size", "1M",
             "--queue-depth", "2", "--whole-buffer")
assert {row["device"] for row in rows} == set(devices), rows
refused("--device", "local_async,tpu", "--size", "1M",
        needles=("unknown device 'tpu'", *devices))

# --staged: the three throughputs and their ratio per staging size x count.
staged = bench_rows("--staged", "--size", "8M", "--block-size", "1M,2M", "--queue-depth", "2,4",
                    "--copy-rate", "2G")
assert [(r["staging_size"], r["staging_count"]) for r in staged] == [
    (1 << 20, 2), (1 << 20, 4), (2 << 20, 2), (2 << 20, 4)], staged
for row in staged:
    for key in STAGED_KEYS:
        assert key in row, f"missing {key}: {row}"
    assert row["mode"] == "staged" and row["write"] is False, row
    assert row["copy_bytes_per_second"] == 2 << 30, row
    assert min(row["read_gbps"], row["copy_gbps"], row["staged_gbps"]) > 0, row
    want = row["staged_gbps"] / min(row["read_gbps"], row["copy_gbps"])
    assert abs(row["efficiency"] - want) < 0.02, row  # of the rounded medians
direct = bench_rows("--staged", "--direct", "--size", "4M", "--block-size", "1M",
                    "--queue-depth", "2")
assert len(direct) == 1 and direct[0]["direct"] is True and direct[0]["staged_gbps"] > 0, direct
table = subprocess.run([halio, "bench", "--staged", "--no-progress", "--runs", "1", "--size", "4M",
                        "--block-size", "1M", "--queue-depth", "2"],
                       capture_output=True, text=True)
assert table.returncode == 0, table.stderr
assert "read GB/s" in table.stdout and "efficiency" in table.stdout, table.stdout
refused("--staged", "--device", "local_async", "--size", "1M", needles=("--staged",))
# --staged --write: device memory -> staging -> a scratch file, the same three passes.
staged_writes = bench_rows("--staged", "--write", "--size", "4M", "--block-size", "1M",
                           "--queue-depth", "2,4")
assert [r["staging_count"] for r in staged_writes] == [2, 4], staged_writes
for row in staged_writes:
    assert row["write"] is True and "read_gbps" not in row, row
    assert min(row["write_gbps"], row["copy_gbps"], row["staged_gbps"]) > 0, row
    want = row["staged_gbps"] / min(row["write_gbps"], row["copy_gbps"])
    assert abs(row["efficiency"] - want) < 0.02, row
write_table = subprocess.run([halio, "bench", "--staged", "--write", "--no-progress", "--runs",
                              "1", "--size", "4M", "--block-size", "1M", "--queue-depth", "2"],
                             capture_output=True, text=True)
assert write_table.returncode == 0, write_table.stderr
assert "staged writes" in write_table.stdout and "write GB/s" in write_table.stdout, \
    write_table.stdout
refused("--staged", "--read-percent", "50", "--size", "1M", needles=("--staged",))
refused("--staged", "--copy-rate", "fast", "--size", "1M", needles=("fast",))

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

# --load on a chosen device (a tiny safetensors file written here).
with tempfile.TemporaryDirectory() as scratch:
    model = os.path.join(scratch, "tiny.safetensors")
    header = json.dumps({"w": {"dtype": "F32", "shape": [1024], "data_offsets": [0, 4096]}})
    header += " " * (-len(header) % 8)
    with open(model, "wb") as f:
        f.write(len(header).to_bytes(8, "little") + header.encode() + os.urandom(4096))
    for device in devices:
        loaded = subprocess.run([halio, "bench", "--no-progress", "--runs", "1", "--load", model,
                                 "--device", device], capture_output=True, text=True)
        assert loaded.returncode == 0, loaded.stderr
        assert f"halio ({device}, auto)" in loaded.stdout, loaded.stdout
    refused("--load", model, "--device", "tpu", needles=("unknown device 'tpu'", *devices))
    refused("--load", model, "--device", "local_sync,local_discrete", needles=("one device",))

# --pattern jobs: IOPS and latency rows on every device, a seed that repeats
# its requests exactly, mixes on the scratch file, and bad combinations.
IOPS_KEYS = ("backend", "device", "operation", "pattern", "read_percent", "direct",
             "block_size", "queue_depth", "workers", "seed", "runtime_s", "bytes_per_run",
             "runs", "iops_median", "iops_min", "iops_max", "gbps_median", "cpu_percent",
             "requests", "lat_ns_p50", "lat_ns_p90", "lat_ns_p99", "lat_ns_p999", "lat_ns_max",
             "requests_hash")


def iops_rows(*args):
    rows = bench_rows("--size", "4M", *args)
    for row in rows:
        for key in IOPS_KEYS:
            assert key in row, f"missing {key}: {row}"
        assert row["iops_median"] > 0 and row["iops_min"] <= row["iops_max"], row
        latencies = [row[k] for k in ("lat_ns_p50", "lat_ns_p90", "lat_ns_p99", "lat_ns_p999",
                                      "lat_ns_max")]
        assert 0 < latencies[0] and latencies == sorted(latencies), row
    return rows


rand = iops_rows("--pattern", "rand", "--device", ",".join(devices), "--queue-depth", "1,8",
                 "--bytes", "1M", "--seed", "7")
assert {row["device"] for row in rand} == set(devices), rand
for row in rand:
    assert row["pattern"] == "rand" and row["operation"] == "read" and row["block_size"] == 4096
    # 2 runs of 1 MiB in 4 KiB requests, every one timed.
    assert row["requests"] == 2 * 256, row
again = iops_rows("--pattern", "rand", "--backend", "sync", "--device", "local_sync",
                  "--bytes", "1M", "--seed", "7")
other = iops_rows("--pattern", "rand", "--backend", "sync", "--device", "local_sync",
                  "--bytes", "1M", "--seed", "8")
first = [r for r in rand if r["device"] == "local_sync" and r["backend"] == "sync"][0]
assert again[0]["requests_hash"] == first["requests_hash"], (again, first)
assert other[0]["requests_hash"] != first["requests_hash"], (other, first)
seq = iops_rows("--pattern", "seq", "--backend", "sync", "--device", "local_async",
                "--block-size", "64K", "--queue-depth", "4", "--bytes", "2M")
assert seq[0]["requests"] == 2 * 32 and seq[0]["requests_hash"] != first["requests_hash"], seq
mix = iops_rows("--pattern", "rand", "--read-percent", "70", "--backend", "sync",
                "--device", "local_async", "--queue-depth", "4", "--runtime", "0.2")
assert mix[0]["operation"] == "mix" and mix[0]["read_percent"] == 70, mix
assert mix[0]["runtime_s"] == 0.2, mix
table = subprocess.run([halio, "bench", "--pattern", "rand", "--no-progress", "--runs", "1",
                        "--size", "4M", "--backend", "sync", "--bytes", "1M"],
                       capture_output=True, text=True)
assert table.returncode == 0, table.stderr
assert "IOPS median" in table.stdout and "p99.9" in table.stdout, table.stdout
for args, needle in ((("--read-percent", "50"), "--pattern"),
                     (("--runtime", "1"), "--pattern"),
                     (("--pattern", "rand", "--block-size", "1000"), "4K to 16M"),
                     (("--pattern", "rand", "--queue-depth", "300"), "1 to 256"),
                     (("--pattern", "rand", "--whole-buffer"), "--whole-buffer"),
                     (("--pattern", "rand", "--read-percent", "50", "--write"), "--write"),
                     (("--pattern", "rand", "--bytes", "1K"), "less than one block"),
                     (("--pattern", "zigzag"), "zigzag")):
    refused("--size", "1M", *args, needles=(needle,))
with tempfile.NamedTemporaryFile() as existing:
    existing.write(os.urandom(1 << 20))
    existing.flush()
    refused("--file", existing.name, "--pattern", "rand", "--read-percent", "50",
            needles=("--file",))
# halio plots with Debian's Python (/usr/bin/python3), not this one.
have_matplotlib = subprocess.run(["/usr/bin/python3", "-c", "import matplotlib"],
                                 capture_output=True).returncode == 0
if have_matplotlib:
    with tempfile.TemporaryDirectory() as scratch:
        png = os.path.join(scratch, "latency.png")
        plotted = subprocess.run([halio, "bench", "--pattern", "rand", "--no-progress", "--runs",
                                  "1", "--size", "4M", "--backend", "sync", "--bytes", "1M",
                                  "--plot", png], capture_output=True, text=True)
        assert plotted.returncode == 0, plotted.stderr
        assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n", "not a PNG"
else:
    print("note: matplotlib missing; --plot not checked")

bad = subprocess.run([halio, "bench", "--backend", "fastest", "--size", "1M"],
                     capture_output=True, text=True)
assert bad.returncode != 0 and bad.stderr.startswith("halio"), bad
assert "io_uring, asio, sync" in bad.stderr, bad.stderr
print("bench checks passed")
