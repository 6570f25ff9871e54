"""halio.safe_open against a numpy + json parse of the same files."""
import pickle
import subprocess

import numpy as np
import pytest

import generate_fixtures
import halio
from conftest import (expected_dtype, fixture, halio_cli, parse_safetensors, parse_sharded,
                      reference_array, write_safetensors)

SAFETENSORS = ["st_all_dtypes.safetensors", "st_metadata.safetensors",
               "st_zero_size.safetensors", "st_empty.safetensors",
               "st_metadata_only.safetensors"]


@pytest.mark.parametrize("name", SAFETENSORS)
def test_keys_metadata_and_tensors_match_the_file(name):
    metadata, tensors = parse_safetensors(fixture(name))
    with halio.safe_open(fixture(name), framework="numpy", device="cpu") as f:
        assert f.keys() == sorted(tensors)
        assert f.offset_keys() == list(tensors)
        assert f.metadata() == metadata
        for tensor, (dtype, shape, raw) in tensors.items():
            array = f.get_tensor(tensor)
            assert isinstance(array, np.ndarray)
            assert array.tobytes() == raw, tensor
            assert f.get_slice(tensor).get_dtype() == dtype
            assert f.get_slice(tensor).get_shape() == shape
            want = expected_dtype(dtype)
            if want is None:  # packed: the bytes, one row per outer index when whole
                assert array.dtype == np.uint8 and array.size == len(raw), tensor
            else:
                assert array.dtype.itemsize == want.itemsize, tensor
                assert array.dtype == want and list(array.shape) == shape, tensor


def test_dtypes_numpy_lacks_keep_their_bits():
    _, tensors = parse_safetensors(fixture("st_all_dtypes.safetensors"))
    with halio.safe_open(fixture("st_all_dtypes.safetensors")) as f:
        bf16 = f.get_tensor("t_bf16")
        assert bf16.dtype.itemsize == 2 and bf16.shape == (2, 3)
        assert bf16.view(np.uint16).tobytes() == tensors["t_bf16"][2]
        fp8 = f.get_tensor("t_f8_e4m3")
        assert fp8.dtype.itemsize == 1 and fp8.view(np.uint8).tobytes() == tensors["t_f8_e4m3"][2]
        # F4 [2, 3] is 3 bytes: rows of 1.5 bytes are not whole, so one row.
        assert f.get_tensor("t_f4").shape == (3,)
        # F6_E3M2 [2, 4] is 6 bytes: 2 rows of 3.
        assert f.get_tensor("t_f6_e3m2").shape == (2, 3)


def test_values_decode_as_numpy_would():
    with halio.safe_open(fixture("st_metadata.safetensors")) as f:
        bias = f.get_tensor("bias")
    raw = parse_safetensors(fixture("st_metadata.safetensors"))[1]["bias"][2]
    np.testing.assert_array_equal(bias, np.frombuffer(raw, dtype="<f4"))


@pytest.mark.parametrize("index", [np.s_[0:1, :], np.s_[:, 1], np.s_[..., -1], np.s_[1],
                                   np.s_[::-1, ::2], np.s_[0, 0]])
def test_get_slice_selects_as_numpy_indexing(index):
    _, tensors = parse_safetensors(fixture("st_all_dtypes.safetensors"))
    with halio.safe_open(fixture("st_all_dtypes.safetensors")) as f:
        for name in ("t_f32", "t_i64", "t_u8"):
            dtype, shape, raw = tensors[name]
            part = f.get_slice(name)[index]
            want = reference_array(dtype, shape, raw)[index]
            assert isinstance(part, np.ndarray) and part.shape == np.shape(want)
            np.testing.assert_array_equal(part, want)
            assert len(f.get_slice(name)) == shape[0]


def test_each_get_tensor_is_a_new_writable_array():
    with halio.safe_open(fixture("st_metadata.safetensors")) as f:
        first = f.get_tensor("bias")
        first[:] = 0
        second = f.get_tensor("bias")
    assert first.flags.writeable and not np.shares_memory(first, second)
    assert second.tobytes() == parse_safetensors(fixture("st_metadata.safetensors"))[1]["bias"][2]
    assert first.tobytes() == bytes(8)


