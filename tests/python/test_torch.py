"""framework="torch": tensors sharing halio's memory (skipped when torch does not import)."""
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


@pytest.mark.skipif("cuda" not in halio.available_devices(), reason="no usable cuda device")
def test_cuda_tensors():
    _, tensors = parse_safetensors(ALL_DTYPES)
    loaded = halio.load(ALL_DTYPES, select=["t_f32"], device="cuda", framework="torch")
    assert loaded["t_f32"].device.type == "cuda"
    assert loaded["t_f32"].cpu().numpy().tobytes() == tensors["t_f32"][2]
