#!/usr/bin/env python3
"""`halio info` and `halio load` on the real files in ../shared/testdata (where
that folder exists beside the source tree; a fresh clone has none) and on the
fixtures: the listed tensors, JSON keys, checksums equal to what xxhsum -H3
computes over the same byte ranges, and clear failures, also for paths that are
not parameter files (a FIFO must fail at once, not hang).
Usage: params_cli_test.py HALIO SHARED_TESTDATA IO_TESTDATA"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

halio, shared, fixtures = sys.argv[1:4]

# Every run is bounded, so an open that blocks (a FIFO) fails the test
# instead of hanging it until meson's timeout.
TIMEOUT_S = 10


def run(*args, ok=True):
    result = subprocess.run([halio, *args], capture_output=True, text=True, timeout=TIMEOUT_S)
    if ok:
        assert result.returncode == 0, (args, result.stderr)
    return result


def xxh3(path, offset, length):
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(length)
    out = subprocess.run(["xxhsum", "-H3", "-"], input=data, capture_output=True, check=True)
    return out.stdout.split()[-1].decode()


# Every device this halio has (local_discrete's tensors land in device memory;
# --checksums reads them back through the device).
DEVICES = json.loads(run("probe", "--json").stdout)["devices"].split(",")
assert {"local_sync", "local_async", "local_discrete"} <= set(DEVICES), DEVICES


def check_info_and_load(path):
    info = json.loads(run("info", "--json", path).stdout)
    assert {"files", "metadata", "tensors"} <= info.keys(), info
    assert info["tensors"], info
    for tensor in info["tensors"]:
        assert {"name", "dtype", "shape", "file", "offset", "bytes"} <= tensor.keys(), tensor
    if os.path.basename(path).startswith("multiple"):
        assert [t["name"] for t in info["tensors"]] == ["tensor0", "tensor1", "tensor2"], info
        assert [t["bytes"] for t in info["tensors"]] == [16, 8, 48], info
    for device in DEVICES:
        for backend, flags in (("auto", ()), ("sync", ()), ("auto", ("--direct",)),
                               ("auto", ("--map",))):
            loaded = json.loads(run("load", "--json", "--checksums", "--no-progress", *flags,
                                    "--device", device, "--backend", backend, path).stdout)
            assert loaded["device"] == device, loaded
            # --map views the files where the device's memory is host memory;
            # local_discrete's is not, so it reads there.
            assert loaded["mapped"] == ("--map" in flags and device != "local_discrete"), loaded
            assert loaded["tensors"] == len(info["tensors"]), loaded
            assert loaded["bytes"] == sum(t["bytes"] for t in info["tensors"]), loaded
            if shutil.which("xxhsum"):
                for tensor, got in zip(info["tensors"], loaded["loaded"]):
                    file = info["files"][tensor["file"]]["path"]
                    want = xxh3(file, tensor["offset"], tensor["bytes"])
                    assert got["xxh3_64"] == want, (path, tensor["name"], got, want)


def check_select(path, glob, want):
    selected = json.loads(run("load", "--json", "--no-progress", "--select", glob, path).stdout)
    assert [t["name"] for t in selected["loaded"]] == want, (path, glob, selected)


def check_refused(path, *needles):
    """`halio info PATH` fails at once with a message naming PATH and `needles`."""
    result = run("info", path, ok=False)
    assert result.returncode != 0 and result.stderr.startswith("halio:"), (path, result)
    for needle in (path, *needles):
        assert needle in result.stderr, (path, needle, result.stderr)


sharded = os.path.join(fixtures, "st_sharded.safetensors.index.json")
check_info_and_load(sharded)
check_select(sharded, "layer.*.w", ["layer.0.w", "layer.1.w"])
check_select(sharded, "*.weight", ["embed.weight", "head.weight"])
if os.path.isdir(shared):
    for name in ("multiple.safetensors", "multiple.gguf"):
        check_info_and_load(os.path.join(shared, name))
        check_select(os.path.join(shared, name), "tensor[12]", ["tensor1", "tensor2"])
else:
    print(f"note: {shared} missing; checking only the fixtures")

bad = run("load", "--select", "nope*", sharded, ok=False)
assert bad.returncode != 0 and bad.stderr.startswith("halio:") and "nope*" in bad.stderr, bad
assert "--select" in bad.stderr, bad
# A device name this halio does not have: refused before anything loads,
# naming the flag, the name and every known device.
for args in (("load", "--device", "tpu", sharded), ("load", "--device", "", sharded)):
    unknown = run(*args, ok=False)
    assert unknown.returncode == 2 and unknown.stderr.startswith("halio:"), unknown
    for needle in ("--device", "unknown device", *DEVICES):
        assert needle in unknown.stderr, (needle, unknown.stderr)
assert "local_discrete" in run("load", "--help").stdout
broken = run("info", os.path.join(fixtures, "st_bad_header_size_past_end.safetensors"), ok=False)
assert broken.returncode != 0 and broken.stderr.startswith("halio:"), broken

# Paths that are not parameter files: refused with what they are, at once.
REGULAR_OR_BLOCK = "regular file or block device"
NOT_RECOGNISED = ("not a recognised parameter file", "safetensors", ".safetensors.index.json",
                  "GGUF")
with tempfile.TemporaryDirectory() as scratch:
    fifo = os.path.join(scratch, "pipe")
    os.mkfifo(fifo)  # nobody writes: a blocking open would never return
    check_refused(fifo, "FIFO", REGULAR_OR_BLOCK)
    check_refused("/dev/null", "character device", REGULAR_OR_BLOCK)
    check_refused(scratch, "directory")  # CLI11's check or the library's: both say so
    text = os.path.join(scratch, "passwd")
    with open(text, "w") as f:
        f.write("root:x:0:0:root:/root:/bin/bash\n"
                "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    check_refused(text, *NOT_RECOGNISED)
    assert "exceeds" not in run("info", text, ok=False).stderr  # the parser's detail
    for name, contents in (("empty", b""), ("tiny", b"abc")):
        path = os.path.join(scratch, name)
        with open(path, "wb") as f:
            f.write(contents)
        check_refused(path, *NOT_RECOGNISED)
print("info/load checks passed")
