"""halio.load: values, zero-copy views, select, progress, cancel, errors, mmap."""
import gc
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import halio
from conftest import fixture, parse_safetensors, parse_sharded, write_safetensors

ALL_DTYPES = fixture("st_all_dtypes.safetensors")


def big_file(folder, tensors=3, mib=40):
    """`tensors` F32 tensors of `mib` MiB, tensor i filled with i + 1."""
    elements = mib << 18
    header, offset = {}, 0
    for i in range(tensors):
        header[f"t{i}"] = {"dtype": "F32", "shape": [elements],
                           "data_offsets": [offset, offset + elements * 4]}
        offset += elements * 4
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path = str(folder / f"big_{tensors}x{mib}.safetensors")
    block = np.empty(elements, dtype=np.float32)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text)
        for i in range(tensors):
            block.fill(i + 1)
            block.tofile(out)
    return path, tensors * elements * 4


@pytest.fixture(scope="module")
def past_inflight(tmp_path_factory):
    """6 x 64 MiB: more than the 256 MiB of reads a load queues at once, so
    reads are still to be queued (and cancel asked) after the first ones
    complete."""
    return big_file(tmp_path_factory.mktemp("big"), tensors=6, mib=64)


def test_loads_every_tensor_with_its_bytes_in_file_order():
    _, tensors = parse_safetensors(ALL_DTYPES)
    loaded = halio.load(ALL_DTYPES)
    assert isinstance(loaded, halio.LoadResult) and isinstance(loaded, dict)
    assert list(loaded) == list(tensors)
    for name, (dtype, shape, raw) in tensors.items():
        assert loaded[name].tobytes() == raw, name
        if halio.numpy_dtype(dtype) is not None:
            assert list(loaded[name].shape) == shape, name
    assert loaded.bytes == sum(len(raw) for _, _, raw in tensors.values())


def test_arrays_are_writable_views_of_one_arena():
    loaded = halio.load(ALL_DTYPES)
    assert loaded.arena is not None and loaded.arena.dtype == np.uint8
    for name, array in loaded.items():
        if array.size:
            assert np.shares_memory(array, loaded.arena), name
        assert array.flags.writeable and not array.flags.owndata, name
    loaded["t_f32"][...] = 7.5
    start = loaded["t_f32"].__array_interface__["data"][0] - \
        loaded.arena.__array_interface__["data"][0]
    seen = loaded.arena[start:start + 24].view(np.float32)
    np.testing.assert_array_equal(seen, np.full(6, 7.5, dtype=np.float32))


def test_arrays_outlive_the_result_and_keep_the_arena():
    _, tensors = parse_safetensors(ALL_DTYPES)
    kept = halio.load(ALL_DTYPES)["t_i64"]
    gc.collect()
    churn = [np.ones(1 << 16) for _ in range(64)]  # reuse of freed memory would show
    del churn
    assert kept.tobytes() == tensors["t_i64"][2]
    base = kept
    while getattr(base, "base", None) is not None:
        base = base.base
    assert type(base).__name__ in ("TensorMemory", "memoryview")


def test_select_globs_choose_tensors():
    loaded = halio.load(ALL_DTYPES, select=["t_f*", "t_u8"])
    assert list(loaded) == [name for name in parse_safetensors(ALL_DTYPES)[1]
                            if name.startswith("t_f") or name == "t_u8"]


def test_select_matching_nothing_names_the_glob():
    with pytest.raises(halio.NotFoundError) as raised:
        halio.load(ALL_DTYPES, select=["t_f32", "nothing*"])
    assert isinstance(raised.value, KeyError)
    assert "'nothing*'" in raised.value.message and raised.value.code == 5


