#!/usr/bin/env python3
"""Runs `halio probe --json` (and the human form) and checks what a user
relies on: the keys exist, the pick is consistent with availability, and a
blocked io_uring is explained. Usage: probe_test.py HALIO [SECCOMP_LAUNCHER]"""
import json
import subprocess
import sys

halio = sys.argv[1]
launcher = sys.argv[2] if len(sys.argv) > 2 else None


def probe(prefix=()):
    out = subprocess.run([*prefix, halio, "probe", "--json"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


report = probe()
for key in ("os", "kernel", "io_uring_available", "io_uring_reason", "asio_available",
            "auto_backend", "auto_reason", "direct_io_offset_alignment", "seccomp_mode",
            "memlock_soft_bytes", "io_uring_disabled_sysctl"):
    assert key in report, f"missing key {key}: {report}"
expected = ("io_uring" if report["io_uring_available"]
            else "asio" if report["asio_available"] else "sync")
assert report["auto_backend"] == expected, report
# Every device halio knows, built here or not, with what it needs.
details = {d["name"]: d for d in report["device_details"]}
for name in report["devices"].split(","):
    assert details[name]["listed"] is True, details
for name in ("local_sync", "local_async", "local_discrete"):
    assert details[name]["available"] is True and details[name]["reason"] == "", details
    assert details[name]["needs"].startswith("nothing"), details
assert "CUDA" in details["cuda"]["needs"] and "GPU" in details["cuda"]["needs"], details
if not details["cuda"]["listed"]:  # not built, or no GPU: CreateDevice says which
    assert details["cuda"]["available"] is False and details["cuda"]["reason"], details
for d in details.values():
    assert d["available"] == (d["reason"] == ""), d
human = subprocess.run([halio, "probe"], check=True, capture_output=True, text=True).stdout
assert "auto picks:" in human, human
# cuda: listed among the devices exactly when usable; unavailable always says why.
assert ("cuda" in report["devices"].split(",")) == report["cuda_available"], report
if report["cuda_available"]:
    assert report["cuda_reason"] == "" and report["cuda_read_path"] == "staged", report
else:
    assert report["cuda_reason"] and report["cuda_read_path"] is None, report
    assert ("built without CUDA" in report["cuda_reason"]) == (not report["cuda_built"]), report
assert "cuda:" in human, human
for name in details:
    assert f"  {name}:" in human, (name, human)
bad = subprocess.run([halio, "probe", "--path", "/nonexistent/dir"], capture_output=True,
                     text=True)
assert bad.returncode != 0 and bad.stderr.startswith("halio:"), bad

if launcher:
    blocked = probe([launcher, "EPERM"])
    assert blocked["io_uring_available"] is False, blocked
    assert "seccomp" in blocked["io_uring_reason"] or "io_uring_disabled" in blocked["io_uring_reason"], blocked
    assert blocked["auto_backend"] == ("asio" if blocked["asio_available"] else "sync"), blocked
print("probe checks passed")
