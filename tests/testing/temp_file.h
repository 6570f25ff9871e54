// A scratch file in the temp directory (or a given one), removed on
// destruction.
#ifndef HALIO_TESTS_TESTING_TEMP_FILE_H_
#define HALIO_TESTS_TESTING_TEMP_FILE_H_

#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace halio::testing {

// The bytes of the file at `path` as stored now, read from outside halio
// (empty when it cannot be opened).
inline std::vector<std::byte> ReadFileBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  std::vector<std::byte> bytes(in ? static_cast<size_t>(in.tellg()) : 0);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

class TempFile {
 public:
  TempFile() : TempFile(std::filesystem::temp_directory_path()) {}
  explicit TempFile(const std::vector<std::byte>& contents) : TempFile() { Write(contents); }
  // In `directory` instead of the temp directory.
  explicit TempFile(const std::filesystem::path& directory) {
    static std::atomic<int> counter{0};
    path_ = directory /
            ("halio_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  }
  TempFile(const std::filesystem::path& directory, const std::vector<std::byte>& contents)
      : TempFile(directory) {
    Write(contents);
  }
  ~TempFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  void Write(const std::vector<std::byte>& contents) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(contents.data()),
              static_cast<std::streamsize>(contents.size()));
  }
  std::vector<std::byte> Read() const { return ReadFileBytes(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace halio::testing

#endif  // HALIO_TESTS_TESTING_TEMP_FILE_H_