def test_sharded_and_several_paths_load_as_one_set():
    _, tensors = parse_sharded(fixture("st_sharded.safetensors.index.json"))
    loaded = halio.load(fixture("st_sharded.safetensors.index.json"))
    assert {name: array.tobytes() for name, array in loaded.items()} == \
        {name: raw for name, (_, _, raw) in tensors.items()}
    both = halio.load([fixture("st_metadata.safetensors"), fixture("st_zero_size.safetensors")])
    assert set(both) == {"weight", "bias", "empty", "scalar", "after", "empty_end"}
    assert both["scalar"].shape == () and both["empty"].shape == (0, 4)


def test_a_name_in_two_paths_is_refused_naming_both():
    path = fixture("st_metadata.safetensors")
    with pytest.raises(halio.InvalidArgumentError) as raised:
        halio.load([path, path])
    assert "'weight'" in raised.value.message and path in raised.value.message


def test_gguf_loads():
    loaded = halio.load(fixture("gguf_v2.gguf"))
    assert list(loaded) == ["a", "b", "c"]
    assert loaded["c"].dtype == np.int8 and loaded["c"].shape == (5,)


def test_progress_callback_sees_every_byte(tmp_path):
    path, total = big_file(tmp_path)
    calls = []
    loaded = halio.load(path, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (total, total)
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:])) and len(calls) >= 2
    np.testing.assert_array_equal(loaded["t2"], np.full(40 << 18, 3, dtype=np.float32))


def test_progress_true_draws_a_bar_on_stderr(capfd):
    halio.load(ALL_DTYPES, progress=True)
    err = capfd.readouterr().err
    assert err.startswith("\r[") and "100% " in err and err.endswith(" of 372 B\n"), err


def test_an_exception_from_progress_stops_the_load_and_is_raised(past_inflight):
    path, total = past_inflight

    class Stop(Exception):
        pass

    def progress(done, total):
        raise Stop(f"{done}/{total}")

    with pytest.raises(Stop) as raised:
        halio.load(path, progress=progress)
    (note,) = raised.value.__notes__
    assert note.startswith("halio: CANCELLED: load cancelled") and f"of {total} bytes" in note


