// _halio: the C++ half of the Python package `halio` (python/halio/). It binds
// the public C++ API (params.h, loader.h, drivers.h) and nothing else; the
// API users see, with its dtypes, frameworks and docstrings, is the Python
// half (__init__.py), which is the only caller of this module.
//
// Ownership: a Load object owns its device, its index and the loaded buffers;
// each TensorMemory holds the Load it came from, so numpy arrays made from a
// TensorMemory (through the buffer protocol) keep the arena and the device
// alive for as long as any array uses them.
//
// Errors: a non-OK halio::Status leaves as StatusError and is turned into
// halio.Error (or its subclass for the code) by halio._errors.from_status.
// An exception raised by the progress callback, or a signal's (Ctrl-C's
// KeyboardInterrupt), cancels the load and is re-raised once it has stopped.
//
// Threading: the GIL is released while files are opened and read; the
// progress and cancel callbacks take it back on the loading thread.
//
// DLPack: TensorMemory.dlpack() and Load.device_tensors() hand a tensor's
// bytes to torch (torch.from_dlpack) as a 1-D uint8 DLPack tensor (kDLCPU,
// or kDLCUDA with the buffer's GetDeviceAddress), no copy; the Python half
// views it as the tensor's dtype and shape, with the same dtype table on
// both devices (DLPack 0.6 has no bool, fp8 or, for torch 1.13, uint16..64
// codes). The capsule's deleter holds the Load and the buffer, so the arena
// and the device outlive the torch tensor. Device tensors are complete when
// handed out (LoadParameters returned after every copy finished), so a
// consumer's stream needs no event to wait for.
#include <dlpack/dlpack.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "halio/drivers.h"
#include "halio/file.h"
#include "halio/hal/buffer.h"
#include "halio/io_backend.h"
#include "halio/loader.h"
#include "halio/params.h"
#include "halio/status.h"

namespace py = pybind11;

namespace halio::python {
namespace {

// Carries a Status out of the bindings to the exception translator.
struct StatusError {
  Status status;
};

[[noreturn]] void Throw(Status status) { throw StatusError{std::move(status)}; }

void ThrowIfError(Status status) {
  if (!status.ok()) Throw(std::move(status));
}

template <typename T>
T ValueOrThrow(Result<T> result) {
  if (!result.ok()) Throw(std::move(result).status());
  return std::move(result).value();
}

py::dict MetadataDict(const ParameterMetadata& metadata) {
  py::dict dict;
  for (const auto& [key, value] : metadata) dict[py::str(key)] = py::str(value);
  return dict;
}

py::tuple EntryTuple(const ParameterEntry& entry) {
  py::tuple shape(entry.shape.size());
  for (size_t i = 0; i < entry.shape.size(); ++i) shape[i] = entry.shape[i];
  return py::make_tuple(entry.name, entry.file_index, entry.offset, entry.length, entry.dtype,
                        shape);
}

// One path: OpenParameterIndex. Several: their files in one index, so one
// load (one arena) covers them and a name in two of them is refused (AddFile).
Result<ParameterIndex> OpenIndexes(const std::vector<std::string>& paths) {
  if (paths.size() == 1) return OpenParameterIndex(paths[0]);
  ParameterIndex merged;
  for (const std::string& path : paths) {
    HALIO_ASSIGN_OR_RETURN(ParameterIndex index, OpenParameterIndex(path));
    for (uint32_t file = 0; file < index.files().size(); ++file) {
      std::vector<ParameterEntry> entries;
      for (const ParameterEntry& entry : index.entries()) {
        if (entry.file_index == file) entries.push_back(entry);
      }
      HALIO_RETURN_IF_ERROR(merged.AddFile(index.files()[file], std::move(entries)));
    }
  }
  return merged;
}

std::shared_ptr<ParameterIndex> OpenIndex(const std::vector<std::string>& paths) {
  Result<ParameterIndex> index = [&] {
    py::gil_scoped_release release;
    return OpenIndexes(paths);
  }();
  return std::make_shared<ParameterIndex>(ValueOrThrow(std::move(index)));
}

// A device and an index's files opened once, for any number of loads
// (safe_open makes one per file; halio.load one per call). Loads through one
// session take turns (load_mutex, locked without the GIL): LoadParameters
// promises concurrency only across distinct devices or indexes.
struct Session {
  std::unique_ptr<Device> device;  // destroyed last
  std::shared_ptr<ParameterIndex> index;
  std::vector<FileRef> files;      // index.files() order
  std::mutex load_mutex;
};

struct SessionOptions {
  std::string device = "local_async";
  std::optional<std::string> backend;
  bool direct = false;
};

Status OpenSession(const SessionOptions& options, Session& session) {
  FdFileOptions file_options;
  if (options.backend) {
    HALIO_ASSIGN_OR_RETURN(file_options.backend, ParseIoBackend(*options.backend));
  }
  HALIO_ASSIGN_OR_RETURN(session.device, CreateDevice(options.device));
  const OpenMode mode = options.direct ? OpenMode::kRead | OpenMode::kDirect : OpenMode::kRead;
  for (const ParameterFile& file : session.index->files()) {
    HALIO_ASSIGN_OR_RETURN(FileRef opened, FdFile::Open(file.path, mode, file_options));
    session.files.push_back(std::move(opened));
  }
  return Status();
}

std::shared_ptr<Session> MakeSession(std::shared_ptr<ParameterIndex> index,
                                     const SessionOptions& options) {
  auto session = std::make_shared<Session>();
  session->index = std::move(index);
  Status status;
  {
    py::gil_scoped_release release;
    status = OpenSession(options, *session);
  }
  ThrowIfError(std::move(status));
  return session;
}

// What a load keeps alive: its session (device, index, files) and buffers.
struct LoadState {
  std::shared_ptr<Session> session;
  LoadedParameters loaded;
};

// One DLPack tensor handed out: what its consumer reads, and what keeps its
// bytes alive until the consumer's deleter call (on any thread; nothing here
// needs the GIL).
struct DlpackBytes {
  DLManagedTensor managed{};
  int64_t length = 0;
  int64_t stride = 1;
  std::shared_ptr<LoadState> owner;
  BufferRef buffer;
};

void DeleteDlpackBytes(DLManagedTensor* managed) {
  delete static_cast<DlpackBytes*>(managed->manager_ctx);
}

// The capsule's destructor. DLPack's protocol: a consumer renames the
// capsule ("used_dltensor") and calls the deleter itself when done; a
// capsule still named "dltensor" was never consumed and frees its tensor.
void DeleteUnconsumedCapsule(PyObject* capsule) {
  if (!PyCapsule_IsValid(capsule, "dltensor")) return;
  auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule, "dltensor"));
  managed->deleter(managed);
}

