// safetensors header parsing: the real files written by the safetensors
// package, every fixture from generate_fixtures.py, every malformed case,
// and truncation at every byte.
#include "safetensors/safetensors_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "io/io_test_util.h"
#include "testing/status_matchers.h"

namespace halio {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::FixturePath;
using testing::kInvalid;
using testing::kRange;
using testing::MalformedCase;
using testing::ReadBytes;
using testing::SharedPath;

Result<SafetensorsHeader> ParseFile(const std::string& path) {
  const std::vector<std::byte> bytes = ReadBytes(path);
  return ParseSafetensorsHeader(bytes, bytes.size(), path);
}

struct ExpectedTensor {
  std::string name;
  std::string dtype;
  std::vector<uint64_t> shape;
  uint64_t offset;
  uint64_t length;
};

void ExpectTensors(const SafetensorsHeader& header, const std::vector<ExpectedTensor>& expected) {
  ASSERT_EQ(header.tensors.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const SafetensorsTensor& tensor = header.tensors[i];
    SCOPED_TRACE(expected[i].name);
    EXPECT_EQ(tensor.name, expected[i].name);
    EXPECT_EQ(tensor.dtype_name, expected[i].dtype);
    EXPECT_EQ(SafetensorsDtypeName(tensor.dtype), expected[i].dtype);
    EXPECT_EQ(tensor.shape, expected[i].shape);
    EXPECT_EQ(tensor.offset, expected[i].offset);
    EXPECT_EQ(tensor.length, expected[i].length);
  }
}

// --- real files from the safetensors package ---------------------------------

TEST(SafetensorsThirdPartyTest, Empty) {
  HALIO_SKIP_WITHOUT_SHARED_TESTDATA();
  HALIO_ASSERT_OK_AND_ASSIGN(SafetensorsHeader header, ParseFile(SharedPath("empty.safetensors")));
  EXPECT_EQ(header.header_size, 8u);
  EXPECT_EQ(header.data_offset, 16u);
  EXPECT_TRUE(header.tensors.empty());
  EXPECT_TRUE(header.metadata.empty());
}

TEST(SafetensorsThirdPartyTest, Single) {
  HALIO_SKIP_WITHOUT_SHARED_TESTDATA();
  HALIO_ASSERT_OK_AND_ASSIGN(SafetensorsHeader header,
                             ParseFile(SharedPath("single.safetensors")));
  EXPECT_EQ(header.data_offset, 72u);
  ExpectTensors(header, {{"tensor0", "F32", {2, 2}, 72, 16}});
}

TEST(SafetensorsThirdPartyTest, Multiple) {
  HALIO_SKIP_WITHOUT_SHARED_TESTDATA();
  HALIO_ASSERT_OK_AND_ASSIGN(SafetensorsHeader header,
                             ParseFile(SharedPath("multiple.safetensors")));
  // README: data_offsets [0,16] [16,24] [24,72] after an 8 + 192 byte header.
  EXPECT_EQ(header.data_offset, 200u);
  ExpectTensors(header, {{"tensor0", "F32", {2, 2}, 200, 16},
                         {"tensor1", "F32", {1, 2}, 216, 8},
                         {"tensor2", "F32", {4, 3}, 224, 48}});
}

// --- fixtures ---------------------------------------------------------------

TEST(SafetensorsFixtureTest, EveryDtype) {
  const std::string path = FixturePath("st_all_dtypes.safetensors");
  HALIO_ASSERT_OK_AND_ASSIGN(SafetensorsHeader header, ParseFile(path));
  // The generator packs one tensor per dtype in enum order: [2, 3] each,
  // except the sub-byte types, sized to whole bytes.
  std::vector<ExpectedTensor> expected;
  uint64_t offset = header.data_offset;
  for (SafetensorsDtype dtype : AllSafetensorsDtypes()) {
    const std::string name(SafetensorsDtypeName(dtype));
    std::vector<uint64_t> shape = {2, 3};
    if (name == "F6_E2M3") shape = {4};
    if (name == "F6_E3M2") shape = {2, 4};
    uint64_t elements = 1;
    for (uint64_t dim : shape) elements *= dim;
    const uint64_t length = elements * SafetensorsDtypeBits(dtype) / 8;
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](char c) { return static_cast<char>(std::tolower(c)); });
    expected.push_back({"t_" + lower, name, shape, offset, length});
    offset += length;
  }
  ExpectTensors(header, expected);
  EXPECT_EQ(AllSafetensorsDtypes().size(), 22u);
}