def test_keyboard_interrupt_from_progress_cancels(past_inflight):
    path, total = past_inflight

    def progress(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as raised:
        halio.load(path, progress=progress)
    (note,) = raised.value.__notes__
    done = int(note.split(" after ")[1].split(" ")[0])
    assert done < total, note


def test_ctrl_c_during_a_load_cancels_it(past_inflight):
    """SIGINT arriving while the GIL is released, noticed through
    PyErr_CheckSignals between reads (in a child, so a late signal cannot
    interrupt the test run)."""
    path, _ = past_inflight
    script = textwrap.dedent(f"""
        import os, signal, threading, halio
        def interrupt():
            os.kill(os.getpid(), signal.SIGINT)
        started = []
        def progress(done, total):
            if not started:  # C code runs the load meanwhile: the thread sends it there
                started.append(threading.Thread(target=interrupt))
                started[0].start()
        try:
            halio.load({path!r}, progress=progress)
            print("completed")
        except KeyboardInterrupt as error:
            print("interrupted", *getattr(error, "__notes__", []))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("interrupted halio: CANCELLED: load cancelled"), result.stdout
    assert " after " in result.stdout, result.stdout


def test_backends_and_their_errors():
    for backend in ("sync", "auto"):
        assert halio.load(ALL_DTYPES, backend=backend)["t_u8"].size == 6
    with pytest.raises(halio.InvalidArgumentError, match="bogus"):
        halio.load(ALL_DTYPES, backend="bogus")


def test_direct_io_loads_the_same_bytes():
    _, tensors = parse_safetensors(ALL_DTYPES)
    loaded = halio.load(ALL_DTYPES, direct=True)
    assert loaded["t_c64"].tobytes() == tensors["t_c64"][2]


@pytest.mark.parametrize("device", ["local_sync", "local_async", "local_discrete"])
def test_every_local_device_gives_the_bytes(device):
    _, tensors = parse_safetensors(ALL_DTYPES)
    loaded = halio.load(ALL_DTYPES, device=device)
    assert {name: array.tobytes() for name, array in loaded.items()} == \
        {name: raw for name, (_, _, raw) in tensors.items()}
    if device == "local_discrete":  # device memory: read back, no host arena
        assert loaded.arena is None


def test_unknown_device_lists_the_known_ones():
    with pytest.raises(halio.NotFoundError) as raised:
        halio.load(ALL_DTYPES, device="tpu")
    assert "local_async" in raised.value.message


# Both doors open the cuda device before anything else (torch need not import).
@pytest.mark.parametrize("open_on_cuda", [
    lambda: halio.load(ALL_DTYPES, device="cuda", framework="torch"),
    lambda: halio.safe_open(ALL_DTYPES, framework="pt", device="cuda"),
], ids=["load", "safe_open"])
def test_cuda_without_a_gpu_says_why(open_on_cuda):
    if "cuda" in halio.available_devices():
        pytest.skip("a cuda device is usable here (test_torch.py covers it)")
    with pytest.raises(halio.UnavailableError) as raised:
        open_on_cuda()
    assert raised.value.code_name == "UNAVAILABLE" and "cuda" in raised.value.message


# Device tensors (DLPack capsules of device memory, what device="cuda" gives
# torch) exist only where the memory has an address another runtime can use:
# host memory says to map it, local_discrete's memory has none to give.
@pytest.mark.parametrize("device, code, needle", [
    ("local_async", "FAILED_PRECONDITION", "is host memory and has no device address"),
    ("local_discrete", "UNIMPLEMENTED", "local_discrete device memory has no address"),
])
def test_device_tensors_need_memory_with_a_device_address(device, code, needle):
    from halio import _halio
    index = _halio.open_index([ALL_DTYPES])
    loaded = _halio.Session(index, device, None, False).load(["t_f32"], False, False, None)
    with pytest.raises(halio.Error) as raised:
        loaded.device_tensors()
    assert raised.value.code_name == code and needle in raised.value.message


@pytest.mark.skipif("cuda" not in halio.available_devices(), reason="no usable cuda device")
def test_cuda_needs_torch_arrays():
    for open_on_cuda in (lambda: halio.load(ALL_DTYPES, device="cuda"),
                         lambda: halio.safe_open(ALL_DTYPES, device="cuda")):
        with pytest.raises(halio.InvalidArgumentError, match='needs framework="torch"'):
            open_on_cuda()


def test_missing_and_unreadable_files_map_to_os_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        halio.load(tmp_path / "missing.safetensors")
    path = write_safetensors(tmp_path / "locked.safetensors", {"x": np.ones(2, np.float32)})
    os.chmod(path, 0)
    os.chmod(tmp_path, 0o755)
    script = textwrap.dedent(f"""
        try:
            import halio
        except ImportError:
            raise SystemExit("cannot import halio")
        try:
            halio.load({path!r})
        except PermissionError as error:
            print(type(error).__name__, error.code_name)
    """)
    # root opens any file: the check runs as nobody there.
    user = 65534 if os.geteuid() == 0 else None
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            user=user, env=dict(os.environ), timeout=60)
    if "cannot import halio" in result.stderr:
        pytest.skip("user nobody cannot read the build tree here")
    assert result.stdout.strip() == "PermissionDeniedError PERMISSION_DENIED", result


def test_mmap_views_are_read_only_and_mapped():
    _, tensors = parse_safetensors(ALL_DTYPES)
    loaded = halio.load(ALL_DTYPES, mmap=True)
    assert loaded.mapped
    for name, (_, _, raw) in tensors.items():
        assert loaded[name].tobytes() == raw, name
        assert not loaded[name].flags.writeable, name
    with pytest.raises(ValueError, match="read-only"):
        loaded["t_f32"][0, 0] = 1.0
    copied = halio.load(ALL_DTYPES)
    assert not copied.mapped and copied["t_f32"].flags.writeable


def test_signal_handler_is_left_as_it_was():
    before = signal.getsignal(signal.SIGINT)
    halio.load(ALL_DTYPES)
    assert signal.getsignal(signal.SIGINT) is before
