// Shared fixture pieces for the conformance suite: devices by name, files of
// either kind with known contents, buffers and semaphores.
#ifndef HALIO_TESTS_CTS_CTS_UTIL_H_
#define HALIO_TESTS_CTS_CTS_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "halio/drivers.h"
#include "halio/file.h"
#include "halio/hal/device.h"
#include "halio/status.h"

namespace halio::cts {

enum class FileKind { kFd, kMemory };

struct CtsParam {
  std::string device;
  FileKind file_kind;
  // For fd files: the backend files are imported into (forced).
  IoBackend backend = IoBackend::kSync;
};

// Every device x (fd file x {io_uring, asio, sync} + memory file).
std::vector<CtsParam> AllCtsParams();

std::string ParamName(const CtsParam& param);

// Deterministic bytes: byte i of a pattern seeded with `seed`.
std::vector<std::byte> PatternBytes(size_t length, uint32_t seed);

// Creates files of one kind and reads their current contents back from
// outside halio (the disk via std::ifstream, or the caller memory).
class FileFactory {
 public:
  explicit FileFactory(FileKind kind, IoBackend backend = IoBackend::kSync);
  ~FileFactory();

  // A file holding `contents`, opened/imported with `access`.
  Result<FileRef> Make(const std::vector<std::byte>& contents, MemoryAccess access);
  // The bytes of the most recently made file as stored now.
  std::vector<std::byte> Contents() const;
  FileKind kind() const { return kind_; }

 private:
  FileKind kind_;
  IoBackend backend_;
  std::filesystem::path path_;
  // Memory files live here, deliberately at a 16-byte (not 64-byte) offset:
  // embedded data is often only 16-byte aligned.
  std::vector<std::byte> arena_;
  size_t memory_size_ = 0;
  static constexpr size_t kMemoryOffset = 16;
  std::byte* MemoryStart();
  const std::byte* MemoryStart() const;
};

}  // namespace halio::cts

#endif  // HALIO_TESTS_CTS_CTS_UTIL_H_
