#include "cts/cts_util.h"

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <iterator>

namespace halio::cts {

std::string ParamName(const CtsParam& param) {
  if (param.file_kind == FileKind::kMemory) return param.device + "_memory_file";
  return param.device + "_fd_file_" + IoBackendName(param.backend);
}

std::vector<CtsParam> AllCtsParams() {
  std::vector<CtsParam> params;
  for (const std::string& device : AvailableDevices()) {
    for (IoBackend backend : {IoBackend::kIoUring, IoBackend::kAsio, IoBackend::kSync}) {
      params.push_back({device, FileKind::kFd, backend});
    }
    params.push_back({device, FileKind::kMemory, IoBackend::kSync});
  }
  return params;
}

std::vector<std::byte> PatternBytes(size_t length, uint32_t seed) {
  std::vector<std::byte> bytes(length);
  uint32_t state = seed * 2654435761u + 1;
  for (size_t i = 0; i < length; ++i) {
    state = state * 1664525u + 1013904223u;
    bytes[i] = static_cast<std::byte>(state >> 24);
  }
  return bytes;
}

FileFactory::FileFactory(FileKind kind, IoBackend backend) : kind_(kind), backend_(backend) {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::temp_directory_path() /
          ("halio_cts_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
}

FileFactory::~FileFactory() {
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

std::byte* FileFactory::MemoryStart() {
  auto address = reinterpret_cast<uintptr_t>(arena_.data());
  size_t to_64 = (64 - address % 64) % 64;
  return arena_.data() + to_64 + kMemoryOffset;
}

const std::byte* FileFactory::MemoryStart() const {
  return const_cast<FileFactory*>(this)->MemoryStart();
}

Result<FileRef> FileFactory::Make(const std::vector<std::byte>& contents,
                                  MemoryAccess access) {
  if (kind_ == FileKind::kMemory) {
    arena_.assign(contents.size() + 64 + kMemoryOffset, std::byte{0});
    memory_size_ = contents.size();
    std::copy(contents.begin(), contents.end(), MemoryStart());
    return MemoryFile::Wrap(std::span<std::byte>(MemoryStart(), memory_size_), access);
  }
  {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(contents.data()),
              static_cast<std::streamsize>(contents.size()));
    if (!out) return InternalError("cannot write test file " + path_.string());
  }
  OpenMode mode = OpenMode::kRead;
  if (access == MemoryAccess::kWrite) mode = OpenMode::kWrite;
  if (AllSet(access, MemoryAccess::kReadWrite)) mode = OpenMode::kReadWrite;
  FdFileOptions options;
  options.backend = backend_;
  return FdFile::Open(path_.string(), mode, options);
}

std::vector<std::byte> FileFactory::Contents() const {
  if (kind_ == FileKind::kMemory) {
    return std::vector<std::byte>(MemoryStart(), MemoryStart() + memory_size_);
  }
  std::ifstream in(path_, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  std::memcpy(bytes.data(), chars.data(), chars.size());
  return bytes;
}

}  // namespace halio::cts
