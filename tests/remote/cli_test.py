#!/usr/bin/env python3
"""`halio info`, `halio load` and `halio bench --file` with http:// and s3:// URLs,
against the servers run_with_servers.py started (skipping, exit 77, when nginx
could not be had). The checksums of tensors loaded from a URL equal those of
the same fixture loaded from the local disk.
Usage (through run_with_servers.py): cli_test.py HALIO"""
import json
import os
import subprocess
import sys

halio = sys.argv[1]
nginx = os.environ.get("HALIO_TEST_NGINX_URL")
if not nginx:
    print("skipped:", os.environ.get("HALIO_TEST_NGINX_SKIP", "run through run_with_servers.py"))
    sys.exit(77)
www = os.environ["HALIO_TEST_WWW"]


def run(*args, ok=True, env=None):
    result = subprocess.run([halio, *args], capture_output=True, text=True, timeout=120,
                            env=env)
    if ok:
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


checked = 0

# info: a sharded index by URL, shards resolved beside it.
info = json.loads(run("info", "--json",
                      f"{nginx}/testdata/st_sharded.safetensors.index.json").stdout)
paths = [f["path"] for f in info["files"]]
assert paths == [f"{nginx}/testdata/st_sharded-0000{i}-of-00002.safetensors" for i in (1, 2)], paths
assert len(info["tensors"]) == 4, info
checked += 1

# A missing URL: NOT_FOUND naming it, exit 1.
missing = run("info", f"{nginx}/testdata/nope.gguf", ok=False)
assert missing.returncode == 1 and "NOT_FOUND" in missing.stderr and "nope.gguf" in missing.stderr, \
    missing.stderr
checked += 1

# load --checksums on every local device: the bytes that landed are the ones
# a load of the same fixture from the local disk checksums to.
def checksums(*args):
    loaded = json.loads(run("load", "--json", "--no-progress", "--checksums", *args).stdout)
    assert loaded["tensors"] > 0, loaded
    return [(t["name"], t["xxh3_64"]) for t in loaded["loaded"]]


for name in ("st_all_dtypes.safetensors", "gguf_v3_quant.gguf"):
    local = checksums(os.path.join(www, "testdata", name))
    for device in ("local_sync", "local_async", "local_discrete"):
        assert checksums("--device", device, f"{nginx}/testdata/{name}") == local, (device, name)
        checked += 1

# s3:// through the environment's endpoint.
s3 = os.environ.get("HALIO_TEST_S3_URL")
if s3:
    env = dict(os.environ, AWS_ENDPOINT_URL=s3, AWS_REGION="us-east-1")
    loaded = json.loads(run("load", "--json", "--no-progress",
                            "s3://halio-test/testdata/st_all_dtypes.safetensors", env=env).stdout)
    assert loaded["tensors"] > 0, loaded
    checked += 1

# bench --file URL: a read benchmark of the remote file; --direct is refused.
bench = run("bench", "--file", f"{nginx}/pattern.bin", "--device", "local_async",
            "--backend", "sync", "--runs", "1", "--json")
rows = [json.loads(line) for line in bench.stdout.splitlines() if line.startswith("{")]
assert rows and all(row["gbps_median"] > 0 for row in rows), bench.stdout
refused = run("bench", "--file", f"{nginx}/pattern.bin", "--direct", ok=False)
assert refused.returncode == 2 and "need a local file" in refused.stderr, refused.stderr
checked += 2

print(f"cli_test: {checked} checks passed")
