#!/usr/bin/env python3
"""How fast halio.load fills fresh memory after the memory sat idle, in one process.

    python_fresh_memory.py FILE [--thp-off]

Loads FILE with halio.load, drops the result and loads it again, with 0, 5 and 10
seconds of sleep before some of the loads, and prints GB/s for each. On a VM
with free page reporting (virtio-balloon) memory free for about 2 s goes back
to the host and is slow to touch again; elsewhere every row should be alike.
--thp-off disables transparent huge pages for this process
(prctl(PR_SET_THP_DISABLE)), so the arena is faulted in 4 KiB pages.
Needs an importable halio (PYTHONPATH=build/python); Linux only.
"""
import argparse
import ctypes
import gc
import time

PR_SET_THP_DISABLE = 41
PAUSES = [0, 0, 5, 0, 10, 0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--thp-off", action="store_true")
    args = parser.parse_args()
    if args.thp_off:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0:
            raise SystemExit(f"prctl(PR_SET_THP_DISABLE) failed: errno {ctypes.get_errno()}")
    import halio
    for pause in PAUSES:
        time.sleep(pause)
        start = time.perf_counter()
        loaded = halio.load(args.file)
        seconds = time.perf_counter() - start
        print(f"{'4 KiB pages' if args.thp_off else 'huge pages'} after {pause:2d} s idle: "
              f"{loaded.bytes / seconds / 1e9:.2f} GB/s")
        del loaded
        gc.collect()


if __name__ == "__main__":
    main()
