// The C file layer: FdFile and MemoryFile, their synchronous transfers into
// caller memory, and asynchronous ones through the file's engine, routed by
// FdTransfer as a device's chunks are (src/hal/fd_transfer.h).
#include <cstdint>
#include <string>

#include "async_io.h"
#include "capi_internal.h"
#include "fd_transfer.h"

namespace halio::capi {
namespace {

static_assert(HALIO_BACKEND_SYNC == static_cast<int>(IoBackend::kSync));
static_assert(HALIO_BACKEND_IO_URING == static_cast<int>(IoBackend::kIoUring));
static_assert(HALIO_OPEN_TRUNCATE == static_cast<uint32_t>(OpenMode::kTruncate));

constexpr uint32_t kOpenModeBits =
    HALIO_OPEN_READ | HALIO_OPEN_WRITE | HALIO_OPEN_CREATE | HALIO_OPEN_TRUNCATE;

Result<FdFileOptions> ToFdFileOptions(const char* api, const halio_file_options_t* in,
                                      bool* direct) {
  HALIO_ASSIGN_OR_RETURN(halio_file_options_t c,
                         ReadOptions(api, in, &halio_file_options_init, "options"));
  if (c.backend < HALIO_BACKEND_AUTO || c.backend > HALIO_BACKEND_SYNC) {
    return InvalidArgumentError(std::string(api) + ": options->backend " +
                                std::to_string(static_cast<int>(c.backend)) +
                                " is not a backend; use HALIO_BACKEND_AUTO, _IO_URING, "
                                "_ASIO or _SYNC");
  }
  FdFileOptions options;
  options.backend = static_cast<IoBackend>(c.backend);
  options.sync_on_close = c.sync_on_close != 0;
  if (direct != nullptr) *direct = c.direct != 0;
  return options;
}

Status ReturnFile(Result<FileRef> opened, halio_file_t** out_file) {
  HALIO_RETURN_IF_ERROR(opened.status());
  *out_file = NewHandle<halio_file_t>(*std::move(opened));
  return Status();
}

// One asynchronous transfer: the engine's request, the file it keeps alive
// (the request names the file's descriptor and description) and the
// caller's callback.
struct AsyncTransfer {
  AsyncRequest request;
  FileRef file;
  halio_io_callback_t callback;
  void* user_data;
  uint64_t end;  // of the range: a write raises the file's length to it
};

void FinishTransfer(AsyncTransfer* transfer, const Status& status) {
  if (status.ok() && transfer->request.op == IoOp::kWrite) {
    // Later reads of what was written must validate (FdFile::Write does so).
    FdTransfer::NoteWritten(*FdTransfer::Of(*transfer->file), transfer->end);
  }
  halio_io_callback_t callback = transfer->callback;
  void* user_data = transfer->user_data;
  delete transfer;
  callback(user_data, ToC(status));
}

void OnEngineDone(AsyncRequest* request, Status status) {
  FinishTransfer(static_cast<AsyncTransfer*>(request->user_data), status);
}

// Validates as File::Read/Write do, then starts the transfer: through the
// file's engine where FdTransfer routes it there, else on this thread (which
// may hand the rest to the engine, as a device's worker does).
Status StartTransfer(const char* api, halio_file_t* handle, IoOp op, uint64_t offset,
                     const void* data, size_t length, halio_io_callback_t callback,
                     void* user_data) {
  HALIO_RETURN_IF_ERROR(Required(api, handle, "file"));
  HALIO_RETURN_IF_ERROR(Required(api, reinterpret_cast<const void*>(callback), "callback"));
  const bool read = op == IoOp::kRead;
  File& file = *handle->file;
  HALIO_ASSIGN_OR_RETURN(BufferRef memory,
                         WrapCallerMemory(api, data, length,
                                          read ? MemoryAccess::kWrite : MemoryAccess::kRead));
  HALIO_RETURN_IF_ERROR(read ? ValidateFileRead(file, offset, *memory, 0, length)
                             : ValidateFileWrite(file, offset, *memory, 0, length));
  FdFile* fd_file = FdTransfer::Of(file);
  if (fd_file == nullptr || length == 0) {
    // Memory files (a copy) and empty ranges complete here.
    Status status = read ? file.Read(offset, *memory, 0, length)
                         : file.Write(offset, *memory, 0, length);
    callback(user_data, ToC(status));
    return Status();
  }
  auto* transfer =
      new AsyncTransfer{AsyncRequest(), handle->file, callback, user_data, offset + length};
  AsyncRequest& request = transfer->request;
  FdTransfer::PrepareRequest(*fd_file, op, &request);
  request.offset = offset;
  request.data = static_cast<std::byte*>(const_cast<void*>(data));
  request.length = length;
  request.completion = &OnEngineDone;
  request.user_data = transfer;
  if (FdTransfer::Route(*fd_file, request) == ChunkRoute::kEngine) {
    FdTransfer::SubmitToEngine(*fd_file, &request);
    return Status();
  }
  Status status;
  // True when the rest went to the engine, whose completion finishes it.
  if (FdTransfer::RunOnWorker(*fd_file, &request, &status)) return Status();
  FinishTransfer(transfer, status);
  return Status();
}

Status SyncTransfer(const char* api, halio_file_t* handle, IoOp op, uint64_t offset,
                    const void* data, size_t length) {
  HALIO_RETURN_IF_ERROR(Required(api, handle, "file"));
  const bool read = op == IoOp::kRead;
  HALIO_ASSIGN_OR_RETURN(BufferRef memory,
                         WrapCallerMemory(api, data, length,
                                          read ? MemoryAccess::kWrite : MemoryAccess::kRead));
  return read ? handle->file->Read(offset, *memory, 0, length)
              : handle->file->Write(offset, *memory, 0, length);
}

const FdFile* FdOf(const halio_file_t* file) {
  return file != nullptr ? FdTransfer::Of(*file->file) : nullptr;
}

}  // namespace
}  // namespace halio::capi

