#!/usr/bin/env python3
"""Reference loader for `halio bench --load`: reads each tensor of a parameter
file with numpy.fromfile at its offset, the way a plain Python loader would.

Usage: numpy_load.py TENSORS.json   (the output of `halio info --json`)
Prints one JSON object: {"bytes": N, "seconds": S}. Exits 77 without numpy.
"""
import json
import sys
import time

try:
    import numpy
except ImportError:
    print("numpy is not installed (sudo apt-get install python3-numpy)", file=sys.stderr)
    sys.exit(77)


def main(info_path):
    info = json.load(open(info_path))
    files = [entry["path"] for entry in info["files"]]
    start = time.perf_counter()
    total = 0
    arrays = []
    for tensor in info["tensors"]:
        array = numpy.fromfile(files[tensor["file"]], dtype=numpy.uint8,
                               count=tensor["bytes"], offset=tensor["offset"])
        if array.size != tensor["bytes"]:
            sys.exit(f'short read of {tensor["name"]}')
        arrays.append(array)
        total += array.size
    seconds = time.perf_counter() - start
    print(json.dumps({"bytes": total, "seconds": seconds}))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
