// Files: the sources and targets of queue_read / queue_write.
//
// File is the interface devices use. FdFile wraps an open descriptor and does
// positional I/O through the platform layer (chunked to what the kernel moves
// in one call, EINTR retried, a short read never taken for success).
// MemoryFile wraps host memory (for example data embedded in a binary) and
// exposes it as a storage buffer, so reads from it are buffer copies.
//
// Ownership: files are shared (std::shared_ptr). FdFile owns a duplicate of
// the descriptor it was given and closes only that. MemoryFile never owns the
// memory; it calls the caller's release callback once when the last reference
// (the file or its storage buffer) drops.
//
// Thread-safety: Read/Write/length are thread-safe; concurrent writes to the
// same file range race as with pwrite.
#ifndef HALIO_FILE_H_
#define HALIO_FILE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "halio/hal/allocator.h"
#include "halio/hal/buffer.h"
#include "halio/io_backend.h"
#include "halio/native_handle.h"
#include "halio/status.h"

namespace halio {

class File;
using FileRef = std::shared_ptr<File>;
class FdTransfer;  // halio's own: how an FdFile's bytes move
class EngineFile;   // halio's own: an FdFile's import into an async engine

class File {
 public:
  File() = default;
  virtual ~File() = default;

  // Length in bytes: captured at import and raised by writes through this
  // File. A file that shrinks underneath is detected by the read itself.
  virtual uint64_t length() const = 0;
  // kRead and/or kWrite.
  virtual MemoryAccess allowed_access() const = 0;
  // The file's bytes as a buffer (memory files), or null.
  virtual const BufferRef& storage_buffer() const = 0;
  virtual bool supports_synchronous_io() const = 0;
  // For messages: the path, "fd N" or "memory file".
  virtual const std::string& description() const = 0;

  // Reads file bytes [file_offset, file_offset + length) into `buffer` at
  // `buffer_offset`. Errors: PERMISSION_DENIED (file not readable or buffer
  // not writable), OUT_OF_RANGE (range outside the file or buffer, or end of
  // file reached early), and the mapped errno of a failed read.
  virtual Status Read(uint64_t file_offset, Buffer& buffer, uint64_t buffer_offset,
                      uint64_t length) = 0;
  // Writes buffer bytes to the file at `file_offset`, extending an fd file.
  // Errors: PERMISSION_DENIED, OUT_OF_RANGE, RESOURCE_EXHAUSTED (ENOSPC) and
  // the mapped errno of a failed write.
  virtual Status Write(uint64_t file_offset, Buffer& buffer, uint64_t buffer_offset,
                       uint64_t length) = 0;

 private:
  friend class FdFile;
  friend class FdTransfer;
  // Set only by FdFile's constructor, so halio's devices find an FdFile (and
  // its faster paths) without RTTI.
  bool is_fd_file_ = false;
};

// Checks a read/write request against the file and the buffer before any work
// is done: access rights, then ranges, overflow-safe. Reads must lie inside
// the file; writes must not overflow the largest file offset (INT64_MAX).
// Errors: PERMISSION_DENIED, OUT_OF_RANGE. Used by every device.
Status ValidateFileRead(const File& file, uint64_t file_offset, const Buffer& buffer,
                        uint64_t buffer_offset, uint64_t length);
Status ValidateFileWrite(const File& file, uint64_t file_offset, const Buffer& buffer,
                         uint64_t buffer_offset, uint64_t length);

// How FdFile::Open opens a path. Bit flags.
enum class OpenMode : uint32_t {
  kRead = 1u << 0,
  kWrite = 1u << 1,
  kCreate = 1u << 2,    // create if missing (mode 0644 before umask)
  kTruncate = 1u << 3,  // truncate to 0 bytes
  // O_DIRECT: bypass the page cache. Any offset, length and buffer works:
  // aligned middles go direct, unaligned heads/tails and unaligned memory
  // through aligned bounce memory (writes of partial blocks through the page
  // cache). Where the filesystem refuses O_DIRECT (tmpfs), the file uses
  // buffered I/O and direct_fallback_reason() says why.
  kDirect = 1u << 4,
  kReadWrite = kRead | kWrite,
};
HALIO_BITMASK_OPERATORS(OpenMode)

struct FdFileOptions {
  // Flush file data (fdatasync) when the last reference to the file drops.
  bool sync_on_close = false;
  // Which engine to import the file into. kAuto (after HALIO_BACKEND) uses
  // the shared engine io_uring -> asio -> sync picks; when no async engine
  // can be had the file silently uses synchronous I/O and records why. A
  // forced backend that cannot start makes Open/FromHandle fail instead.
  IoBackend backend = IoBackend::kAuto;
  // Use this engine instead of a shared one (overrides `backend`).
  IoEngineRef engine;
  // Told about a fallback to synchronous I/O, with the reason.
  LogSink log;
  // Where the file's bookkeeping is allocated (must outlive the file); null
  // means HostAllocator::System().
  HostAllocator* host_allocator = nullptr;
  // Sees (and may replace) the result of every read/write call this file's
  // I/O makes, on every backend; null for none. See IoInterceptor.
  IoInterceptorRef interceptor;
};

class FdFile final : public File {
 public:
  // Duplicates `fd` (with O_CLOEXEC); the caller keeps and closes its own.
  // `access` must be a subset of what the descriptor was opened with.
  // Errors: INVALID_ARGUMENT (no access bits), FAILED_PRECONDITION (EBADF),
  // and the mapped errno of dup/fstat.
  static Result<FileRef> FromHandle(NativeHandle fd, MemoryAccess access,
                                    const FdFileOptions& options = {});
  // Opens `path`. Errors: NOT_FOUND, PERMISSION_DENIED, INVALID_ARGUMENT
  // (mode has neither read nor write) and other mapped errnos, each naming
  // the path.
  static Result<FileRef> Open(const std::string& path, OpenMode mode,
                              const FdFileOptions& options = {});

