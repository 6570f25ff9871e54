#include "halio/hal/buffer.h"

#include <string>

#include "buffer_internals.h"
#include "buffer_storage.h"
#include "host_new.h"

namespace halio {

std::string MemoryAccessToString(MemoryAccess access) {
  std::string out;
  auto add = [&](MemoryAccess bit, const char* name) {
    if (!AnySet(access, bit)) return;
    if (!out.empty()) out += "|";
    out += name;
  };
  add(MemoryAccess::kRead, "read");
  add(MemoryAccess::kWrite, "write");
  add(MemoryAccess::kDiscard, "discard");
  add(MemoryAccess::kUnaligned, "unaligned");
  return out.empty() ? "none" : out;
}

Status CheckRange(std::string_view what, uint64_t size, uint64_t offset,
                  uint64_t length, uint64_t* resolved_length) {
  if (offset > size) {
    return OutOfRangeError(std::string(what) + ": offset " + std::to_string(offset) +
                           " is past the end (" + std::to_string(size) + " bytes)");
  }
  if (length == kWholeBuffer) {
    length = size - offset;
  } else if (length > size - offset) {
    bool overflows = offset + length < offset;
    return OutOfRangeError(
        std::string(what) + ": range [" + std::to_string(offset) + ", " +
        (overflows ? std::string("overflow") : std::to_string(offset + length)) +
        ") is outside [0, " + std::to_string(size) + ")" +
        (overflows ? " (offset + length overflows 64 bits)" : ""));
  }
  if (resolved_length) *resolved_length = length;
  return Status();
}

Result<BufferRef> BufferInternals::Create(HostAllocator& host, std::string_view what,
                                          std::shared_ptr<BufferStorage> storage,
                                          uint64_t byte_offset, uint64_t byte_length,
                                          const BufferParams& params, bool transient) {
  return HostMakeShared<Buffer>(host, what, Buffer::Passkey(), std::move(storage),
                                byte_offset, byte_length, params, transient);
}

Status BufferInternals::FreedError(const Buffer& buffer) {
  return FailedPreconditionError(buffer.Describe() +
                                 " was freed by queue_dealloca; it has no memory now");
}

Buffer::Buffer(Passkey, std::shared_ptr<BufferStorage> storage, uint64_t byte_offset,
               uint64_t byte_length, const BufferParams& params, bool transient)
    : storage_(std::move(storage)),
      byte_offset_(byte_offset),
      byte_length_(byte_length),
      params_(params),
      transient_(transient) {}

Buffer::~Buffer() = default;

bool Buffer::host_visible() const { return storage_->device_memory() == nullptr; }

std::string Buffer::Describe() const {
  std::string description = "buffer of " + std::to_string(byte_length_) + " bytes";
  if (const DeviceMemory* memory = storage_->device_memory()) {
    description += " in " + memory->description();
  }
  return description;
}

namespace {

// Validate's errors, cold and out of line: every queue call validates, and
// keeping the message building out of it keeps the check a few instructions.
[[gnu::cold, gnu::noinline]] Status AccessDenied(const Buffer& buffer, MemoryAccess access) {
  return PermissionDeniedError(buffer.Describe() + " allows " +
                               MemoryAccessToString(buffer.allowed_access()) +
                               " access, not " +
                               MemoryAccessToString(access & MemoryAccess::kAll));
}

[[gnu::cold, gnu::noinline]] Status NotHostVisible(const Buffer& buffer) {
  return FailedPreconditionError(
      buffer.Describe() +
      " cannot be mapped: the host cannot see that memory. Move its bytes with the device's "
      "queue_copy (into a buffer allocated with MemoryType::kHost), queue_read or "
      "queue_write (to a file or a MemoryFile), or allocate it host-visible");
}

[[gnu::cold, gnu::noinline]] Status OutOfRange(const Buffer& buffer, uint64_t offset,
                                               uint64_t length) {
  return CheckRange(buffer.Describe(), buffer.byte_length(), offset, length);
}

}  // namespace

Status Buffer::Validate(MemoryAccess access, uint64_t offset, uint64_t length) const {
  // A plain write needs write access; a discard-only mapping (old contents
  // not needed) is satisfied by either write or discard access.
  bool read_denied = AnySet(access, MemoryAccess::kRead) &&
                     !AnySet(params_.access, MemoryAccess::kRead);
  bool write_denied =
      (AnySet(access, MemoryAccess::kWrite) && !AnySet(params_.access, MemoryAccess::kWrite)) ||
      (AnySet(access, MemoryAccess::kDiscard) &&
       !AnySet(params_.access, MemoryAccess::kWrite | MemoryAccess::kDiscard));
  if (read_denied || write_denied) [[unlikely]] return AccessDenied(*this, access);
  // kWholeBuffer: any offset up to the end (CheckRange's rule).
  const uint64_t checked_length = length == kWholeBuffer ? 0 : length;
  if (offset > byte_length_ || checked_length > byte_length_ - offset) [[unlikely]] {
    return OutOfRange(*this, offset, length);
  }
  return Status();
}

Result<std::span<std::byte>> Buffer::MapUnretained(MemoryAccess access, uint64_t offset,
                                                   uint64_t length) {
  HALIO_RETURN_IF_ERROR(Validate(access, offset, length));
  if (storage_->device_memory() != nullptr) [[unlikely]] return NotHostVisible(*this);
  if (length == kWholeBuffer) length = byte_length_ - offset;
  std::byte* data = BufferInternals::ValidatedData(*this, offset);
  if (data == nullptr) [[unlikely]] return BufferInternals::FreedError(*this);
  return std::span<std::byte>(data, length);
}

Result<DeviceAddress> Buffer::GetDeviceAddress() const {
  const DeviceMemory* memory = storage_->device_memory();
  if (memory == nullptr) {
    return FailedPreconditionError(Describe() +
                                   " is host memory and has no device address: Map gives its "
                                   "host address");
  }
  const std::byte* address = BufferInternals::ValidatedData(*this, 0);
  if (address == nullptr) [[unlikely]] return BufferInternals::FreedError(*this);
  return memory->AddressFor(address);
}

Result<MappedMemory> Buffer::Map(MemoryAccess access, uint64_t offset, uint64_t length) {
  HALIO_ASSIGN_OR_RETURN(std::span<std::byte> bytes, MapUnretained(access, offset, length));
  return MappedMemory(shared_from_this(), bytes, access);
}

Result<BufferRef> Buffer::Subspan(uint64_t offset, uint64_t length) {
  uint64_t resolved = 0;
  HALIO_RETURN_IF_ERROR(CheckRange(Describe(), byte_length_, offset, length, &resolved));
  auto view = BufferInternals::Create(storage_->bookkeeping(), "a view", storage_,
                                      byte_offset_ + offset, resolved, params_, transient_);
  if (!view.ok()) return Status(view.status()).Annotate("creating a view of " + Describe());
  return view;
}

}  // namespace halio