using namespace halio;        // NOLINT: the C functions below are thin shims
using namespace halio::capi;  // NOLINT

extern "C" {

void halio_file_options_init(halio_file_options_t* options) {
  if (options == nullptr) return;
  *options = halio_file_options_t{};
  options->struct_size = sizeof(*options);
  options->backend = HALIO_BACKEND_AUTO;
}

halio_status_t halio_file_open(const char* path, uint32_t mode,
                               const halio_file_options_t* options, halio_file_t** out_file) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, path, "path"));
    HALIO_RETURN_IF_ERROR(Required(api, out_file, "out_file"));
    if ((mode & ~kOpenModeBits) != 0) {
      return InvalidArgumentError(std::string(api) + ": unknown mode bits 0x" +
                                  std::to_string(mode & ~kOpenModeBits) + " opening " + path);
    }
    bool direct = false;
    HALIO_ASSIGN_OR_RETURN(FdFileOptions fd_options, ToFdFileOptions(api, options, &direct));
    OpenMode open_mode = static_cast<OpenMode>(mode);
    if (direct) open_mode = open_mode | OpenMode::kDirect;
    return ReturnFile(FdFile::Open(path, open_mode, fd_options), out_file);
  });
}

halio_status_t halio_file_from_fd(int fd, uint32_t access, const halio_file_options_t* options,
                                  halio_file_t** out_file) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, out_file, "out_file"));
    HALIO_ASSIGN_OR_RETURN(FdFileOptions fd_options, ToFdFileOptions(api, options, nullptr));
    HALIO_ASSIGN_OR_RETURN(NativeHandle handle, platform::HandleOfDescriptor(fd));
    return ReturnFile(
        FdFile::FromHandle(handle, static_cast<MemoryAccess>(access) & MemoryAccess::kReadWrite,
                           fd_options),
        out_file);
  });
}