  FdFile(NativeHandle fd, MemoryAccess access, uint64_t length, std::string description,
         const FdFileOptions& options);
  ~FdFile() override;

  uint64_t length() const override { return length_.load(std::memory_order_acquire); }
  MemoryAccess allowed_access() const override { return access_; }
  const BufferRef& storage_buffer() const override;
  bool supports_synchronous_io() const override { return true; }
  const std::string& description() const override { return description_; }
  Status Read(uint64_t file_offset, Buffer& buffer, uint64_t buffer_offset,
              uint64_t length) override;
  Status Write(uint64_t file_offset, Buffer& buffer, uint64_t buffer_offset,
               uint64_t length) override;

  // The backend the file's requests go through (kSync when not imported).
  IoBackend io_backend() const { return backend_; }
  // Why the file uses synchronous I/O, or empty when it was imported into an
  // async engine.
  const std::string& async_fallback_reason() const { return fallback_reason_; }

  // True when the file was opened with O_DIRECT.
  bool direct() const { return direct_offset_alignment_ != 0; }
  // O_DIRECT alignment of file offsets/lengths and of memory; 0 if not direct.
  uint32_t direct_offset_alignment() const { return direct_offset_alignment_; }
  uint32_t direct_memory_alignment() const { return direct_memory_alignment_; }
  // Why kDirect was asked for and not granted, or empty.
  const std::string& direct_fallback_reason() const { return direct_fallback_reason_; }

  // The file's own descriptor (the duplicate FromHandle made, or the one
  // Open opened): valid while the file lives; closed by the file, never by
  // the caller.
  NativeHandle fd() const { return fd_; }
  // fdatasync (data_only) or fsync. Errors: the mapped errno.
  Status Flush(bool data_only = true);

 private:
  // How bytes move (chunk routing, the engine import, the interceptor) is
  // FdTransfer's (src/hal/fd_transfer.h), the only code besides this class
  // that uses these members.
  friend class FdTransfer;

  NativeHandle fd_;
  MemoryAccess access_;
  std::atomic<uint64_t> length_;
  std::string description_;
  bool sync_on_close_;
  IoBackend backend_ = IoBackend::kSync;
  std::string fallback_reason_;
  std::unique_ptr<EngineFile> async_file_;
  // O_DIRECT state: a second, buffered descriptor for partial-block writes.
  NativeHandle buffered_fd_ = kInvalidHandle;
  uint32_t direct_offset_alignment_ = 0;
  uint32_t direct_memory_alignment_ = 0;
  std::string direct_fallback_reason_;
  HostAllocator& host_;  // bookkeeping and O_DIRECT bounce memory
  IoInterceptorRef interceptor_;

  friend Result<FileRef> MakeFdFileImpl(NativeHandle, MemoryAccess, std::string,
                                        const FdFileOptions&);
  // Imports the file into the engine `options` ask for (see FdFileOptions).
  Status AttachEngine(const FdFileOptions& options);
  // Queries O_DIRECT alignment and opens the buffered twin descriptor.
  Status EnableDirect(const std::string& path, bool read, bool write);
};

class MemoryFile final : public File {
 public:
  // Wraps `memory` (not copied). `release` runs once when the file and its
  // storage buffer are both gone; if Wrap fails it is not called. Memory that
  // is not 64-byte aligned is imported with unaligned access allowed (data
  // embedded in a binary is often only 16-byte aligned). Errors:
  // INVALID_ARGUMENT (no access bits), RESOURCE_EXHAUSTED.
  static Result<FileRef> Wrap(std::span<std::byte> memory, MemoryAccess access,
                              ReleaseCallback release = {},
                              BufferAllocator allocator = BufferAllocator());

  MemoryFile(BufferRef storage, MemoryAccess access);

  uint64_t length() const override { return storage_->byte_length(); }
  MemoryAccess allowed_access() const override { return access_; }
  const BufferRef& storage_buffer() const override { return storage_; }
  bool supports_synchronous_io() const override { return true; }
  const std::string& description() const override { return description_; }
  // Range-checked copies; a memory file never grows (writes past its end are
  // OUT_OF_RANGE).
  Status Read(uint64_t file_offset, Buffer& buffer, uint64_t buffer_offset,
              uint64_t length) override;
  Status Write(uint64_t file_offset, Buffer& buffer, uint64_t buffer_offset,
               uint64_t length) override;

 private:
  BufferRef storage_;
  MemoryAccess access_;
  std::string description_;
};

}  // namespace halio

#endif  // HALIO_FILE_H_
