#!/usr/bin/env python3
"""Writes tests/RELIABILITY.md from a run of the reliability tests.

Usage: tests/reliability_report.py BUILD_DIR OUTPUT.md   (or: ./dev.sh report)

Runs each reliability test binary of BUILD_DIR with --gtest_output=json,
then tabulates every case: one row per fault or input class (the test's name
says what is asserted; parameter words such as the fault kind are added), one
column per device x backend (file kind), each cell the outcome: "ok" (every
assertion held: right Status, right bytes, nothing leaked or hung), "skip"
(with the reason, numbered below the table), "disabled" (a DISABLED_ case
showing a known bug, not run) or "FAIL". Nothing in the table
is written by hand: rerun the command to regenerate it.
"""
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile

# (section title, binary under BUILD_DIR/tests, what the section covers)
SECTIONS = [
    ("Allocation failures", "alloc_failure_test",
     "Each scenario runs with a HostAllocator failing its Nth allocation, N = 1, 2, ... "
     "until it succeeds; every failing run must end with RESOURCE_EXHAUSTED (returned or "
     "delivered through the signal semaphore), free every allocation and not hang. The "
     "number is how many allocations the successful run made (= failing runs swept). "
     "\"device memory\" scenarios put the ops' buffers in the device's own memory "
     "(MemoryType::kDeviceLocal): on local_discrete memory the host cannot map, with file "
     "transfers staged through its staging pool."),
    ("Worker threads", "drivers_test",
     "Device creation when a worker thread cannot start, and device destruction with "
     "work in flight (local_async)."),
    ("Injected faults (IoInterceptor)", "faults/injected/fault_injection_test",
     "Faults injected into every read/write call result on every backend (buffers in "
     "the device's own memory: staged reads and writes on local_discrete): EINTR on "
     "every call, 1-byte short transfers (bytes past the reported count are poisoned), "
     "EAGAIN, EIO at an offset, ENOSPC on write."),
    ("Real faults", "faults/real/real_faults_test",
     "A size-limited tmpfs (ENOSPC); a FUSE filesystem (fuse3, tests/faults/real/fault_fs.cc) "
     "serving an EIO range, reads of at most 1000 bytes per call and slow reads, with "
     "direct_io so the kernel passes them through; a file truncated during an async load; "
     "the descriptor closed or replaced underneath a file."),
    ("Stress", "stress_test",
     "Random dependency DAGs from several threads checked byte for byte against a "
     "model; device destruction with work in flight, repeated (local_async and "
     "local_discrete, buffers in the device's own memory)."),
]

# Written by hand, as what the Windows build's suites cannot show.
WINDOWS_NOTES = """## What only real Windows can confirm

`./dev.sh wine` runs the platform, hal, async, drivers, conformance, io (parsers and loader),
allocation-failure, stress, injected-fault and C ABI suites on the Windows build under Wine
8, on every Windows device x backend (asio on an I/O completion port, sync) x file kind (fd,
O_DIRECT fd, memory; cold files skip: Windows cannot drop a file's cached pages). Wine runs
the Win32 calls on Linux files, so some Windows behaviour it cannot show:

- **Alignment of unbuffered I/O.** Windows fails a `FILE_FLAG_NO_BUFFERING` transfer whose
  offset, length or memory is not sector-aligned; Wine performs it. `AlignmentEnforcer`
  (tests/async/direct_io_test.cc), an IoInterceptor, fails every such call as Windows would,
  on both builds, and the direct-I/O tests check halio never makes one.
- **The alignment queries.** Wine implements neither `FileStorageInfo` nor
  `FileAlignmentInfo`, so under Wine the alignment comes from `GetDiskFreeSpaceW`'s sector
  size (512 there); which value real volumes report (4096 on 4Kn disks) is unchecked.
- **Cancellation of a finished read** on a completion port is not observable under Wine.
- **Page-cache-only reads** (Linux's RWF_NOWAIT) do not exist on Windows: small hot reads are
  queued like any other (the test that wants them skips, saying so), and cold-file cases skip.
- **asio's per-thread handler memory**: under Wine its thread-local lookup returned garbage on
  threads that never ran asio (a crash in `thread_info_base::allocate`, 1 run in 3), so the
  asio engine gives every handler heap memory of its own (`OnHeap`); whether real Windows
  has the same fault was not checked."""