halio_status_t halio_file_wrap_memory(void* data, size_t length, uint32_t access,
                                      halio_release_fn_t release, void* user_data,
                                      halio_file_t** out_file) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, out_file, "out_file"));
    if (data == nullptr && length > 0) {
      return InvalidArgumentError(std::string(api) + ": data is NULL for " +
                                  std::to_string(length) + " bytes");
    }
    // The handle first: once Wrap succeeded, nothing may fail before the
    // caller gets the file (the release callback would then be owed).
    auto handle = std::make_unique<halio_file_t>();
    ReleaseCallback callback = MakeRelease(release, user_data);
    auto wrapped = MemoryFile::Wrap({static_cast<std::byte*>(data), length},
                                    static_cast<MemoryAccess>(access) & MemoryAccess::kReadWrite,
                                    callback);
    if (!wrapped.ok()) {
      DropRelease(callback);
      return wrapped.status();
    }
    handle->file = *std::move(wrapped);
    *out_file = handle.release();
    return Status();
  });
}

void halio_file_free(halio_file_t* file) { delete file; }

uint64_t halio_file_length(const halio_file_t* file) {
  return file != nullptr ? file->file->length() : 0;
}

uint32_t halio_file_access(const halio_file_t* file) {
  return file != nullptr ? static_cast<uint32_t>(file->file->allowed_access()) : 0;
}

const char* halio_file_description(const halio_file_t* file) {
  return file != nullptr ? file->file->description().c_str() : "";
}

halio_backend_t halio_file_backend(const halio_file_t* file) {
  const FdFile* fd_file = FdOf(file);
  return fd_file != nullptr ? static_cast<halio_backend_t>(fd_file->io_backend())
                            : HALIO_BACKEND_NONE;
}

const char* halio_file_backend_fallback_reason(const halio_file_t* file) {
  const FdFile* fd_file = FdOf(file);
  return fd_file != nullptr ? fd_file->async_fallback_reason().c_str() : "";
}

int halio_file_direct(const halio_file_t* file) {
  const FdFile* fd_file = FdOf(file);
  return fd_file != nullptr && fd_file->direct() ? 1 : 0;
}

const char* halio_file_direct_fallback_reason(const halio_file_t* file) {
  const FdFile* fd_file = FdOf(file);
  return fd_file != nullptr ? fd_file->direct_fallback_reason().c_str() : "";
}

halio_status_t halio_file_read(halio_file_t* file, uint64_t offset, void* data, size_t length) {
  return Guard(__func__, [&](const char* api) {
    return SyncTransfer(api, file, IoOp::kRead, offset, data, length);
  });
}

halio_status_t halio_file_write(halio_file_t* file, uint64_t offset, const void* data,
                                size_t length) {
  return Guard(__func__, [&](const char* api) {
    return SyncTransfer(api, file, IoOp::kWrite, offset, data, length);
  });
}

halio_status_t halio_file_read_async(halio_file_t* file, uint64_t offset, void* data,
                                     size_t length, halio_io_callback_t callback,
                                     void* user_data) {
  return Guard(__func__, [&](const char* api) {
    return StartTransfer(api, file, IoOp::kRead, offset, data, length, callback, user_data);
  });
}

halio_status_t halio_file_write_async(halio_file_t* file, uint64_t offset, const void* data,
                                      size_t length, halio_io_callback_t callback,
                                      void* user_data) {
  return Guard(__func__, [&](const char* api) {
    return StartTransfer(api, file, IoOp::kWrite, offset, data, length, callback, user_data);
  });
}

halio_status_t halio_file_flush(halio_file_t* file, int data_only) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, file, "file"));
    FdFile* fd_file = FdTransfer::Of(*file->file);
    if (fd_file == nullptr) {
      return FailedPreconditionError(std::string(api) + ": " + file->file->description() +
                                     " is a memory file; there is nothing to flush");
    }
    return fd_file->Flush(data_only != 0);
  });
}

}  // extern "C"
