// A scratch file in the temp directory, removed on destruction.
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

class TempFile {
 public:
  TempFile() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("halio_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  }
  explicit TempFile(const std::vector<std::byte>& contents) : TempFile() { Write(contents); }
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
  std::vector<std::byte> Read() const {
    std::ifstream in(path_, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
    std::vector<std::byte> bytes(chars.size());
    for (size_t i = 0; i < chars.size(); ++i) bytes[i] = static_cast<std::byte>(chars[i]);
    return bytes;
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace halio::testing

#endif  // HALIO_TESTS_TESTING_TEMP_FILE_H_
