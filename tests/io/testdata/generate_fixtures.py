#!/usr/bin/env python3
"""Writes the parameter-file fixtures for tests/io (python3 standard library only).

    python3 tests/io/testdata/generate_fixtures.py [OUTPUT_DIR]

Deterministic: the same bytes on every run, so the checked-in files can be
regenerated and diffed. Valid fixtures are named for what they cover
(st_* safetensors, gguf_* GGUF, st_sharded* a sharded set); malformed ones
are named <format>_bad_<case> and each breaks exactly one rule. The
expected values live in tests/io/*_test.cc.

Formats: safetensors (https://github.com/huggingface/safetensors, README
"Format") and GGUF (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md).
"""

import json
import os
import struct
import sys

# --- safetensors ---------------------------------------------------------------

# name -> bits per element (safetensors/src/tensor.rs Dtype::bitsize).
SAFETENSORS_BITS = {
    "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8,
    "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32,
    "C64": 64, "F64": 64, "I64": 64, "U64": 64,
}


def pattern(length, seed):
    return bytes((i * 7 + seed) & 0xFF for i in range(length))


def safetensors_bytes(header, data=b""):
    """header: a dict (serialized compactly) or the exact JSON text (str or bytes)."""
    if isinstance(header, dict):
        header = json.dumps(header, separators=(",", ":"))
    raw = header.encode("utf-8") if isinstance(header, str) else header
    raw += b" " * ((8 - len(raw) % 8) % 8)  # the reference writer pads to 8
    return struct.pack("<Q", len(raw)) + raw + data


def packed_tensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape)] laid out back to back. Returns (header, data)."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data = b""
    for index, (name, dtype, shape) in enumerate(tensors):
        elements = 1
        for dim in shape:
            elements *= dim
        length = elements * SAFETENSORS_BITS[dtype] // 8
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + length]}
        data += pattern(length, index)
    return header, data