def test_sharded_index_reads_every_shard():
    metadata, tensors = parse_sharded(fixture("st_sharded.safetensors.index.json"))
    with halio.safe_open(fixture("st_sharded.safetensors.index.json")) as f:
        assert f.keys() == sorted(tensors)
        assert f.metadata() == {key: str(value) for key, value in metadata.items()}
        for name, (dtype, shape, raw) in tensors.items():
            assert f.get_tensor(name).tobytes() == raw, name
            assert f.get_slice(name).get_shape() == shape


def test_gguf_tensors_are_the_bytes_the_generator_wrote():
    with halio.safe_open(fixture("gguf_v3_quant.gguf")) as f:
        assert f.offset_keys() == [name for name, _, _ in generate_fixtures.QUANT_TENSORS]
        assert f.metadata()["general.architecture"] == "halio-test"
        for position, (name, dims, ggml_type) in enumerate(generate_fixtures.QUANT_TENSORS):
            raw = generate_fixtures.pattern(generate_fixtures.tensor_bytes(ggml_type, dims),
                                            position)
            array = f.get_tensor(name)
            assert array.tobytes() == raw, name
            type_name = generate_fixtures.GGML[ggml_type][0]
            assert f.get_slice(name).get_dtype() == type_name
            assert f.get_slice(name).get_shape() == list(reversed(dims))  # outermost first
            if type_name in ("F32", "F16"):
                assert array.shape == tuple(reversed(dims)), name
            else:  # quantized: rows of blocks, as gguf-py's reader gives them
                assert array.dtype == np.uint8
                assert array.shape == tuple(reversed(dims[1:])) + (len(raw) // (
                    np.prod(dims[1:], dtype=int) or 1),), name


def test_missing_name_is_a_key_error_naming_it():
    with halio.safe_open(fixture("st_metadata.safetensors")) as f:
        with pytest.raises(KeyError) as raised:
            f.get_tensor("no.such.tensor")
        assert isinstance(raised.value, halio.NotFoundError)
        assert raised.value.code == 5 and raised.value.code_name == "NOT_FOUND"
        assert "'no.such.tensor'" in str(raised.value)
        with pytest.raises(halio.NotFoundError, match="no.such.slice"):
            f.get_slice("no.such.slice")


def test_names_with_glob_characters_read_only_themselves(tmp_path):
    arrays = {"w[0]": np.arange(4, dtype=np.float32), "w0": np.ones(2, dtype=np.float32),
              "a*": np.zeros(3, dtype=np.int32), "a?b": np.arange(5, dtype=np.uint8)}
    path = write_safetensors(tmp_path / "globs.safetensors", arrays)
    with halio.safe_open(path) as f:
        for name, array in arrays.items():
            np.testing.assert_array_equal(f.get_tensor(name), array)


def test_closed_file_refuses_reads():
    f = halio.safe_open(fixture("st_metadata.safetensors"))
    with f:
        pass
    with pytest.raises(halio.InvalidArgumentError, match="closed"):
        f.get_tensor("bias")


def test_unknown_framework_is_refused():
    with pytest.raises(halio.InvalidArgumentError, match="framework 'tf'"):
        halio.safe_open(fixture("st_metadata.safetensors"), framework="tf")


def test_missing_file_is_file_not_found():
    with pytest.raises(FileNotFoundError) as raised:
        halio.safe_open(fixture("does_not_exist.safetensors"))
    assert raised.value.code_name == "NOT_FOUND" and "does_not_exist" in str(raised.value)


BAD_FILES = sorted(p.name for p in __import__("conftest").TESTDATA.iterdir()
                   if "_bad_" in p.name)


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_files_fail_with_the_cli_message(name):
    with pytest.raises(halio.Error) as raised:
        halio.safe_open(fixture(name))
    error = raised.value
    assert str(error) == f"{error.code_name}: {error.message}"
    assert error.code != 0 and error.message
    assert pickle.loads(pickle.dumps(error)).message == error.message
    cli = halio_cli()
    if cli is None:
        pytest.skip("HALIO_CLI is not set: cannot compare with the C++ message")
    result = subprocess.run([cli, "info", fixture(name)], capture_output=True, text=True)
    assert result.returncode != 0
    assert result.stderr == f"halio: {error}\n"


def test_threads_may_share_one_file():
    import concurrent.futures
    _, tensors = parse_safetensors(fixture("st_all_dtypes.safetensors"))
    with halio.safe_open(fixture("st_all_dtypes.safetensors")) as f:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            names = list(tensors) * 8
            got = list(pool.map(lambda name: f.get_tensor(name).tobytes(), names))
    assert got == [tensors[name][2] for name in names]
