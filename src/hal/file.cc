#include "halio/file.h"

#include <cstdint>
#include <new>
#include <string>

#include "halio/hal/transfer.h"
#include "fd_io.h"
#include "async_io.h"
#include "host_new.h"
#include "fd_transfer.h"
#include "buffer_internals.h"
#include "staged_transfer.h"

namespace halio {
namespace {

// The largest offset a file can have: off_t is signed 64-bit.
constexpr uint64_t kMaxFileOffset = INT64_MAX;

std::string RangeText(uint64_t offset, uint64_t length) {
  if (offset + length < offset) {
    return "[" + std::to_string(offset) + ", " + std::to_string(offset) + " + " +
           std::to_string(length) + ") (offset + length overflows 64 bits)";
  }
  return "[" + std::to_string(offset) + ", " + std::to_string(offset + length) + ")";
}

Status CheckFileAccess(const File& file, MemoryAccess needed, const char* verb) {
  if (AnySet(file.allowed_access(), needed)) return Status();
  return PermissionDeniedError("cannot " + std::string(verb) + " " + file.description() +
                               ": it was opened for " +
                               MemoryAccessToString(file.allowed_access()) +
                               " access only; open or import it with " +
                               MemoryAccessToString(needed) + " access");
}

}  // namespace

Status ValidateFileRead(const File& file, uint64_t file_offset, const Buffer& buffer,
                        uint64_t buffer_offset, uint64_t length) {
  HALIO_RETURN_IF_ERROR(CheckFileAccess(file, MemoryAccess::kRead, "read"));
  Status status = buffer.Validate(MemoryAccess::kWrite, buffer_offset, length);
  if (!status.ok()) [[unlikely]] return status.Annotate("read target");
  const uint64_t file_length = file.length();
  if (file_offset > file_length || length > file_length - file_offset) [[unlikely]] {
    return OutOfRangeError("read of " + file.description() + " range " +
                           RangeText(file_offset, length) + " is past the end of the file (" +
                           std::to_string(file_length) + " bytes)");
  }
  return Status();
}

Status ValidateFileWrite(const File& file, uint64_t file_offset, const Buffer& buffer,
                         uint64_t buffer_offset, uint64_t length) {
  HALIO_RETURN_IF_ERROR(CheckFileAccess(file, MemoryAccess::kWrite, "write"));
  Status status = buffer.Validate(MemoryAccess::kRead, buffer_offset, length);
  if (!status.ok()) [[unlikely]] return status.Annotate("write source");
  if (file_offset > kMaxFileOffset || length > kMaxFileOffset - file_offset) [[unlikely]] {
    return OutOfRangeError("write of " + file.description() + " range " +
                           RangeText(file_offset, length) +
                           " goes beyond the largest file offset (2^63 - 1)");
  }
  return Status();
}

// --- FdFile -----------------------------------------------------------------

namespace {

const BufferRef& NullBufferRef() {
  // Constant-initialized (shared_ptr's default constructor is constexpr), so
  // the first call allocates nothing either.
  static const BufferRef null_ref;
  return null_ref;
}

// The allocator FdFileOptions names, System() when it names none.
HostAllocator& HostAllocatorOf(const FdFileOptions& options) {
  return options.host_allocator ? *options.host_allocator : HostAllocator::System();
}

}  // namespace

// Takes ownership of `fd` (closed on any failure).
Result<FileRef> MakeFdFileImpl(NativeHandle fd, MemoryAccess access, std::string description,
                               const FdFileOptions& options) {
  auto length = platform::HandleLength(fd, description);
  if (!length.ok()) {
    platform::CloseHandle(fd);
    return length.status();
  }
  auto made = HostMakeShared<FdFile>(HostAllocatorOf(options), "importing " + description, fd,
                                     access, *length, description, options);
  if (!made.ok()) {
    platform::CloseHandle(fd);
    return made.status();
  }
  std::shared_ptr<FdFile> file = *std::move(made);
  HALIO_RETURN_IF_ERROR(file->AttachEngine(options));  // the file closes fd on failure
  return FileRef(std::move(file));
}

Status FdFile::AttachEngine(const FdFileOptions& options) {
  IoEngineRef engine = options.engine;
  if (!engine) {
    auto shared = IoEngine::Shared(options.backend);
    if (!shared.ok()) {
      // A forced backend that cannot start is the caller's error; `auto`
      // keeps the file working synchronously and records why.
      if (options.backend != IoBackend::kAuto) {
        return Status(shared.status()).Annotate("importing " + description_);
      }
      fallback_reason_ = "no I/O engine could start: " + shared.status().ToString();
    } else {
      engine = *shared;
    }
  }
  if (engine) {
    auto async = std::static_pointer_cast<AsyncIoEngine>(engine);  // every engine is one
    backend_ = async->backend();
    if (async->is_async()) {
      Status attached = async->AttachHandle(fd_, description_);
      if (attached.ok()) {
        auto handle = HostNew<EngineFile>(host_, "importing " + description_, async, fd_,
                                          &description_);
        if (!handle.ok()) {
          async->DetachHandle(fd_);
          return handle.status();
        }
        async_file_.reset(*handle);
        return Status();
      }
      // As for an engine that cannot start: a forced backend says why, `auto`
      // keeps the file working synchronously and records it.
      if (options.backend != IoBackend::kAuto) {
        return attached.Annotate("importing " + description_);
      }
      backend_ = IoBackend::kSync;
      fallback_reason_ = std::string(attached.message());
    } else {
      fallback_reason_ = engine->fallback_reason().empty()
                             ? std::string("the sync backend was requested")
                             : engine->fallback_reason();
    }
  }
  if (options.log) {
    options.log("halio: " + description_ + " uses synchronous I/O: " + fallback_reason_);
  }
  return Status();
}

FdFile::FdFile(NativeHandle fd, MemoryAccess access, uint64_t length, std::string description,
               const FdFileOptions& options)
    : fd_(fd),
      access_(access),
      length_(length),
      description_(std::move(description)),
      sync_on_close_(options.sync_on_close),
      host_(HostAllocatorOf(options)),
      interceptor_(options.interceptor) {
  is_fd_file_ = true;
}

FdFile::~FdFile() {
  // A destructor cannot report: callers that must know a flush succeeded call
  // Flush() themselves before dropping the file.
  async_file_.reset();  // the engine drained this file's requests with its owner's ops
  if (sync_on_close_) platform::SyncHandle(fd_, true, description_).IgnoreError();
  platform::CloseHandle(fd_);
  if (buffered_fd_ != kInvalidHandle) platform::CloseHandle(buffered_fd_);
}

Result<FileRef> FdFile::FromHandle(NativeHandle fd, MemoryAccess access,
                                   const FdFileOptions& options) {
  access = access & MemoryAccess::kReadWrite;
  if (access == MemoryAccess::kNone) {
    return InvalidArgumentError("importing fd " + std::to_string(fd) +
                                " needs read and/or write access");
  }
  HALIO_ASSIGN_OR_RETURN(platform::OpenFlags opened, platform::HandleAccess(fd));
  if ((AnySet(access, MemoryAccess::kRead) && !opened.read) ||
      (AnySet(access, MemoryAccess::kWrite) && !opened.write)) {
    return PermissionDeniedError(platform::HandleText(fd) + " was opened for " +
                                 (opened.read ? "reading" : "writing") +
                                 " only; it cannot be imported with " +
                                 MemoryAccessToString(access) + " access");
  }
  HALIO_ASSIGN_OR_RETURN(NativeHandle copy, platform::DuplicateHandle(fd));
  return MakeFdFileImpl(copy, access, platform::HandleText(fd), options);
}

Result<FileRef> FdFile::Open(const std::string& path, OpenMode mode,
                             const FdFileOptions& options) {
  platform::OpenFlags flags;
  flags.read = AnySet(mode, OpenMode::kRead);
  flags.write = AnySet(mode, OpenMode::kWrite);
  flags.create = AnySet(mode, OpenMode::kCreate);
  flags.truncate = AnySet(mode, OpenMode::kTruncate);
  flags.direct = AnySet(mode, OpenMode::kDirect);
  auto fd = platform::OpenPath(path, flags);
  std::string direct_refused;
  if (!fd.ok() && flags.direct && fd.status().code() == StatusCode::kInvalidArgument) {
    // EINVAL for O_DIRECT alone means the filesystem has no direct I/O.
    direct_refused = "the filesystem of " + path +
                     " refused O_DIRECT (EINVAL; tmpfs does); using buffered I/O";
    flags.direct = false;
    fd = platform::OpenPath(path, flags);
  }
  if (!fd.ok()) return fd.status();
  MemoryAccess access = (flags.read ? MemoryAccess::kRead : MemoryAccess::kNone) |
                        (flags.write ? MemoryAccess::kWrite : MemoryAccess::kNone);
  HALIO_ASSIGN_OR_RETURN(FileRef file, MakeFdFileImpl(*fd, access, path, options));
  auto* fd_file = static_cast<FdFile*>(file.get());
  if (flags.direct) HALIO_RETURN_IF_ERROR(fd_file->EnableDirect(path, flags.read, flags.write));
  if (!direct_refused.empty()) {
    fd_file->direct_fallback_reason_ = direct_refused;
    if (options.log) options.log("halio: " + direct_refused);
  }
  return file;
}

Status FdFile::EnableDirect(const std::string& path, bool read, bool write) {
  HALIO_ASSIGN_OR_RETURN(platform::DirectAlignment alignment,
                         platform::HandleDirectAlignment(fd_, description_));
  platform::OpenFlags flags;
  flags.read = read;
  flags.write = write;
  HALIO_ASSIGN_OR_RETURN(buffered_fd_, platform::OpenPath(path, flags));
  direct_offset_alignment_ = alignment.offset;
  direct_memory_alignment_ = alignment.memory;
  return Status();
}

const BufferRef& FdFile::storage_buffer() const { return NullBufferRef(); }

Status FdFile::Read(uint64_t file_offset, Buffer& buffer, uint64_t buffer_offset,
                    uint64_t length) {
  HALIO_RETURN_IF_ERROR(ValidateFileRead(*this, file_offset, buffer, buffer_offset, length));
  if (length == 0) return Status();
  if (DeviceMemory* memory = BufferInternals::DeviceMemoryOf(buffer)) {
    std::byte* address = BufferInternals::ValidatedData(buffer, buffer_offset);
    if (address == nullptr) return BufferInternals::FreedError(buffer);
    return StagedRead(*memory, *this, file_offset, address, length, {.host = &host_});
  }
  HALIO_ASSIGN_OR_RETURN(std::span<std::byte> bytes,
                         buffer.MapUnretained(MemoryAccess::kWrite, buffer_offset, length));
  return FdTransfer::ReadBytes(*this, file_offset, bytes);
}

Status FdFile::Write(uint64_t file_offset, Buffer& buffer, uint64_t buffer_offset,
                     uint64_t length) {
  HALIO_RETURN_IF_ERROR(ValidateFileWrite(*this, file_offset, buffer, buffer_offset, length));
  if (length == 0) return Status();
  if (DeviceMemory* memory = BufferInternals::DeviceMemoryOf(buffer)) {
    const std::byte* address = BufferInternals::ValidatedData(buffer, buffer_offset);
    if (address == nullptr) return BufferInternals::FreedError(buffer);
    HALIO_RETURN_IF_ERROR(
        StagedWrite(*memory, address, *this, file_offset, length, {.host = &host_}));
    FdTransfer::NoteWritten(*this, file_offset + length);
    return Status();
  }
  HALIO_ASSIGN_OR_RETURN(std::span<std::byte> bytes,
                         buffer.MapUnretained(MemoryAccess::kRead, buffer_offset, length));
  HALIO_RETURN_IF_ERROR(FdTransfer::WriteBytes(*this, file_offset, bytes));
  FdTransfer::NoteWritten(*this, file_offset + length);
  return Status();
}

Status FdFile::Flush(bool data_only) {
  return platform::SyncHandle(fd_, data_only, description_);
}

// --- MemoryFile -------------------------------------------------------------

MemoryFile::MemoryFile(BufferRef storage, MemoryAccess access)
    : storage_(std::move(storage)), access_(access), description_("memory file") {}

Result<FileRef> MemoryFile::Wrap(std::span<std::byte> memory, MemoryAccess access,
                                 ReleaseCallback release, BufferAllocator allocator) {
  access = access & MemoryAccess::kReadWrite;
  if (access == MemoryAccess::kNone) {
    return InvalidArgumentError("a memory file needs read and/or write access");
  }
  // Created before the import so a failure here cannot call `release`.
  HALIO_ASSIGN_OR_RETURN(std::shared_ptr<MemoryFile> file,
                         HostMakeShared<MemoryFile>(allocator.host_allocator(),
                                                    "wrapping a memory file", nullptr, access));
  try {
    file->description_ = "memory file of " + std::to_string(memory.size()) + " bytes";
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory wrapping a memory file");
  }
  BufferParams params;
  params.access = access;
  if (reinterpret_cast<uintptr_t>(memory.data()) % kMinBufferAlignment != 0) {
    params.access = params.access | MemoryAccess::kUnaligned;
  }
  HALIO_ASSIGN_OR_RETURN(file->storage_, allocator.Import(params, memory, release));
  return FileRef(std::move(file));
}

Status MemoryFile::Read(uint64_t file_offset, Buffer& buffer, uint64_t buffer_offset,
                        uint64_t length) {
  HALIO_RETURN_IF_ERROR(ValidateFileRead(*this, file_offset, buffer, buffer_offset, length));
  return CopyInline(*storage_, file_offset, buffer, buffer_offset, length);
}

Status MemoryFile::Write(uint64_t file_offset, Buffer& buffer, uint64_t buffer_offset,
                         uint64_t length) {
  HALIO_RETURN_IF_ERROR(ValidateFileWrite(*this, file_offset, buffer, buffer_offset, length));
  if (file_offset > storage_->byte_length() || length > storage_->byte_length() - file_offset) {
    return OutOfRangeError("write of " + description_ + " range " +
                           RangeText(file_offset, length) +
                           " is past its end; a memory file cannot grow");
  }
  return CopyInline(buffer, buffer_offset, *storage_, file_offset, length);
}

}  // namespace halio