TEST(SafetensorsFixtureTest, DtypeTable) {
  EXPECT_EQ(SafetensorsDtypeBits(SafetensorsDtype::kF4), 4u);
  EXPECT_EQ(SafetensorsDtypeBits(SafetensorsDtype::kF6E2M3), 6u);
  EXPECT_EQ(SafetensorsDtypeBits(SafetensorsDtype::kBool), 8u);
  EXPECT_EQ(SafetensorsDtypeBits(SafetensorsDtype::kC64), 64u);
  EXPECT_EQ(SafetensorsDtypeFromName("BF16"), SafetensorsDtype::kBF16);
  EXPECT_EQ(SafetensorsDtypeFromName("F8_E8M0"), SafetensorsDtype::kF8E8M0);
  EXPECT_EQ(SafetensorsDtypeFromName("f32"), std::nullopt);  // case-sensitive
  EXPECT_EQ(SafetensorsDtypeFromName(""), std::nullopt);
  for (SafetensorsDtype dtype : AllSafetensorsDtypes()) {
    EXPECT_EQ(SafetensorsDtypeFromName(SafetensorsDtypeName(dtype)), dtype);
  }
}

TEST(SafetensorsFixtureTest, EmptyHeader) {
  HALIO_ASSERT_OK_AND_ASSIGN(SafetensorsHeader header,
                             ParseFile(FixturePath("st_empty.safetensors")));
  EXPECT_EQ(header.header_size, 8u);
  EXPECT_TRUE(header.tensors.empty());
  EXPECT_TRUE(header.metadata.empty());
}

TEST(SafetensorsFixtureTest, ZeroTensorsWithMetadata) {
  HALIO_ASSERT_OK_AND_ASSIGN(SafetensorsHeader header,
                             ParseFile(FixturePath("st_metadata_only.safetensors")));
  EXPECT_TRUE(header.tensors.empty());
  EXPECT_THAT(header.metadata, ElementsAre(std::pair{"format", "pt"},
                                           std::pair{"note", "no tensors"}));
}

TEST(SafetensorsFixtureTest, ZeroSizeTensors) {
  HALIO_ASSERT_OK_AND_ASSIGN(SafetensorsHeader header,
                             ParseFile(FixturePath("st_zero_size.safetensors")));
  const uint64_t base = header.data_offset;
  // Sorted by offset, then name: the empty tensors share offsets with others.
  ExpectTensors(header, {{"empty", "F32", {0, 4}, base, 0},
                         {"scalar", "F32", {}, base, 4},
                         {"after", "I8", {3}, base + 4, 3},
                         {"empty_end", "U8", {2, 0}, base + 7, 0}});
}

TEST(SafetensorsFixtureTest, Metadata) {
  HALIO_ASSERT_OK_AND_ASSIGN(SafetensorsHeader header,
                             ParseFile(FixturePath("st_metadata.safetensors")));
  EXPECT_THAT(header.metadata,
              ElementsAre(std::pair{"author", "halio tests"},
                          std::pair{"escaped", "a\"b\\c\n\xc3\xa9"},  // JSON escapes decoded
                          std::pair{"format", "pt"}));
  const uint64_t base = header.data_offset;
  ExpectTensors(header, {{"weight", "BF16", {2, 2}, base, 8}, {"bias", "F32", {2}, base + 8, 8}});
}

TEST(SafetensorsFixtureTest, HeaderFromPrefix) {
  const std::string path = FixturePath("st_metadata.safetensors");
  const std::vector<std::byte> bytes = ReadBytes(path);
  HALIO_ASSERT_OK_AND_ASSIGN(uint64_t header_size,
                             ReadSafetensorsHeaderSize(std::span(bytes).first(8), bytes.size(),
                                                       path));
  // Exactly 8 + N bytes are enough; one fewer asks for them.
  const auto prefix = std::span(bytes).first(8 + header_size);
  HALIO_EXPECT_OK(ParseSafetensorsHeader(prefix, bytes.size(), path));
  EXPECT_THAT(ParseSafetensorsHeader(prefix.first(prefix.size() - 1), bytes.size(), path),
              StatusIs(StatusCode::kOutOfRange,
                       HasSubstr("needs the first " + std::to_string(8 + header_size))));
  EXPECT_THAT(ReadSafetensorsHeaderSize(prefix.first(4), bytes.size(), path),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("first 8 bytes")));
}

// --- malformed fixtures -----------------------------------------------------