def safetensors_fixtures():
    files = {}
    all_dtypes = []
    for dtype in SAFETENSORS_BITS:
        # Sub-byte types need whole bytes: 6 x 4 bits, 4 x 6 bits.
        shape = {"F4": [2, 3], "F6_E2M3": [4], "F6_E3M2": [2, 4]}.get(dtype, [2, 3])
        all_dtypes.append(("t_" + dtype.lower(), dtype, shape))
    files["st_all_dtypes.safetensors"] = safetensors_bytes(*packed_tensors(all_dtypes))
    files["st_empty.safetensors"] = safetensors_bytes("{}")
    files["st_metadata_only.safetensors"] = safetensors_bytes(
        {"__metadata__": {"format": "pt", "note": "no tensors"}})
    files["st_zero_size.safetensors"] = safetensors_bytes({
        "empty": {"dtype": "F32", "shape": [0, 4], "data_offsets": [0, 0]},
        "scalar": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]},
        "after": {"dtype": "I8", "shape": [3], "data_offsets": [4, 7]},
        "empty_end": {"dtype": "U8", "shape": [2, 0], "data_offsets": [7, 7]},
    }, pattern(7, 1))
    files["st_metadata.safetensors"] = safetensors_bytes(*packed_tensors(
        [("weight", "BF16", [2, 2]), ("bias", "F32", [2])],
        metadata={"format": "pt", "author": "halio tests", "escaped": "a\"b\\c\n\u00e9"}))

    bad = {
        "too_short": b"\x05\x00\x00\x00\x00",
        "header_size_past_end": struct.pack("<Q", 1000) + b"{}" + b" " * 6,
        "header_too_large": struct.pack("<Q", 100_000_001) + b"{}" + b" " * 6,
        "invalid_json": safetensors_bytes('{"t": {"dtype": "F32",'),
        "invalid_utf8": safetensors_bytes(b'{"\xff": 1}'),
        "not_object": safetensors_bytes("[1, 2]"),
        "metadata_not_object": safetensors_bytes({"__metadata__": "text"}),
        "metadata_not_strings": safetensors_bytes({"__metadata__": {"epoch": 3}}),
        "duplicate_metadata_key": safetensors_bytes('{"__metadata__": {"a": "1", "a": "2"}}'),
        "tensor_not_object": safetensors_bytes({"t": [1, 2]}),
        "missing_dtype": safetensors_bytes({"t": {"shape": [1], "data_offsets": [0, 4]}}),
        "missing_shape": safetensors_bytes({"t": {"dtype": "F32", "data_offsets": [0, 4]}}),
        "missing_offsets": safetensors_bytes({"t": {"dtype": "F32", "shape": [1]}}),
        "dtype_not_string": safetensors_bytes(
            {"t": {"dtype": 32, "shape": [1], "data_offsets": [0, 4]}}, bytes(4)),
        "shape_not_array": safetensors_bytes(
            {"t": {"dtype": "F32", "shape": 4, "data_offsets": [0, 4]}}, bytes(4)),
        "shape_negative": safetensors_bytes(
            {"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, bytes(4)),
        "shape_float": safetensors_bytes(
            {"t": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}, bytes(4)),
        "offsets_not_pair": safetensors_bytes(
            {"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}}, bytes(8)),
        "unknown_dtype": safetensors_bytes(
            {"t": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}, bytes(16)),
        "size_mismatch": safetensors_bytes(
            {"t": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}}, bytes(16)),
        "shape_overflow": safetensors_bytes(
            {"t": {"dtype": "F32", "shape": [2**32, 2**32], "data_offsets": [0, 4]}}, bytes(4)),
        "sub_byte_partial": safetensors_bytes(
            {"t": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}}, bytes(2)),
        "offsets_reversed": safetensors_bytes(
            {"t": {"dtype": "U8", "shape": [0], "data_offsets": [8, 4]}}, bytes(8)),
        "offsets_past_end": safetensors_bytes(
            {"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, bytes(12)),
        "overlap": safetensors_bytes({
            "a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
            "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]},
        }, bytes(24)),
        "duplicate_tensor": safetensors_bytes(
            '{"t": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},'
            ' "t": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}', bytes(2)),
        "duplicate_field": safetensors_bytes(
            '{"t": {"dtype": "U8", "dtype": "F32", "shape": [1], "data_offsets": [0, 1]}}',
            bytes(1)),
    }
    for case, content in bad.items():
        files["st_bad_" + case + ".safetensors"] = content
    return files


def sharded_fixtures():
    files = {}
    shard1, shard2 = "st_sharded-00001-of-00002.safetensors", "st_sharded-00002-of-00002.safetensors"
    header1, data1 = packed_tensors([("embed.weight", "F16", [4, 2]), ("layer.0.w", "F32", [2, 2])])
    header2, data2 = packed_tensors([("layer.1.w", "F32", [2, 2]), ("head.weight", "BF16", [2, 4])])
    files[shard1] = safetensors_bytes(header1, data1)
    files[shard2] = safetensors_bytes(header2, data2)
    weight_map = {"embed.weight": shard1, "layer.0.w": shard1,
                  "layer.1.w": shard2, "head.weight": shard2}
    index = {"metadata": {"total_size": len(data1) + len(data2)}, "weight_map": weight_map}
    files["st_sharded.safetensors.index.json"] = json.dumps(index, indent=2).encode() + b"\n"

    def index_with(mapping):
        return json.dumps({"weight_map": mapping}, indent=2).encode() + b"\n"

    files["idx_bad_absolute.safetensors.index.json"] = index_with({"t": "/etc/passwd"})
    files["idx_bad_parent.safetensors.index.json"] = index_with({"t": "../outside.safetensors"})
    files["idx_bad_no_weight_map.safetensors.index.json"] = b'{"metadata": {}}\n'
    files["idx_bad_shard_not_string.safetensors.index.json"] = b'{"weight_map": {"t": 1}}\n'
    files["idx_bad_duplicate_tensor.safetensors.index.json"] = (
        b'{"weight_map": {"t": "' + shard1.encode() + b'", "t": "' + shard2.encode() + b'"}}\n')
    files["idx_bad_missing_tensor.safetensors.index.json"] = index_with(
        dict(weight_map, ghost=shard1))
    files["idx_bad_missing_shard.safetensors.index.json"] = index_with(
        {"t": "st_nonexistent.safetensors"})
    files["idx_bad_wrong_shard.safetensors.index.json"] = index_with(
        dict(weight_map, **{"embed.weight": shard2}))
    return files


# --- GGUF -----------------------------------------------------------------------

UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
SCALAR_FORMATS = {UINT8: "<B", INT8: "<b", UINT16: "<H", INT16: "<h", UINT32: "<I",
                  INT32: "<i", FLOAT32: "<f", BOOL: "<B", UINT64: "<Q", INT64: "<q",
                  FLOAT64: "<d"}
# ggml type id -> (name, block size, bytes per block): ggml.c type_traits.
GGML = {0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 8: ("Q8_0", 32, 34),
        12: ("Q4_K", 256, 144), 14: ("Q6_K", 256, 210), 30: ("BF16", 1, 2), 24: ("I8", 1, 1)}


def gguf_string(text):
    raw = text if isinstance(text, bytes) else text.encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw


def gguf_value(value_type, value):
    if value_type == STRING:
        return gguf_string(value)
    if value_type == ARRAY:
        element_type, items = value
        out = struct.pack("<IQ", element_type, len(items))
        return out + b"".join(gguf_value(element_type, item) for item in items)
    return struct.pack(SCALAR_FORMATS[value_type], value)


def gguf_kv(key, value_type, value):
    return gguf_string(key) + struct.pack("<I", value_type) + gguf_value(value_type, value)


def tensor_bytes(ggml_type, dims):
    _, block, size = GGML[ggml_type]
    rows = 1
    for dim in dims[1:]:
        rows *= dim
    return dims[0] // block * size * rows


def gguf_bytes(kvs, tensors, version=3, alignment=32):
    """kvs: [(key, type, value)]; tensors: [(name, dims, ggml_type)] placed in order."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    out += b"".join(gguf_kv(*kv) for kv in kvs)
    data = b""
    for index, (name, dims, ggml_type) in enumerate(tensors):
        data += b"\x00" * ((alignment - len(data) % alignment) % alignment)
        out += gguf_string(name) + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", dim) for dim in dims)
        out += struct.pack("<IQ", ggml_type, len(data))
        data += pattern(tensor_bytes(ggml_type, dims), index)
    out += b"\x00" * ((alignment - len(out) % alignment) % alignment)
    return out + data


EVERY_VALUE_TYPE = [
    ("general.architecture", STRING, "halio-test"),
    ("test.uint8", UINT8, 200),
    ("test.int8", INT8, -100),
    ("test.uint16", UINT16, 60000),
    ("test.int16", INT16, -30000),
    ("test.uint32", UINT32, 4000000000),
    ("test.int32", INT32, -2000000000),
    ("test.float32", FLOAT32, 0.5),
    ("test.bool", BOOL, 1),
    ("test.string", STRING, "h\u00e9llo"),
    ("test.uint64", UINT64, 2**63 + 5),
    ("test.int64", INT64, -(2**62)),
    ("test.float64", FLOAT64, -2.25),
    ("test.array_u8", ARRAY, (UINT8, [1, 2, 3])),
    ("test.array_bool", ARRAY, (BOOL, [1, 0])),
    ("test.array_f32", ARRAY, (FLOAT32, [1.5, -2.0])),
    ("test.array_str", ARRAY, (STRING, ["a", "b\"c"])),
    ("test.array_nested", ARRAY, (ARRAY, [(INT32, [1, -2]), (INT32, []), (STRING, ["x"])])),
    ("test.array_empty", ARRAY, (UINT64, [])),
]

QUANT_TENSORS = [
    ("tok_embd.weight", [64, 2], 2),   # Q4_0: 2 blocks x 18 bytes x 2 rows
    ("blk.0.attn_q.weight", [32, 3], 8),  # Q8_0: 34 bytes x 3 rows
    ("blk.0.ffn_down.weight", [256, 2], 12),  # Q4_K: 144 bytes x 2 rows
    ("blk.0.ffn_up.weight", [256, 1], 14),  # Q6_K
    ("output_norm.weight", [3], 0),
    ("blk.0.four_d", [4, 1, 1, 2], 1),
    ("empty", [0, 4], 0),
]


def gguf_fixtures():
    files = {}
    files["gguf_v3_quant.gguf"] = gguf_bytes(
        EVERY_VALUE_TYPE + [("general.alignment", UINT32, 64)], QUANT_TENSORS, alignment=64)
    files["gguf_v2.gguf"] = gguf_bytes(
        [("general.architecture", STRING, "halio-test"), ("general.name", STRING, "v2")],
        [("a", [64], 2), ("b", [2, 2], 30), ("c", [5], 24)], version=2)
    files["gguf_empty.gguf"] = gguf_bytes([], [])

    arch = [("general.architecture", STRING, "x")]
    one_f32 = [("t", [4], 0)]

    def header(version=3, tensor_count=0, kv_count=0):
        return b"GGUF" + struct.pack("<IQQ", version, tensor_count, kv_count)

    def tensor_info(name, dims, ggml_type, offset):
        return (gguf_string(name) + struct.pack("<I", len(dims)) +
                b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", ggml_type, offset))

    def raw(kv_blob, infos, data=b"", kv_count=1, tensor_count=None, alignment=32):
        out = header(3, len(infos) if tensor_count is None else tensor_count, kv_count)
        out += kv_blob + b"".join(infos)
        out += b"\x00" * ((alignment - len(out) % alignment) % alignment)
        return out + data

    nested = (INT32, [1])
    for _ in range(40):
        nested = (ARRAY, [nested])
    bad = {
        "magic": b"GGUX" + gguf_bytes([], [])[4:],
        "version_1": header(1),
        "version_4": header(4),
        "big_endian": b"GGUF" + struct.pack(">IQQ", 3, 0, 0),
        "tensor_count_huge": header(3, 2**63, 0),
        "kv_count_huge": header(3, 0, 2**63),
        "string_length_huge": header(3, 0, 1) + struct.pack("<Q", 2**62) + b"general",
        "value_type": header(3, 0, 1) + gguf_string("k") + struct.pack("<I", 13) + b"\x00" * 8,
        "array_type": header(3, 0, 1) + gguf_string("k") + struct.pack("<IIQ", ARRAY, 99, 1),
        "array_count_huge": header(3, 0, 1) + gguf_string("k") +
        struct.pack("<IIQ", ARRAY, UINT32, 2**62) + b"\x00" * 16,
        "bool_value": gguf_bytes([("k", BOOL, 2)], []),
        "nested_too_deep": gguf_bytes([("k", ARRAY, nested)], []),
        "alignment_not_pow2": gguf_bytes([("general.alignment", UINT32, 48)], one_f32),
        "alignment_zero": gguf_bytes([("general.alignment", UINT32, 0)], one_f32),
        "alignment_type": gguf_bytes([("general.alignment", UINT64, 32)], one_f32),
        # The same key and value twice is accepted (gguf-py writes that);
        # different values are not.
        "duplicate_key": gguf_bytes(arch + [("general.architecture", STRING, "y")], []),
        "n_dims": raw(gguf_kv(*arch[0]), [tensor_info("t", [1, 1, 1, 1, 1], 0, 0)], bytes(32)),
        "unknown_type": raw(gguf_kv(*arch[0]), [tensor_info("t", [4], 99, 0)], bytes(32)),
        "removed_type": raw(gguf_kv(*arch[0]), [tensor_info("t", [32], 4, 0)], bytes(32)),
        "block_multiple": raw(gguf_kv(*arch[0]), [tensor_info("t", [33], 2, 0)], bytes(64)),
        "dims_overflow": raw(gguf_kv(*arch[0]),
                             [tensor_info("t", [2**32, 2**32, 2**32], 0, 0)], bytes(32)),
        "misaligned_offset": raw(gguf_kv(*arch[0]), [tensor_info("t", [4], 0, 8)], bytes(64)),
        "offset_past_end": raw(gguf_kv(*arch[0]), [tensor_info("t", [4], 0, 32)], bytes(32)),
        "overlap": raw(gguf_kv(*arch[0]),
                       [tensor_info("a", [8], 0, 0), tensor_info("b", [8], 0, 0)], bytes(32)),
        "duplicate_tensor": raw(gguf_kv(*arch[0]),
                                [tensor_info("t", [4], 0, 0), tensor_info("t", [4], 0, 32)],
                                bytes(64)),
        # Cut inside the key/values, after enough bytes for their count.
        "truncated_header": gguf_bytes(EVERY_VALUE_TYPE, [])[:300],
        "truncated_data": gguf_bytes(arch, [("t", [64], 0)])[:-1],
    }
    for case, content in bad.items():
        files["gguf_bad_" + case + ".gguf"] = content
    return files


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    files = {}
    files.update(safetensors_fixtures())
    files.update(sharded_fixtures())
    files.update(gguf_fixtures())
    for name, content in sorted(files.items()):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(content)
    print(f"wrote {len(files)} fixtures to {out_dir}")


if __name__ == "__main__":
    main()
