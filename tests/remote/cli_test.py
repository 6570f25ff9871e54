#!/usr/bin/env python3
"""`halio info`, `halio load` and `halio bench --file` with http:// and s3:// URLs,
against the servers run_with_servers.py started (skipping, exit 77, when nginx
could not be had). Checksums of loaded tensors equal xxhsum -H3 of the local
fixture's bytes.
Usage (through run_with_servers.py): cli_test.py HALIO"""
import json
import os
import shutil
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


def xxh3(path, offset, length):
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(length)
    out = subprocess.run(["xxhsum", "-H3", "-"], input=data, capture_output=True, check=True)
    return out.stdout.split()[-1].decode()


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

# load --checksums on every local device: the bytes that landed are the file's.
have_xxhsum = shutil.which("xxhsum") is not None
for name in ("st_all_dtypes.safetensors", "gguf_v3_quant.gguf"):
    url = f"{nginx}/testdata/{name}"
    listed = json.loads(run("info", "--json", url).stdout)["tensors"]
    for device in ("local_sync", "local_async", "local_discrete"):
        args = ["load", "--json", "--no-progress", "--device", device, url]
        if have_xxhsum:
            args.insert(1, "--checksums")
        loaded = json.loads(run(*args).stdout)
        assert loaded["tensors"] == len(listed), loaded
        if have_xxhsum:
            for tensor, got in zip(listed, loaded["loaded"]):
                want = xxh3(os.path.join(www, "testdata", name), tensor["offset"], tensor["bytes"])
                assert got["xxh3_64"] == want, (device, name, tensor, got)
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
