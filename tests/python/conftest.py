"""Shared helpers for the halio pytest suite (tests/python).

The reference for every value is a parse done here, with numpy and json only,
of the same fixture files the C++ tests read (tests/io/testdata), so halio is
checked against the format, not against itself.
"""
import json
import os
import pathlib
import struct
import sys

import numpy as np
import pytest

TESTDATA = pathlib.Path(os.environ.get(
    "HALIO_IO_TESTDATA", pathlib.Path(__file__).resolve().parent.parent / "io" / "testdata"))
sys.path.insert(0, str(TESTDATA))  # generate_fixtures: the GGUF fixtures' expected bytes

import halio  # noqa: E402: run_pytest.py skips the suite when it does not import

# The numpy dtype halio documents for each safetensors dtype, without ml_dtypes.
PLAIN = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "U16": np.uint16, "I16": np.int16,
         "F16": np.float16, "U32": np.uint32, "I32": np.int32, "F32": np.float32,
         "U64": np.uint64, "I64": np.int64, "F64": np.float64, "C64": np.complex64}
SAME_WIDTH = {"BF16": np.uint16, "F8_E4M3": np.uint8, "F8_E5M2": np.uint8,
              "F8_E4M3FNUZ": np.uint8, "F8_E5M2FNUZ": np.uint8, "F8_E8M0": np.uint8}


def fixture(name):
    return str(TESTDATA / name)


def parse_safetensors(path):
    """(metadata or None, {name: (dtype, shape, bytes)}) in file order."""
    data = pathlib.Path(path).read_bytes()
    (header_length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_length])
    metadata = header.pop("__metadata__", None)
    base = 8 + header_length
    tensors = {}
    for name, info in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0]):
        begin, end = info["data_offsets"]
        tensors[name] = (info["dtype"], list(info["shape"]), data[base + begin:base + end])
    return metadata, tensors


def parse_sharded(index_path):
    """(index metadata, {name: (dtype, shape, bytes)}) over every shard."""
    index = json.loads(pathlib.Path(index_path).read_text())
    tensors = {}
    folder = pathlib.Path(index_path).parent
    for shard in dict.fromkeys(index["weight_map"].values()):
        tensors.update(parse_safetensors(folder / shard)[1])
    return index.get("metadata"), tensors


def expected_dtype(dtype):
    """What halio.numpy_dtype must say for a safetensors dtype."""
    if dtype in PLAIN:
        return np.dtype(PLAIN[dtype])
    if dtype in SAME_WIDTH:
        try:
            import ml_dtypes  # noqa: F401
        except ImportError:
            return np.dtype(SAME_WIDTH[dtype])
        return halio.numpy_dtype(dtype)  # ml_dtypes' type: same width, checked by the caller
    return None


def reference_array(dtype, shape, raw):
    numpy_type = halio.numpy_dtype(dtype)
    array = np.frombuffer(raw, dtype=np.uint8)
    return array if numpy_type is None else array.view(numpy_type).reshape(shape)


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: numpy array}; written back to back, as safetensors does."""
    names = {np.dtype(np.float32): "F32", np.dtype(np.uint8): "U8", np.dtype(np.int32): "I32"}
    header, offset, blobs = {}, 0, []
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, array in tensors.items():
        raw = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": names[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text)
        for blob in blobs:
            out.write(blob)
    return str(path)


def halio_cli():
    """The halio CLI built beside the module (HALIO_CLI), or None."""
    path = os.environ.get("HALIO_CLI")
    return path if path and os.access(path, os.X_OK) else None