// A "dltensor" capsule of the `length` bytes at `data` on `device`, holding
// `owner` and `buffer` (whose memory they are) until it is deleted.
py::capsule DlpackCapsule(std::shared_ptr<LoadState> owner, BufferRef buffer, DLDevice device,
                          void* data, uint64_t length) {
  auto bytes = std::make_unique<DlpackBytes>();
  bytes->length = static_cast<int64_t>(length);
  bytes->owner = std::move(owner);
  bytes->buffer = std::move(buffer);
  DLTensor& tensor = bytes->managed.dl_tensor;
  tensor.data = data;
  tensor.device = device;
  tensor.ndim = 1;
  tensor.dtype = DLDataType{kDLUInt, 8, 1};
  tensor.shape = &bytes->length;
  tensor.strides = &bytes->stride;
  tensor.byte_offset = 0;
  bytes->managed.manager_ctx = bytes.get();
  bytes->managed.deleter = &DeleteDlpackBytes;
  PyObject* capsule = PyCapsule_New(&bytes->managed, "dltensor", &DeleteUnconsumedCapsule);
  if (capsule == nullptr) throw py::error_already_set();
  bytes.release();  // the capsule's deleter or its consumer's frees it now
  return py::reinterpret_steal<py::capsule>(capsule);
}

// The bytes of one loaded buffer as a Python buffer (1-D, unsigned bytes),
// writable unless the buffer allows reads only (a file mapping).
class TensorMemory {
 public:
  TensorMemory(std::shared_ptr<LoadState> owner, BufferRef buffer, MappedMemory mapping)
      : owner_(std::move(owner)), buffer_(std::move(buffer)), mapping_(std::move(mapping)) {}

  py::buffer_info Info() {
    static std::byte empty;  // numpy wants a pointer even for no bytes
    std::byte* data = mapping_.size() ? mapping_.data() : &empty;
    const bool readonly = !AnySet(mapping_.access(), MemoryAccess::kWrite);
    return py::buffer_info(data, 1, py::format_descriptor<uint8_t>::format(), 1,
                           {static_cast<py::ssize_t>(mapping_.size())}, {py::ssize_t{1}},
                           readonly);
  }
  uintptr_t address() const { return reinterpret_cast<uintptr_t>(mapping_.data()); }
  size_t size() const { return mapping_.size(); }
  bool readonly() const { return !AnySet(mapping_.access(), MemoryAccess::kWrite); }
  // The bytes as a kDLCPU DLPack capsule. DLPack has no read-only flag: a
  // consumer writing to a read-only mapping faults, as the docs say.
  py::capsule Dlpack() const {
    static std::byte empty;  // as Info: a pointer even for no bytes
    return DlpackCapsule(owner_, buffer_, DLDevice{kDLCPU, 0},
                         mapping_.size() ? mapping_.data() : &empty, mapping_.size());
  }