# Only these drivers_test cases belong to the report.
DRIVERS_FILTER = "*FailingToStartAWorkerThread*:*Shutdown*:*Destroy*"

# Parameter names follow tests/testing/matrix.h: "<device>_<backend>_<kind>"
# for fd files, "<device>_memory" for memory files, "<device>" without a file,
# then suite-specific words (a fault kind).
DEVICES = ["local_sync", "local_async", "local_discrete"]
BACKENDS = ["io_uring", "asio", "sync", "memory"]  # columns: a memory file is its own
FILE_KINDS = ["fd_cold", "fd_direct", "fd", "memory"]
COLUMNS = [(d, b) for d in DEVICES for b in BACKENDS]


def column_of(words):
    """(device, backend) named by the parameter words, or None; and the rest."""
    device = next((w for w in words if w in DEVICES), None)
    rest = [w for w in words if w != device]
    backend = None
    for candidate in BACKENDS:
        if candidate in rest:
            backend = candidate
            rest.remove(candidate)
            break
    # Plain fd files are the default; the other kinds say what they are.
    rest = [w.replace("fd_", "") for w in rest if w != "fd"]
    if device is None and backend is None:
        return None, rest
    return (device or "any", backend or "any"), rest


def split_param(param):
    """local_async_io_uring_fd_direct_eio -> ['local_async', 'io_uring', 'fd_direct', 'eio']."""
    whole = sorted(DEVICES + ["io_uring"] + FILE_KINDS, key=len, reverse=True)
    words, rest = [], param
    while rest:
        token = next((t for t in whole if rest == t or rest.startswith(t + "_")), None)
        if token is None:
            token = rest.split("_", 1)[0]
        words.append(token)
        rest = rest[len(token) + 1:]
    return [w for w in words if w]


def humanize(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name).lower()


def skip_reasons(stdout):
    """Test name -> the message it printed before [  SKIPPED ]."""
    reasons, current, lines = {}, None, []
    for line in stdout.splitlines():
        if line.startswith("[ RUN      ] "):
            current, lines = line[13:].strip(), []
        elif line.startswith("[  SKIPPED ] ") and current:
            text = " ".join(l.strip() for l in lines if l.strip() and l.strip() != "Skipped")
            text = re.sub(r"^\S+:\d+: ", "", text)
            reasons[current] = text[:300]
            current = None
        elif current:
            lines.append(line)
    return reasons


def run_binary(build_dir, binary, extra_args):
    path = os.path.join(build_dir, "tests", binary)
    if not os.path.exists(path):
        return None, f"{binary} was not built"
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "out.json")
        proc = subprocess.run([path, f"--gtest_output=json:{out}"] + extra_args,
                              capture_output=True, text=True, timeout=1800)
        if not os.path.exists(out):
            return None, f"{binary} exited {proc.returncode} without results"
        with open(out) as f:
            return (json.load(f), skip_reasons(proc.stdout)), None


def cell_for(case, reasons, notes):
    if case.get("failures"):
        return "FAIL"
    # DISABLED_ cases (a known bug each, described at the test) did not run.
    if case.get("status") == "NOTRUN" or case.get("result") == "SUPPRESSED":
        return "disabled"
    if case.get("result") == "SKIPPED":
        full = case["classname"] + "." + case["name"]
        reason = reasons.get(full, "skipped")
        if reason not in notes:
            notes.append(reason)
        return f"skip[{notes.index(reason) + 1}]"
    return "ok"


KNOWN_KEYS = {"name", "value_param", "type_param", "file", "line", "status", "result",
              "timestamp", "time", "classname", "failures", "seed"}


