#!/usr/bin/env python3
"""The remote-file flags of `halio info`, `halio load` and `halio bench --file`
(--remote-*, --s3-*): shown in the help with their defaults, refused with the
flag's name when bad, and reaching the files each command opens, against the
fault server and s3rver that run_with_servers.py started (skipping, exit 77,
without the fault server).
Usage (through tests/remote/run_with_servers.py): remote_flags_test.py HALIO"""
import json
import os
import subprocess
import sys
import time

halio = sys.argv[1]
fault = os.environ.get("HALIO_TEST_FAULT_URL")
if not fault:
    print("skipped:", os.environ.get("HALIO_TEST_FAULT_SKIP", "run through run_with_servers.py"))
    sys.exit(77)
# The environment must not be what makes a flag seem to work.
ENV = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
checked = 0


def run(*args, ok=True, env=None):
    start = time.monotonic()
    result = subprocess.run([halio, *args], capture_output=True, text=True, timeout=120,
                            env=env or ENV)
    result.seconds = time.monotonic() - start
    if ok:
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


FLAGS_AND_DEFAULTS = {"--remote-in-flight": "=16", "--remote-request-size": "=16M",
                      "--remote-retries": "=4", "--remote-retry-backoff": "=100ms",
                      "--remote-deadline": "=120s", "--remote-connect-timeout": "=10s",
                      "--remote-ca-file": "", "--s3-region": "AWS_REGION",
                      "--s3-endpoint": "AWS_ENDPOINT_URL"}

# Help: every flag with its default, on each command; no flag for secrets.
for command in ("info", "load", "bench"):
    text = run(command, "--help").stdout
    lines = text.splitlines()
    for flag, default in FLAGS_AND_DEFAULTS.items():
        at = [i for i, line in enumerate(lines) if line.strip().startswith(flag + " ")]
        assert at, (command, flag, text)
        entry = " ".join(lines[at[0]:at[0] + 2])
        if command == "bench" and flag in ("--remote-in-flight", "--remote-request-size"):
            default = "each row's"  # bench's rows decide unless the flag is given
        assert default in entry, (command, flag, entry)
    for never in ("--access-key", "--secret", "--session-token", "--aws-"):
        assert never not in text, (command, never)
    checked += 1

# Bad values: usage error (2) naming the flag and what it wants.
url = f"{fault}/ok/flags.safetensors"
for flag, value, needle in (("--remote-deadline", "5x", "duration"),
                            ("--remote-retry-backoff", "0ms", "duration"),
                            ("--remote-connect-timeout", "-1s", "duration"),
                            ("--remote-request-size", "0", "size"),
                            ("--remote-request-size", "lots", "size"),
                            ("--remote-in-flight", "0", "range"),
                            ("--remote-retries", "-1", "--remote-retries"),
                            ("--s3-endpoint", "ftp://host", "endpoint URL"),
                            ("--remote-ca-file", "/nonexistent/ca.pem", "exist")):
    for command in ("info", "load"):
        bad = run(command, flag, value, url, ok=False)
        assert bad.returncode == 2, (command, flag, value, bad.stderr)
        assert flag in bad.stderr and needle in bad.stderr, (command, flag, value, bad.stderr)
    checked += 1

# --remote-retries reaches the file info opens: 0 retries give up after one
# attempt, the default after five.
unavailable = run("info", "--remote-retries", "0", "--remote-retry-backoff", "10ms",
                  f"{fault}/always-503/info-retries.safetensors", ok=False)
assert unavailable.returncode == 1 and "UNAVAILABLE" in unavailable.stderr, unavailable.stderr
assert "after 1 attempt" in unavailable.stderr, unavailable.stderr
default = run("info", "--remote-retry-backoff", "10ms",
              f"{fault}/always-503/info-default.safetensors", ok=False)
assert "after 5 attempts" in default.stderr, default.stderr
checked += 1

# --remote-deadline reaches the files load reads: the slow tensors (10 bytes/s)
# misses 300 ms at once instead of the default 120 s.
slow = run("load", "--no-progress", "--remote-deadline", "300ms",
           f"{fault}/slow-tensors/cli-deadline/slow.safetensors", ok=False)
assert slow.returncode == 1 and "DEADLINE_EXCEEDED" in slow.stderr, slow.stderr
assert "300 ms" in slow.stderr and slow.seconds < 10, (slow.seconds, slow.stderr)
checked += 1

# bench --file: the flags reach the rows' file (a deadline misses the trickle),
# and the heading says what the rows measure.
bench_slow = run("bench", "--file", f"{fault}/trickle/bench-deadline", "--device", "local_async",
                 "--runs", "1", "--no-progress", "--remote-deadline", "300ms", ok=False)
assert bench_slow.returncode != 0 and "DEADLINE_EXCEEDED" in bench_slow.stderr + bench_slow.stdout, \
    (bench_slow.stdout, bench_slow.stderr)
assert bench_slow.seconds < 20, bench_slow.seconds
bench = run("bench", "--file", f"{fault}/ok/bench-sizes", "--device", "local_async",
            "--block-size", "1M", "--queue-depth", "4", "--runs", "1", "--no-progress",
            "--remote-request-size", "256K", "--remote-in-flight", "2")
assert "range GETs of 256 KiB, 2 in flight" in bench.stdout, bench.stdout
plain = run("bench", "--file", f"{fault}/ok/bench-plain", "--device", "local_async",
            "--block-size", "1M", "--queue-depth", "4", "--runs", "1", "--no-progress")
assert "range GETs of block size, queue depth in flight" in plain.stdout, plain.stdout
checked += 1

# --s3-endpoint and --s3-region instead of AWS_ENDPOINT_URL / AWS_REGION.
s3 = os.environ.get("HALIO_TEST_S3_URL")
if s3:
    info = json.loads(run("info", "--json", "--s3-endpoint", s3, "--s3-region", "us-east-1",
                          "s3://halio-test/testdata/st_all_dtypes.safetensors").stdout)
    assert info["tensors"], info
    missing = run("info", "--s3-endpoint", s3, "--s3-region", "eu-west-3",
                  "s3://halio-test/testdata/nope.safetensors", ok=False)
    assert "NOT_FOUND" in missing.stderr and "region eu-west-3" in missing.stderr, missing.stderr
    assert f"endpoint {s3}" in missing.stderr, missing.stderr
    checked += 1
else:
    print("s3 checks skipped:", os.environ.get("HALIO_TEST_S3_SKIP"))

print(f"remote_flags_test: {checked} checks passed")