 private:
  std::shared_ptr<LoadState> owner_;
  BufferRef buffer_;  // the mapped buffer (a read-back copy lives only here)
  MappedMemory mapping_;
};

// Maps `buffer` for the host: itself when host-visible (read-write unless it
// allows reads only), else a copy read back through the device.
TensorMemory HostMemory(const std::shared_ptr<LoadState>& state, BufferRef buffer) {
  if (!buffer->host_visible()) {
    py::gil_scoped_release release;
    buffer = ValueOrThrow(ReadBackToHost(*state->session->device, buffer));
  }
  const MemoryAccess access = AnySet(buffer->allowed_access(), MemoryAccess::kWrite)
                                  ? MemoryAccess::kReadWrite
                                  : MemoryAccess::kRead;
  MappedMemory mapping = ValueOrThrow(buffer->Map(access));
  return TensorMemory(state, std::move(buffer), std::move(mapping));
}

DLDevice DlpackDevice(const DeviceAddress& address) {
  switch (address.kind) {
    case DeviceAddress::Kind::kCuda:
      return DLDevice{kDLCUDA, static_cast<int32_t>(address.ordinal)};
  }
  Throw(InternalError("a device address of kind " +
                      std::to_string(static_cast<uint32_t>(address.kind)) +
                      " has no DLPack device type"));
}

// The tensors as DLPack capsules of their device memory, no copy. Errors:
// GetDeviceAddress's (FAILED_PRECONDITION for host memory, UNIMPLEMENTED
// for local_discrete's device memory).
py::list DeviceTensors(const std::shared_ptr<LoadState>& state) {
  py::list tensors;
  for (const LoadedTensor& tensor : state->loaded.tensors) {
    const DeviceAddress address = ValueOrThrow(tensor.buffer->GetDeviceAddress());
    tensors.append(py::make_tuple(
        tensor.entry->name,
        DlpackCapsule(state, tensor.buffer, DlpackDevice(address),
                      reinterpret_cast<void*>(static_cast<uintptr_t>(address.address)),
                      tensor.buffer->byte_length())));
  }
  return tensors;
}

// The Python side of a load's callbacks: calls `progress` and notices
// KeyboardInterrupt (PyErr_CheckSignals) with the GIL taken back, and keeps
// the first Python exception either raised so the load can stop and the
// exception be re-raised.
class PythonCallbacks {
 public:
  explicit PythonCallbacks(py::object progress) : progress_(std::move(progress)) {}
  ~PythonCallbacks() {
    py::gil_scoped_acquire acquire;
    pending_.reset();
    progress_ = py::object();
  }

  void Progress(const LoadProgress& progress) {
    if (progress_.is_none()) return;
    py::gil_scoped_acquire acquire;
    if (pending_) return;
    try {
      progress_(progress.bytes_done, progress.bytes_total);
    } catch (py::error_already_set& error) {
      pending_.emplace(std::move(error));
    }
  }

  // True once the load should stop: a callback raised, or a signal handler
  // (Ctrl-C) did.
  bool Cancel() {
    py::gil_scoped_acquire acquire;
    if (!pending_ && PyErr_CheckSignals() != 0) pending_.emplace();
    return pending_.has_value();
  }

  // With the GIL held: re-raises what stopped the load, if anything did,
  // with the load's own status (CANCELLED after N of M bytes) as a note.
  void RaisePending(const Status& load_status) {
    if (!pending_) return;
    py::error_already_set error = std::move(*pending_);
    pending_.reset();
    py::object value = error.value();
    if (!load_status.ok() && py::hasattr(value, "add_note")) {
      value.attr("add_note")("halio: " + load_status.ToString());
    }
    throw error;
  }

 private:
  py::object progress_;
  std::optional<py::error_already_set> pending_;
};

struct LoadRequest {
  std::vector<std::string> select;
  bool map = false;
  bool host_memory = false;  // MemoryType::kHost on any device
};