def rows_of(results, reasons, notes):
    """{row title: {column: cell}}, in test order."""
    rows = {}
    for suite in results["testsuites"]:
        for case in suite["testsuite"]:
            parts = case["name"].split("/")
            test = re.sub(r"^DISABLED_", "", parts[0])
            column, rest = column_of(split_param(parts[1])) if len(parts) > 1 else (None, [])
            fixture = case["classname"].split("/")[-1]
            fixture = re.sub(r"Test$", "", fixture)
            title = humanize(fixture) + ": " + humanize(test)
            # Words the title already says ("direct" of a direct-read fixture)
            # are not repeated.
            rest = [w for w in rest if w not in title.split()]
            if rest:
                title += " (" + " ".join(rest) + ")"
            cell = cell_for(case, reasons, notes)
            counts = {k: v for k, v in case.items() if k not in KNOWN_KEYS}
            rows.setdefault(title, {})
            if counts:
                for key, value in counts.items():
                    sub = rows.setdefault(f"{title}: {key.replace('_', ' ')}", {})
                    sub[column] = f"{cell} ({value})" if cell == "ok" else cell
                rows.pop(title, None)
            else:
                rows[title][column] = cell
    return rows


def table(rows):
    used = [c for c in COLUMNS if any(c in r for r in rows.values())]
    extra = sorted({c for r in rows.values() for c in r if c not in COLUMNS and c is not None},
                   key=str)
    columns = used + extra
    has_none = any(None in r for r in rows.values())
    header = ["case"] + [f"{d} / {b}" for d, b in columns] + (["(no device)"] if has_none else [])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for title, cells in rows.items():
        values = [cells.get(c, "") for c in columns]
        if has_none:
            values.append(cells.get(None, ""))
        lines.append("| " + " | ".join([title] + values) + " |")
    return lines


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    build_dir, output = sys.argv[1], sys.argv[2]
    notes, body, totals = [], [], {"ok": 0, "skip": 0, "disabled": 0, "FAIL": 0}
    for title, binary, about in SECTIONS:
        args = [f"--gtest_filter={DRIVERS_FILTER}"] if binary == "drivers_test" else []
        ran, error = run_binary(build_dir, binary, args)
        body += [f"## {title}", "", about, ""]
        if error:
            body += [f"Not run: {error}.", ""]
            totals["FAIL"] += 1
            continue
        results, reasons = ran
        rows = rows_of(results, reasons, notes)
        for cells in rows.values():
            for cell in cells.values():
                totals[cell.split("[")[0].split(" ")[0]] += 1
        body += table(rows) + [""]
    verdict = ("No case lost or corrupted data silently: every case either moved every byte "
               "correctly or failed with a Status naming what failed."
               if totals["FAIL"] == 0 else
               f"{totals['FAIL']} case(s) FAILED: see the cells marked FAIL.")
    if totals["disabled"]:
        verdict += (f" {totals['disabled']} case(s) disabled, not run: each shows a known "
                    "bug its test describes (the cells marked disabled).")
    head = [
        "# halio reliability report",
        "",
        "Generated by `./dev.sh report` (which runs "
        "`tests/reliability_report.py build tests/RELIABILITY.md`); do not edit by hand.",
        f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on "
        f"Linux {platform.release()}.",
        "",
        f"**{totals['ok']} ok, {totals['skip']} skipped, {totals['disabled']} disabled, "
        f"{totals['FAIL']} failed.** {verdict}",
        "",
        "CI (`.ci/run`) runs these same tests in the normal build, under ASan+UBSan (with "
        "LeakSanitizer) and, for the threaded suites, under TSan; the parser fuzzers run "
        "there for 60 s each. Columns are device / backend (`memory` = a memory file, "
        "`any` = not specific to one). A cell is `ok` when every assertion of the case held.",
        "",
        "Allocations that still use the C++ heap rather than the caller's HostAllocator: "
        "`std::string` text (Status messages, file descriptions), `std::thread`'s start "
        "record, the process-wide I/O engines (`IoEngine::Shared`: the io_uring ring and "
        "asio pool), the parameter-file parsers (`OpenParameterIndex`), the loader's result "
        "vector (`LoadedParameters::tensors`), `LoadOptions::select` glob matching, and "
        "`WaitSemaphores` with more than one semaphore.",
        "",
    ]
    body += WINDOWS_NOTES.splitlines() + [""]
    tail = ["## Skip reasons", ""] + [f"{i + 1}. {n}" for i, n in enumerate(notes)] if notes else []
    with open(output, "w") as f:
        f.write("\n".join(head + body + tail) + "\n")
    print(f"wrote {output}: {totals['ok']} ok, {totals['skip']} skipped, "
          f"{totals['disabled']} disabled, {totals['FAIL']} failed")
    return 1 if totals["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
