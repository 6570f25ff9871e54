// Helpers for the io tests: where the fixtures are and how to read them.
//
// HALIO_IO_TESTDATA is tests/io/testdata in the source tree (fixtures from
// generate_fixtures.py); HALIO_SHARED_TESTDATA is
// ../shared/testdata/third_party beside the source tree (real files from
// the safetensors and gguf Python packages), which may be absent.
#ifndef HALIO_TESTS_IO_IO_TEST_UTIL_H_
#define HALIO_TESTS_IO_IO_TEST_UTIL_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "halio/status.h"
#include "testing/status_matchers.h"

namespace halio::testing {

inline std::string FixturePath(const std::string& name) {
  return std::string(HALIO_IO_TESTDATA) + "/" + name;
}

inline std::string SharedPath(const std::string& name) {
  return std::string(HALIO_SHARED_TESTDATA) + "/" + name;
}

inline bool SharedTestdataPresent() {
  return std::filesystem::is_directory(HALIO_SHARED_TESTDATA);
}

#define HALIO_SKIP_WITHOUT_SHARED_TESTDATA()                                           \
  if (!::halio::testing::SharedTestdataPresent())                                     \
  GTEST_SKIP() << "shared test data not found at " HALIO_SHARED_TESTDATA              \
                  " (the real safetensors/GGUF files live beside the source tree in " \
                  "../shared/testdata/third_party)"

inline std::vector<std::byte> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  for (size_t i = 0; i < chars.size(); ++i) bytes[i] = static_cast<std::byte>(chars[i]);
  return bytes;
}

// Fixture names in tests/io/testdata starting with `prefix`, sorted.
inline std::vector<std::string> FixturesWithPrefix(const std::string& prefix) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(HALIO_IO_TESTDATA)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// A malformed fixture and the error it must produce: the code, and a
// substring that names the key or tensor at fault.
struct MalformedCase {
  const char* file;
  StatusCode code;
  const char* message;
};

inline void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.file; }

inline constexpr StatusCode kInvalid = StatusCode::kInvalidArgument;
inline constexpr StatusCode kRange = StatusCode::kOutOfRange;

// `status`, from parsing fixture `c.file`, has the case's code and a
// message naming the file and saying what is wrong.
inline void ExpectFailsAsCase(const MalformedCase& c, const Status& status) {
  EXPECT_THAT(status, StatusIs(c.code, ::testing::AllOf(::testing::HasSubstr(FixturePath(c.file)),
                                                        ::testing::HasSubstr(c.message))));
}

// Every fixture named `prefix`* needs a case, so a new malformed fixture
// cannot go untested.
inline void ExpectEveryFixtureHasACase(const std::string& prefix,
                                       std::span<const MalformedCase> cases) {
  for (const std::string& name : FixturesWithPrefix(prefix)) {
    EXPECT_TRUE(std::any_of(cases.begin(), cases.end(),
                            [&](const MalformedCase& c) { return name == c.file; }))
        << name << " has no expected error";
  }
}

// The only codes the parsers fail with.
inline bool IsParseErrorCode(StatusCode code) {
  return code == StatusCode::kInvalidArgument || code == StatusCode::kOutOfRange;
}

// `parse(prefix)` parses `prefix` as a whole file. Every prefix shorter
// than `needed` must fail cleanly; every longer one must parse.
template <typename Parse>
void CheckEveryTruncation(std::span<const std::byte> bytes, uint64_t needed, Parse parse) {
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    const Status status = parse(bytes.first(cut));
    if (cut < needed) {
      ASSERT_FALSE(status.ok()) << "cut at " << cut;
      ASSERT_TRUE(IsParseErrorCode(status.code())) << status.ToString();
    } else {
      ASSERT_THAT(status, IsOk()) << "cut at " << cut;
    }
  }
}

// Flips bits in every byte in turn: `parse` must return success or a clean
// error, never read out of bounds (ASan) or overflow (UBSan).
template <typename Parse>
void CheckCorruptionsFailCleanly(std::vector<std::byte> bytes, Parse parse) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (std::byte flip : {std::byte{0x01}, std::byte{0x40}, std::byte{0xff}}) {
      bytes[i] ^= flip;
      const Status status = parse(std::span<const std::byte>(bytes));
      if (!status.ok()) {
        EXPECT_TRUE(IsParseErrorCode(status.code())) << status.ToString();
      }
      bytes[i] ^= flip;
    }
  }
}

}  // namespace halio::testing

#endif  // HALIO_TESTS_IO_IO_TEST_UTIL_H_