std::shared_ptr<LoadState> Load(std::shared_ptr<Session> session, const LoadRequest& request,
                                py::object progress_callback) {
  auto state = std::make_shared<LoadState>();
  state->session = std::move(session);
  PythonCallbacks callbacks(std::move(progress_callback));
  LoadOptions options;
  options.select = request.select;
  options.files.assign(state->session->files.begin(), state->session->files.end());
  if (request.host_memory) options.memory_type = MemoryType::kHost;
  options.progress = [&callbacks](const LoadProgress& progress) { callbacks.Progress(progress); };
  options.cancel = [&callbacks] { return callbacks.Cancel(); };
  options.map = request.map;
  Result<LoadedParameters> loaded = [&] {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> one_load_at_a_time(state->session->load_mutex);
    return LoadParameters(*state->session->device, *state->session->index, options);
  }();
  callbacks.RaisePending(loaded.status());
  state->loaded = ValueOrThrow(std::move(loaded));
  return state;
}

py::list Tensors(const std::shared_ptr<LoadState>& state) {
  py::list tensors;
  for (const LoadedTensor& tensor : state->loaded.tensors) {
    tensors.append(py::make_tuple(tensor.entry->name, HostMemory(state, tensor.buffer)));
  }
  return tensors;
}

py::object Arena(const std::shared_ptr<LoadState>& state) {
  const BufferRef& arena = state->loaded.arena;
  if (!arena || !arena->host_visible()) return py::none();
  return py::cast(HostMemory(state, arena));
}

void TranslateStatusError(std::exception_ptr exception) {
  try {
    if (exception) std::rethrow_exception(exception);
  } catch (const StatusError& error) {
    const Status& status = error.status;
    py::object make = py::module_::import("halio._errors").attr("from_status");
    py::object python_error = make(static_cast<int>(status.code()), StatusCodeName(status.code()),
                                   std::string(status.message()));
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(python_error.ptr())),
                    python_error.ptr());
  }
}

}  // namespace

void DefineModule(py::module_& m) {
  m.doc() = "halio's C++ engine; use the halio package, not this module.";
  py::register_exception_translator(&TranslateStatusError);

  py::class_<ParameterIndex, std::shared_ptr<ParameterIndex>>(m, "Index")
      .def("tensors",
           [](const ParameterIndex& index) {
             py::list tensors;
             for (const ParameterEntry& entry : index.entries()) tensors.append(EntryTuple(entry));
             return tensors;
           })
      .def("files",
           [](const ParameterIndex& index) {
             py::list files;
             for (const ParameterFile& file : index.files()) {
               files.append(py::make_tuple(file.path, file.length,
                                           ParameterFileFormatName(file.format),
                                           MetadataDict(file.metadata)));
             }
             return files;
           })
      .def("metadata", [](const ParameterIndex& index) { return MetadataDict(index.metadata()); });
  m.def("open_index", &OpenIndex, py::arg("paths"));

  py::class_<TensorMemory>(m, "TensorMemory", py::buffer_protocol())
      .def_buffer(&TensorMemory::Info)
      .def_property_readonly("address", &TensorMemory::address)
      .def_property_readonly("size", &TensorMemory::size)
      .def_property_readonly("readonly", &TensorMemory::readonly)
      .def("dlpack", &TensorMemory::Dlpack);

  py::class_<LoadState, std::shared_ptr<LoadState>>(m, "Load")
      .def("tensors", &Tensors)
      .def("device_tensors", &DeviceTensors)
      .def("arena", &Arena)
      .def_property_readonly("bytes", [](const LoadState& state) { return state.loaded.bytes; })
      .def_property_readonly("mapped", [](const LoadState& state) { return state.loaded.mapped; });

  py::class_<Session, std::shared_ptr<Session>>(m, "Session")
      .def(py::init([](std::shared_ptr<ParameterIndex> index, std::string device,
                       std::optional<std::string> backend, bool direct) {
             return MakeSession(std::move(index), {std::move(device), std::move(backend), direct});
           }),
           py::arg("index"), py::arg("device"), py::arg("backend"), py::arg("direct"))
      .def(
          "load",
          [](std::shared_ptr<Session> session, std::vector<std::string> select, bool map,
             bool host_memory, py::object progress) {
            return Load(std::move(session), {std::move(select), map, host_memory},
                        std::move(progress));
          },
          py::arg("select"), py::arg("map"), py::arg("host_memory"), py::arg("progress"));
  m.def("available_devices", [] { return AvailableDevices(); });
}

}  // namespace halio::python

PYBIND11_MODULE(_halio, m) { halio::python::DefineModule(m); }
