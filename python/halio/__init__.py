"""halio: load model weights (safetensors, sharded safetensors, GGUF) fast.

Two doors to the same C++ loader:

* ``halio.load(paths, ...)`` reads every selected tensor into one arena and
  returns ``{name: array}``; the arrays are zero-copy views of halio's
  buffers and keep them alive.
* ``halio.safe_open(path, framework="numpy")`` reads tensors one at a time,
  as ``safetensors.safe_open`` does, for the same three kinds of file.

Dtypes (``numpy_dtype``): safetensors' and GGUF's plain types become their
numpy types. Types numpy lacks (BF16, the F8 kinds) become ml_dtypes' types
when ``ml_dtypes`` imports, and otherwise unsigned integers of the same
width holding the same bits (BF16 -> uint16, F8_* -> uint8), so no byte is
changed or lost either way. Packed types with no per-element storage
(safetensors F4 / F6_*, GGUF's quantized blocks such as Q4_K) come as
uint8 arrays of their bytes: shape[:-1] + (bytes per row,) when rows are
whole bytes, else (bytes,). With ``framework="torch"`` BF16 and F8 come as
torch's own dtypes (a view of the same bytes).

Errors are ``halio.Error`` subclasses carrying the C++ status (see
``halio._errors``: NotFoundError is also FileNotFoundError and KeyError, ...).
"""

import os
import sys
import time
import warnings

import numpy as _np

from . import _halio
from ._errors import (CancelledError, Error, InvalidArgumentError, NotFoundError,
                      OutOfRangeError, PermissionDeniedError, ResourceExhaustedError,
                      UnavailableError)

__all__ = [
    "load", "safe_open", "LoadResult", "TensorSlice", "numpy_dtype", "available_devices",
    "Error", "NotFoundError", "PermissionDeniedError", "InvalidArgumentError",
    "OutOfRangeError", "ResourceExhaustedError", "UnavailableError", "CancelledError",
]

try:
    import ml_dtypes as _ml_dtypes
except ImportError:  # optional: without it BF16/F8 come as same-width unsigned ints
    _ml_dtypes = None

_PLAIN_DTYPES = {
    "BOOL": _np.bool_, "U8": _np.uint8, "I8": _np.int8, "U16": _np.uint16, "I16": _np.int16,
    "F16": _np.float16, "U32": _np.uint32, "I32": _np.int32, "F32": _np.float32,
    "U64": _np.uint64, "I64": _np.int64, "F64": _np.float64, "C64": _np.complex64,
}
# Types numpy lacks: (ml_dtypes name, the same-width unsigned int used without it).
_EXTENDED_DTYPES = {
    "BF16": ("bfloat16", _np.uint16),
    "F8_E4M3": ("float8_e4m3fn", _np.uint8),
    "F8_E5M2": ("float8_e5m2", _np.uint8),
    "F8_E4M3FNUZ": ("float8_e4m3fnuz", _np.uint8),
    "F8_E5M2FNUZ": ("float8_e5m2fnuz", _np.uint8),
    "F8_E8M0": ("float8_e8m0fnu", _np.uint8),
}
# torch's dtype name for each type with per-element storage (packed types come
# as uint8 bytes, as with numpy); torch added the unsigned ints and fp8 late.
_TORCH_DTYPES = {
    "BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "F16": "float16",
    "I32": "int32", "F32": "float32", "I64": "int64", "F64": "float64", "C64": "complex64",
    "BF16": "bfloat16", "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2",
    "F8_E4M3FNUZ": "float8_e4m3fnuz", "F8_E5M2FNUZ": "float8_e5m2fnuz",
    "F8_E8M0": "float8_e8m0fnu", "U16": "uint16", "U32": "uint32", "U64": "uint64",
}
_FRAMEWORKS = {"numpy": "numpy", "np": "numpy", "torch": "torch", "pt": "torch"}


def numpy_dtype(dtype):
    """The numpy dtype halio gives a tensor of ``dtype`` (a format's name: "F32",
    "BF16", "Q4_K"), or None when its bytes come as raw uint8 (packed types)."""
    if dtype in _PLAIN_DTYPES:
        return _np.dtype(_PLAIN_DTYPES[dtype])
    if dtype in _EXTENDED_DTYPES:
        name, same_width = _EXTENDED_DTYPES[dtype]
        if _ml_dtypes is not None and hasattr(_ml_dtypes, name):
            return _np.dtype(getattr(_ml_dtypes, name))
        return _np.dtype(same_width)
    return None


