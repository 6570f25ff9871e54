"""framework="torch": tensors sharing halio's memory (skipped when torch does not import)."""
import gc
import os

import numpy as np
import pytest

import halio
from conftest import fixture, parse_safetensors

torch = pytest.importorskip("torch", reason="torch does not import here (apt-get install "
                                            "python3-torch to run these)")

ALL_DTYPES = fixture("st_all_dtypes.safetensors")


def test_load_gives_tensors_viewing_the_arena():
    _, tensors = parse_safetensors(ALL_DTYPES)
    loaded = halio.load(ALL_DTYPES, select=["t_f32", "t_i64", "t_bf16"], framework="torch")
    arena = loaded.arena.__array_interface__["data"][0]
    for name, tensor in loaded.items():
        assert isinstance(tensor, torch.Tensor) and tensor.device.type == "cpu"
        assert arena <= tensor.data_ptr() < arena + loaded.arena.size, name
        raw = tensor.view(torch.uint8) if tensor.dtype != torch.bfloat16 else \
            tensor.view(torch.int16)
        assert raw.numpy().tobytes() == tensors[name][2], name
    assert loaded["t_bf16"].dtype == torch.bfloat16 and list(loaded["t_bf16"].shape) == [2, 3]
    loaded["t_f32"].fill_(3.0)
    start = loaded["t_f32"].data_ptr() - arena
    np.testing.assert_array_equal(loaded.arena[start:start + 24].view(np.float32), 3.0)


def test_safe_open_pt_matches_numpy():
    with halio.safe_open(ALL_DTYPES, framework="pt") as f, halio.safe_open(ALL_DTYPES) as g:
        for name in ("t_f16", "t_i32", "t_bf16", "t_u8"):
            tensor = f.get_tensor(name)
            assert isinstance(tensor, torch.Tensor)
            assert tensor.view(torch.uint8).numpy().tobytes() == g.get_tensor(name).tobytes()
        part = f.get_slice("t_f32")[0:1, 1:]
        assert isinstance(part, torch.Tensor) and list(part.shape) == [1, 2]


def test_mmap_tensors_share_the_mapping():
    loaded = halio.load(ALL_DTYPES, select=["t_f64"], framework="torch", mmap=True)
    assert loaded.mapped and loaded["t_f64"].dtype == torch.float64


def test_tensors_keep_their_memory_alive_without_the_result():
    _, tensors = parse_safetensors(ALL_DTYPES)
    tensor = halio.load(ALL_DTYPES, select=["t_f64"], framework="torch")["t_f64"]
    gc.collect()
    assert tensor.numpy().tobytes() == tensors["t_f64"][2]
    # local_discrete: the bytes are a copy read back from device memory,
    # which only the tensor holds.
    tensor = halio.load(ALL_DTYPES, select=["t_i32"], device="local_discrete",
                        framework="torch")["t_i32"]
    gc.collect()
    assert tensor.numpy().tobytes() == tensors["t_i32"][2]


def test_dlpack_capsule_is_the_tensor_bytes_and_holds_the_load():
    from halio import _halio
    _, tensors = parse_safetensors(ALL_DTYPES)
    index = _halio.open_index([ALL_DTYPES])
    loaded = _halio.Session(index, "local_async", None, False).load(["t_u8"], False, False, None)
    (_, memory), = loaded.tensors()
    address = memory.address
    capsule = memory.dlpack()
    del loaded, memory, index
    gc.collect()
    raw = torch.from_dlpack(capsule)  # kDLCPU, 1-D uint8, the buffer itself
    assert raw.dtype == torch.uint8 and raw.device.type == "cpu" and raw.dim() == 1
    assert raw.data_ptr() == address and raw.numpy().tobytes() == tensors["t_u8"][2]
    with pytest.raises(RuntimeError):  # a capsule is consumed once
        torch.from_dlpack(capsule)
    del capsule
    assert raw.numpy().tobytes() == tensors["t_u8"][2]


def _open_descriptors(path):
    """How many of this process's file descriptors are open on `path`."""
    target = os.path.realpath(path)
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}") == target
        except OSError:
            pass
    return count


def test_capsules_hold_the_load_until_deleted_consumed_or_not():
    from halio import _halio
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd to see the load's open file")
    before = _open_descriptors(ALL_DTYPES)
    index = _halio.open_index([ALL_DTYPES])
    loaded = _halio.Session(index, "local_async", None, False).load([], False, False, None)
    capsules = [memory.dlpack() for _, memory in loaded.tensors()]
    consumed = torch.from_dlpack(capsules.pop())
    del loaded, index
    gc.collect()
    assert _open_descriptors(ALL_DTYPES) > before  # the session's file, held by the capsules
    del capsules  # never consumed: their own destructor runs the deleter
    gc.collect()
    assert _open_descriptors(ALL_DTYPES) > before  # still held by the consumed one's tensor
    del consumed
    gc.collect()
    assert _open_descriptors(ALL_DTYPES) == before


needs_cuda = pytest.mark.skipif(
    "cuda" not in halio.available_devices() or not torch.cuda.is_available(),
    reason="no usable cuda device (halio built without CUDA, or no GPU: see "
           "halio.load(device='cuda')'s UnavailableError), or torch without CUDA")


@needs_cuda
def test_cuda_tensors_are_the_devices_memory_without_a_copy():
    _, tensors = parse_safetensors(ALL_DTYPES)
    before = torch.cuda.memory_allocated()
    loaded = halio.load(ALL_DTYPES, device="cuda", framework="torch")
    # halio's cudaMalloc'd arena, not torch's allocator (a .to("cuda") copy).
    assert torch.cuda.memory_allocated() == before and loaded.arena is None
    reference = halio.load(ALL_DTYPES, framework="torch")
    for name, tensor in loaded.items():
        assert tensor.device.type == "cuda" and tensor.device.index == 0, name
        assert tensor.dtype == reference[name].dtype, name
        assert tensor.shape == reference[name].shape, name
        assert tensor.cpu().view(torch.uint8).numpy().tobytes() == tensors[name][2], name
    # Adjacent tensors are views of one arena, at their file offsets' distance.
    names = list(loaded)
    first, second = loaded[names[0]], loaded[names[1]]
    assert second.data_ptr() - first.data_ptr() == (
        reference[names[1]].data_ptr() - reference[names[0]].data_ptr())
    kept = loaded["t_f32"]
    del loaded
    gc.collect()
    torch.cuda.synchronize()
    assert kept.cpu().numpy().tobytes() == tensors["t_f32"][2]
    kept.mul_(2)  # writable GPU memory
    np.testing.assert_array_equal(kept.cpu().numpy(), reference["t_f32"].numpy() * 2)


@needs_cuda
def test_safe_open_cuda_reads_into_gpu_memory():
    _, tensors = parse_safetensors(ALL_DTYPES)
    before = torch.cuda.memory_allocated()
    with halio.safe_open(ALL_DTYPES, framework="pt", device="cuda") as f:
        tensor = f.get_tensor("t_bf16")
        assert torch.cuda.memory_allocated() == before
        assert tensor.device.type == "cuda" and tensor.dtype == torch.bfloat16
        assert tensor.cpu().view(torch.int16).numpy().tobytes() == tensors["t_bf16"][2]
        part = f.get_slice("t_f32")[0:1, 1:]
        assert part.device.type == "cuda" and list(part.shape) == [1, 2]