const MalformedCase kMalformed[] = {
    {"st_bad_too_short.safetensors", kInvalid, "5 bytes is too short"},
    {"st_bad_header_size_past_end.safetensors", kRange, "header size 1000 bytes runs past"},
    {"st_bad_header_too_large.safetensors", kInvalid, "100 MB"},
    {"st_bad_invalid_json.safetensors", kInvalid, "header is not valid JSON"},
    {"st_bad_invalid_utf8.safetensors", kInvalid, "UTF-8"},
    {"st_bad_not_object.safetensors", kInvalid, "header must be a JSON object, not an array"},
    {"st_bad_metadata_not_object.safetensors", kInvalid,
     "__metadata__ must be a JSON object, not a string"},
    {"st_bad_metadata_not_strings.safetensors", kInvalid,
     "__metadata__: the value of 'epoch' must be a string"},
    {"st_bad_duplicate_metadata_key.safetensors", kInvalid, "__metadata__ has the key 'a' twice"},
    {"st_bad_tensor_not_object.safetensors", kInvalid, "tensor 't' must be a JSON object"},
    {"st_bad_missing_dtype.safetensors", kInvalid, "tensor 't': has no \"dtype\""},
    {"st_bad_missing_shape.safetensors", kInvalid, "tensor 't': has no \"shape\""},
    {"st_bad_missing_offsets.safetensors", kInvalid, "tensor 't': has no \"data_offsets\""},
    {"st_bad_dtype_not_string.safetensors", kInvalid, "tensor 't': \"dtype\" must be a string"},
    {"st_bad_shape_not_array.safetensors", kInvalid, "tensor 't': \"shape\" must be an array"},
    {"st_bad_shape_negative.safetensors", kInvalid, "tensor 't': \"shape\" must hold non-negative"},
    {"st_bad_shape_float.safetensors", kInvalid, "tensor 't': \"shape\" must hold non-negative"},
    {"st_bad_offsets_not_pair.safetensors", kInvalid, "tensor 't': \"data_offsets\" must be"},
    {"st_bad_unknown_dtype.safetensors", kInvalid, "tensor 't': unknown dtype \"F128\""},
    {"st_bad_size_mismatch.safetensors", kInvalid,
     "tensor 't': shape and dtype need 16 bytes but data_offsets [0, 12) hold 12"},
    {"st_bad_shape_overflow.safetensors", kInvalid, "tensor 't': shape [4294967296, 4294967296]"},
    {"st_bad_sub_byte_partial.safetensors", kInvalid, "tensor 't': shape [3] of F4 is 12 bits"},
    {"st_bad_offsets_reversed.safetensors", kInvalid, "tensor 't': data_offsets [8, 4) begin"},
    {"st_bad_offsets_past_end.safetensors", kRange,
     "tensor 't': data_offsets [0, 16) run past the end of the data section (12 bytes)"},
    {"st_bad_overlap.safetensors", kInvalid, "tensors 'a' [120, 136) and 'b' [128, 144) overlap"},
    {"st_bad_duplicate_tensor.safetensors", kInvalid, "header has the key 't' twice"},
    {"st_bad_duplicate_field.safetensors", kInvalid, "tensor 't' has the key 'dtype' twice"},
};

class SafetensorsMalformedTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(SafetensorsMalformedTest, FailsNamingTheProblem) {
  testing::ExpectFailsAsCase(GetParam(), ParseFile(FixturePath(GetParam().file)).status());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SafetensorsMalformedTest, ::testing::ValuesIn(kMalformed));

TEST(SafetensorsMalformedCoverageTest, EveryBadFixtureHasACase) {
  testing::ExpectEveryFixtureHasACase("st_bad_", kMalformed);
}

// --- truncation -------------------------------------------------------------

// Every prefix of a valid file, taken as the whole file, must fail cleanly
// while anything the header needs is cut and parse once it is all there.
void CheckEveryTruncation(const std::string& path) {
  SCOPED_TRACE(path);
  const std::vector<std::byte> bytes = ReadBytes(path);
  HALIO_ASSERT_OK_AND_ASSIGN(SafetensorsHeader full,
                             ParseSafetensorsHeader(bytes, bytes.size(), path));
  uint64_t needed = full.data_offset;
  for (const SafetensorsTensor& tensor : full.tensors) {
    needed = std::max(needed, tensor.offset + tensor.length);
  }
  testing::CheckEveryTruncation(bytes, needed, [&](std::span<const std::byte> prefix) {
    return ParseSafetensorsHeader(prefix, prefix.size(), path).status();
  });
}

TEST(SafetensorsTruncationTest, FixturesFailCleanlyAtEveryByte) {
  for (const char* name : {"st_all_dtypes.safetensors", "st_empty.safetensors",
                           "st_metadata_only.safetensors", "st_zero_size.safetensors",
                           "st_metadata.safetensors"}) {
    CheckEveryTruncation(FixturePath(name));
  }
}

TEST(SafetensorsTruncationTest, ThirdPartyFailCleanlyAtEveryByte) {
  HALIO_SKIP_WITHOUT_SHARED_TESTDATA();
  for (const char* name : {"empty.safetensors", "single.safetensors", "multiple.safetensors"}) {
    CheckEveryTruncation(SharedPath(name));
  }
}

TEST(SafetensorsTruncationTest, CorruptedBytesNeverCrash) {
  const std::string path = FixturePath("st_metadata.safetensors");
  testing::CheckCorruptionsFailCleanly(ReadBytes(path), [&](std::span<const std::byte> bytes) {
    return ParseSafetensorsHeader(bytes, bytes.size(), path).status();
  });
}

}  // namespace
}  // namespace halio
