#!/usr/bin/env python3
"""Writes a synthetic safetensors file for `halio bench --load`: TENSORS
tensors of F32 (sizes cycling over a transformer-like mix, 4 KiB to 64 MiB)
adding up to about SIZE bytes. Python standard library only.

Usage: make_safetensors.py OUT SIZE_MIB [TENSORS]
"""
import json
import os
import struct
import sys

MIX = [4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20, 256 << 10]


def main(out_path, size_mib, count=None):
    target = size_mib << 20
    sizes = []
    total = 0
    while total < target and (count is None or len(sizes) < count):
        size = min(MIX[len(sizes) % len(MIX)], target - total)
        size -= size % 4
        if size == 0:
            break
        sizes.append(size)
        total += size
    header, offset = {"__metadata__": {"format": "pt", "writer": "halio bench"}}, 0
    for i, size in enumerate(sizes):
        header[f"layers.{i // 6}.tensor{i % 6}"] = {
            "dtype": "F32", "shape": [size // 4], "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    block = os.urandom(1 << 20)
    with open(out_path, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for size in sizes:
            while size:
                chunk = min(size, len(block))
                out.write(block[:chunk])
                size -= chunk
    print(f"wrote {out_path}: {len(sizes)} tensors, {total} bytes")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) == 4 else None)