def available_devices():
    """The device names ``load(device=...)`` accepts here besides "cpu":
    local_sync, local_async, local_discrete, and cuda where it runs."""
    return list(_halio.available_devices())


def _raw_shape(shape, length):
    outer = 1
    for dim in shape[:-1]:
        outer *= dim
    if shape and outer and length % outer == 0:
        return tuple(shape[:-1]) + (length // outer,)
    return (length,)


def _numpy_array(memory, dtype, shape):
    """A zero-copy numpy view of a TensorMemory (which keeps halio's buffer alive)."""
    raw = _np.frombuffer(memory, dtype=_np.uint8)
    numpy_type = numpy_dtype(dtype)
    if numpy_type is None:
        return raw.reshape(_raw_shape(shape, raw.size))
    return raw.view(numpy_type).reshape(shape)


def _import_torch():
    try:
        import torch
    except ImportError as error:
        raise ImportError(f'framework="torch" needs torch, which does not import here: {error}'
                          ) from error
    return torch


def _torch_view(torch, raw, dtype, shape):
    """`raw` (a 1-D uint8 torch tensor of a tensor's bytes) viewed as `dtype` and
    `shape`: the same memory, on whichever device it is."""
    if dtype not in _TORCH_DTYPES:
        return raw.reshape(_raw_shape(shape, raw.numel()))
    torch_type = getattr(torch, _TORCH_DTYPES[dtype], None)
    if torch_type is None:
        raise InvalidArgumentError(
            f"torch {torch.__version__} has no dtype for {dtype} "
            f"(torch.{_TORCH_DTYPES[dtype]}); use framework=\"numpy\"")
    return raw.view(torch_type).reshape(shape)


class _Converter:
    """Turns halio's memory into arrays of one framework on one device."""

    def __init__(self, framework, device):
        if framework not in _FRAMEWORKS:
            raise InvalidArgumentError(
                f"framework {framework!r} is not one of {sorted(_FRAMEWORKS)}")
        self.framework = _FRAMEWORKS[framework]
        self.device = device
        self.torch = _import_torch() if self.framework == "torch" else None
        if self.framework == "numpy" and device == "cuda":
            raise InvalidArgumentError(
                'device="cuda" needs framework="torch": numpy arrays live in host memory')

    def tensors(self, loaded, entries):
        """{name: array} for a load's tensors: with device="cuda" torch tensors of
        the cuda device's buffers (DLPack kDLCUDA), else views of host memory."""
        if self.device == "cuda":
            return {name: self.from_dlpack(capsule, *entries[name][4:6])
                    for name, capsule in loaded.device_tensors()}
        return {name: self(memory, *entries[name][4:6]) for name, memory in loaded.tensors()}

    def __call__(self, memory, dtype, shape):
        """A TensorMemory (host bytes) as this framework's array, no copy."""
        if self.torch is None:
            return _numpy_array(memory, dtype, shape)
        return self.from_dlpack(memory.dlpack(), dtype, shape)

    def from_dlpack(self, capsule, dtype, shape):
        return _torch_view(self.torch, self.torch.from_dlpack(capsule), dtype, shape)

    def array(self, array, dtype, shape):
        """`array` (numpy, made here) as this framework's array on this device."""
        if self.torch is None:
            return array
        raw = self.torch.from_numpy(_np.ascontiguousarray(array).reshape(-1).view(_np.uint8))
        tensor = _torch_view(self.torch, raw, dtype, shape)
        return tensor.to(self.device) if self.device == "cuda" else tensor


def _halio_device(device):
    """halio's device for a framework-style name: "cpu" is local_async."""
    return "local_async" if device == "cpu" else device


def _paths(paths):
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    paths = [os.fsdecode(os.fspath(path)) for path in paths]
    if not paths:
        raise InvalidArgumentError("halio.load needs at least one path")
    return paths


def _size(count):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return ""


class _ProgressBar:
    """progress=True: a bar on stderr, redrawn at most 10 times a second and at the end."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.drawn_at = None
        self.drawn_done = None

    def __call__(self, done, total):
        now = time.monotonic()
        if done == self.drawn_done or (done < total and self.drawn_at is not None and
                                       now - self.drawn_at < 0.1):
            return
        self.drawn_at, self.drawn_done = now, done
        fraction = done / total if total else 1.0
        filled = int(fraction * 30)
        self.stream.write(f"\r[{'#' * filled}{' ' * (30 - filled)}] {fraction:4.0%} "
                          f"{_size(done)} of {_size(total)}")
        self.stream.flush()

    def close(self):
        if self.drawn_at is not None:
            self.stream.write("\n")
            self.stream.flush()


class LoadResult(dict):
    """What ``halio.load`` returns: a dict name -> array, in file order, plus

    * ``arena``: the whole arena as a uint8 numpy array (every copied tensor is
      a view of it), or None when every tensor is a view of a file mapping;
    * ``mapped``: True when tensors are read-only views of file mappings;
    * ``bytes``: the tensor bytes loaded.
    """

    arena = None
    mapped = False
    bytes = 0


def load(paths, select=None, device="cpu", backend=None, direct=False, progress=None,
         framework="numpy", mmap=False):
    """Loads tensors from parameter files into memory and returns ``{name: array}``.

    paths: one path or a list: ``.safetensors``, ``.gguf``, or a sharded
        ``.safetensors.index.json`` (its shards are read). Several paths load as
        one set; a tensor name in two of them is an error.
    select: shell globs (``"layers.*.weight"``, fnmatch syntax); None loads all.
        A glob matching no tensor raises NotFoundError.
    device: "cpu" (halio's local_async device), "cuda" (needs halio built with
        CUDA, a GPU and framework="torch"; the tensors are read into the cuda
        device's GPU memory through its staging buffers and handed to torch
        with DLPack, no host copy; ``arena`` is None), or any name in
        ``available_devices()``. A device whose memory the host
        cannot map (local_discrete) gives arrays read back into host memory.
    backend: "auto" (default), "io_uring", "asio" or "sync"; a forced backend
        that cannot run here raises UnavailableError.
    direct: open files with O_DIRECT (halio falls back where refused).
    progress: a callable(bytes_done, bytes_total), called on this thread as
        reads complete; ``True`` draws a bar on stderr. An exception it raises
        stops the load and is re-raised.
    framework: "numpy" (or "np"): numpy arrays; "torch" (or "pt"): torch tensors
        sharing the same memory (DLPack, no copy).
    mmap: tensors are read-only views of private file mappings (no copy; pages
        are read on first touch), as safetensors' and llama.cpp's CPU paths
        do. Devices whose memory is not host memory read as usual. numpy
        refuses writes (ValueError); torch cannot mark a tensor read-only, so
        writing to one is a segmentation fault: copy (``.clone()``) first.

    Arrays are zero-copy views of halio's arena, writable (read-only with
    mmap=True), and keep the arena alive after this call returns. Ctrl-C
    during the load stops it (the reads in flight finish) and raises
    KeyboardInterrupt. Errors: halio.Error subclasses with the C++ code and
    message.
    """
    index = _halio.open_index(_paths(paths))
    # The device first: device="cuda" where it cannot run says why (UNAVAILABLE).
    session = _halio.Session(index, _halio_device(device), backend, direct)
    convert = _Converter(framework, device)
    bar = _ProgressBar() if progress is True else None
    try:
        loaded = session.load(list(select or []), mmap, False, bar if bar else progress)
    finally:
        if bar:
            bar.close()
    entries = {entry[0]: entry for entry in index.tensors()}
    result = LoadResult(convert.tensors(loaded, entries))
    arena = loaded.arena()
    result.arena = None if arena is None else _np.frombuffer(arena, dtype=_np.uint8)
    result.mapped = bool(getattr(loaded, "mapped", False))
    result.bytes = loaded.bytes
    return result


def _glob_escape(name):
    """`name` as a glob that matches only itself."""
    return "".join(f"[{c}]" if c in "*?[]\\" else c for c in name)


class TensorSlice:
    """A tensor not yet read (``safe_open.get_slice``): ``get_shape()``,
    ``get_dtype()``, and indexing (``slice[0:2, :]``, numpy's rules), which
    returns the selected part as a new array. The tensor is a view of a file
    mapping meanwhile, so only the pages of the selected part are read."""

    def __init__(self, reader, name):
        self._reader = reader
        self._name = name
        self._entry = reader._entries[name]

    def get_shape(self):
        """The tensor's shape, outermost dimension first, as a list."""
        return list(self._entry[5])

    def get_dtype(self):
        """The format's dtype name: "F32", "BF16", "Q4_K"."""
        return self._entry[4]

    def __len__(self):
        return self._entry[5][0] if self._entry[5] else 0

    def __getitem__(self, index):
        whole = self._reader._mapped_array(self._name)
        part = _np.array(whole[index], copy=True)
        return self._reader._convert.array(part, self._entry[4], part.shape)


class safe_open:  # noqa: N801: the name safetensors gives it
    """Reads tensors one at a time from a parameter file, as safetensors does::

        with halio.safe_open("model.safetensors", framework="numpy") as f:
            for name in f.keys():
                array = f.get_tensor(name)

    path: ``.safetensors``, ``.gguf`` or a sharded ``.safetensors.index.json``.
    framework: "numpy"/"np" or "torch"/"pt". device: "cpu", or "cuda" with torch
    (get_tensor reads into GPU memory through halio's cuda device, no host copy;
    a slice's part is read on the host and moved with ``.to("cuda")``).
    backend: as in ``halio.load``.

    Each ``get_tensor`` returns a new array of its own (writable), as safetensors
    does. Errors: halio.Error subclasses; a name not in the file raises
    NotFoundError (a KeyError) naming it.
    """

    def __init__(self, filename, framework="numpy", device="cpu", backend=None):
        self._path = os.fsdecode(os.fspath(filename))
        self._index = _halio.open_index([self._path])
        self._files = self._index.files()
        self._entries = {entry[0]: entry for entry in self._index.tensors()}
        # local_async (device="cpu"): its workers fill fresh memory faster than
        # local_sync's reads on this thread. device="cuda": the cuda device,
        # opened first as in load (UNAVAILABLE saying why where it cannot run).
        self._session = _halio.Session(self._index, _halio_device(device), backend, False)
        self._convert = _Converter(framework, device)
        # Slices are read on the host (only their pages): a session for that.
        self._host_session = (self._session if device != "cuda" else
                              _halio.Session(self._index, "local_async", backend, False))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def close(self):
        """Closes the files (arrays already returned stay valid)."""
        self._session = self._host_session = None

    def keys(self):
        """Tensor names, sorted (as safetensors' keys())."""
        return sorted(self._entries)

    def offset_keys(self):
        """Tensor names in file order (file, then offset)."""
        return list(self._entries)

    def metadata(self):
        """The file's metadata as {str: str}, or None when it has none:
        safetensors' ``__metadata__``; GGUF's key/values (as text); a sharded
        index's "metadata" (e.g. total_size)."""
        if len(self._files) == 1:
            metadata = self._files[0][3]
        else:
            metadata = self._index.metadata()
        return dict(metadata) if metadata else None

    def get_tensor(self, name):
        """The tensor `name` as a new array (see the module doc for dtypes)."""
        entry = self._entry(name)
        # Host memory on local_async (MemoryType::kHost); the GPU's own on cuda.
        loaded = self._session.load([_glob_escape(name)], False, self._convert.device != "cuda",
                                    None)
        (tensor,) = self._convert.tensors(loaded, {name: entry}).values()
        return tensor

    def get_slice(self, name):
        """A TensorSlice for `name`: shape and dtype without reading; index it to read."""
        self._entry(name)
        return TensorSlice(self, name)

    def _entry(self, name):
        if self._session is None:
            raise InvalidArgumentError(f"{self._path} is closed (safe_open left its with block)")
        entry = self._entries.get(name)
        if entry is None:
            raise NotFoundError(f"tensor '{name}' is not in {self._path} "
                                f"({len(self._entries)} tensors; keys() lists them)")
        return entry

    def _mapped_array(self, name):
        """`name` as a numpy view of a file mapping (read-only, pages on touch)."""
        entry = self._entry(name)
        loaded = self._host_session.load([_glob_escape(name)], True, True, None)
        (_, memory), = loaded.tensors()
        return _numpy_array(memory, entry[4], entry[5])
