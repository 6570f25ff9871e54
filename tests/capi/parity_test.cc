// The C ABI reports what the C++ API reports: for every malformed fixture in
// tests/io/testdata, for missing files and for bad ranges, the C call's code
// and message are the C++ call's, byte for byte.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "halio/file.h"
#include "halio/hal/allocator.h"
#include "halio/halio.h"
#include "halio/params.h"

namespace halio {
namespace {

const std::filesystem::path kTestdata = HALIO_IO_TESTDATA;

// The C status as {code, message}, freed.
std::pair<int, std::string> Take(halio_status_t status) {
  std::pair<int, std::string> taken{halio_status_code(status), halio_status_message(status)};
  halio_status_free(status);
  return taken;
}

std::pair<int, std::string> Of(const Status& status) {
  return {static_cast<int>(status.code()), std::string(status.message())};
}

TEST(CapiParityTest, EveryMalformedParameterFileFailsAlike) {
  std::vector<std::filesystem::path> bad;
  for (const auto& entry : std::filesystem::directory_iterator(kTestdata)) {
    if (entry.path().filename().string().find("_bad_") != std::string::npos) {
      bad.push_back(entry.path());
    }
  }
  ASSERT_GT(bad.size(), 20u) << "the malformed fixtures are missing from " << kTestdata;
  for (const auto& path : bad) {
    SCOPED_TRACE(path.string());
    const std::string text = path.string();
    auto cpp = OpenParameterIndex(text);
    ASSERT_FALSE(cpp.ok());
    const char* paths[] = {text.c_str()};
    halio_index_t* index = nullptr;
    EXPECT_EQ(Take(halio_index_open(paths, 1, &index)), Of(cpp.status()));
    EXPECT_EQ(index, nullptr);
  }
}

TEST(CapiParityTest, MissingFileFailsAlike) {
  const std::string path = (kTestdata / "no_such_file.safetensors").string();
  halio_file_t* file = nullptr;
  EXPECT_EQ(Take(halio_file_open(path.c_str(), HALIO_OPEN_READ, nullptr, &file)),
            Of(FdFile::Open(path, OpenMode::kRead).status()));
  const char* paths[] = {path.c_str()};
  halio_index_t* index = nullptr;
  EXPECT_EQ(Take(halio_index_open(paths, 1, &index)), Of(OpenParameterIndex(path).status()));
}

TEST(CapiParityTest, BadRangesFailAlike) {
  const std::string path = (kTestdata / "st_metadata.safetensors").string();
  auto cpp_file = FdFile::Open(path, OpenMode::kRead);
  ASSERT_TRUE(cpp_file.ok());
  halio_file_t* file = nullptr;
  ASSERT_EQ(halio_file_open(path.c_str(), HALIO_OPEN_READ, nullptr, &file), nullptr);
  const uint64_t length = (*cpp_file)->length();
  std::vector<std::byte> memory(64);
  BufferParams params;
  params.access = MemoryAccess::kAll | MemoryAccess::kUnaligned;  // as the C calls wrap memory
  auto buffer = BufferAllocator().Import(params, memory, {});
  ASSERT_TRUE(buffer.ok());
  // Past the end, and an offset + length that overflows 64 bits.
  for (uint64_t offset : {length - 8, ~uint64_t{0} - 4}) {
    SCOPED_TRACE(offset);
    const auto want = Of((*cpp_file)->Read(offset, **buffer, 0, 16));
    EXPECT_EQ(Take(halio_file_read(file, offset, memory.data(), 16)), want);
    EXPECT_EQ(Take(halio_file_read_async(
                  file, offset, memory.data(), 16,
                  [](void*, halio_status_t status) { halio_status_free(status); }, nullptr)),
              want);
  }
  // Writing a read-only file.
  EXPECT_EQ(Take(halio_file_write(file, 0, memory.data(), 16)),
            Of((*cpp_file)->Write(0, **buffer, 0, 16)));
  halio_file_free(file);
}

}  // namespace
}  // namespace halio
