#!/usr/bin/env python3
"""`halio info` and `halio load` on the real files in ../shared/testdata and on
the sharded fixture: the listed tensors, JSON keys, checksums equal to what
xxhsum -H3 computes over the same byte ranges, and clear failures.
Usage: params_cli_test.py HALIO SHARED_TESTDATA IO_TESTDATA"""
import json
import os
import shutil
import subprocess
import sys

halio, shared, fixtures = sys.argv[1:4]


def run(*args, ok=True):
    result = subprocess.run([halio, *args], capture_output=True, text=True)
    if ok:
        assert result.returncode == 0, (args, result.stderr)
    return result


def xxh3(path, offset, length):
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(length)
    out = subprocess.run(["xxhsum", "-H3", "-"], input=data, capture_output=True, check=True)
    return out.stdout.split()[-1].decode()


paths = []
if os.path.isdir(shared):
    paths += [os.path.join(shared, name) for name in ("multiple.safetensors", "multiple.gguf")]
else:
    print(f"note: {shared} missing; checking only the fixtures")
paths.append(os.path.join(fixtures, "st_sharded.safetensors.index.json"))

for path in paths:
    info = json.loads(run("info", "--json", path).stdout)
    assert {"files", "metadata", "tensors"} <= info.keys(), info
    assert info["tensors"], info
    for tensor in info["tensors"]:
        assert {"name", "dtype", "shape", "file", "offset", "bytes"} <= tensor.keys(), tensor
    if os.path.basename(path).startswith("multiple"):
        assert [t["name"] for t in info["tensors"]] == ["tensor0", "tensor1", "tensor2"], info
        assert [t["bytes"] for t in info["tensors"]] == [16, 8, 48], info
    for device in ("local_sync", "local_async"):
        for backend in ("auto", "sync"):
            loaded = json.loads(run("load", "--json", "--checksums", "--no-progress",
                                    "--device", device, "--backend", backend, path).stdout)
            assert loaded["tensors"] == len(info["tensors"]), loaded
            assert loaded["bytes"] == sum(t["bytes"] for t in info["tensors"]), loaded
            if shutil.which("xxhsum"):
                for tensor, got in zip(info["tensors"], loaded["loaded"]):
                    file = info["files"][tensor["file"]]["path"]
                    want = xxh3(file, tensor["offset"], tensor["bytes"])
                    assert got["xxh3_64"] == want, (path, tensor["name"], got, want)

selected = json.loads(run("load", "--json", "--no-progress", "--select", "tensor[12]",
                          paths[0]).stdout)
if os.path.basename(paths[0]).startswith("multiple"):
    assert [t["name"] for t in selected["loaded"]] == ["tensor1", "tensor2"], selected

bad = run("load", "--select", "nope*", paths[0], ok=False)
assert bad.returncode != 0 and bad.stderr.startswith("halio:") and "nope*" in bad.stderr, bad
broken = run("info", os.path.join(fixtures, "st_bad_header_size_past_end.safetensors"), ok=False)
assert broken.returncode != 0 and broken.stderr.startswith("halio:"), broken
print("info/load checks passed")
