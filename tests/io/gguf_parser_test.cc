// GGUF header parsing: the real files written by the gguf package, the
// v2/v3 fixtures (quantized types, every metadata value type, nested
// arrays), every malformed case, prefixes and truncation at every byte.
#include "gguf/gguf_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "io/io_test_util.h"
#include "testing/status_matchers.h"

namespace halio {
namespace {

using ::testing::HasSubstr;
using testing::FixturePath;
using testing::kInvalid;
using testing::kRange;
using testing::MalformedCase;
using testing::ReadBytes;
using testing::SharedPath;

Result<GgufFile> ParseFile(const std::string& path) {
  const std::vector<std::byte> bytes = ReadBytes(path);
  return ParseGgufHeader(bytes, bytes.size(), path);
}

std::string MetadataText(const GgufFile& file, std::string_view key) {
  const GgufValue* value = file.FindMetadata(key);
  return value == nullptr ? "<missing>" : GgufValueToString(*value);
}

struct ExpectedTensor {
  std::string name;
  std::vector<uint64_t> dims;
  std::string type;
  uint64_t relative_offset;
  uint64_t length;
};

void ExpectTensors(const GgufFile& file, const std::vector<ExpectedTensor>& expected) {
  ASSERT_EQ(file.tensors.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const GgufTensorInfo& tensor = file.tensors[i];
    SCOPED_TRACE(expected[i].name);
    EXPECT_EQ(tensor.name, expected[i].name);
    EXPECT_EQ(tensor.dims, expected[i].dims);
    EXPECT_EQ(tensor.type_name, expected[i].type);
    EXPECT_EQ(tensor.relative_offset, expected[i].relative_offset);
    EXPECT_EQ(tensor.offset, file.data_offset + expected[i].relative_offset);
    EXPECT_EQ(tensor.length, expected[i].length);
  }
}

// --- real files from the gguf package ---------------------------------------

// The README's metadata, shared by all four files. The writer put
// general.architecture in twice with the same value; it is kept once.
void ExpectThirdPartyMetadata(const GgufFile& file) {
  EXPECT_EQ(file.alignment, 64u);
  ASSERT_EQ(file.metadata.size(), 5u);
  EXPECT_EQ(MetadataText(file, "general.architecture"), "generic");
  EXPECT_EQ(MetadataText(file, "general.alignment"), "64");
  EXPECT_EQ(MetadataText(file, "metadata_uint32"), "42");
  EXPECT_EQ(file.FindMetadata("metadata_uint32")->type, GgufValueType::kUint32);
  EXPECT_EQ(MetadataText(file, "metadata_str"), "hello");
  EXPECT_EQ(MetadataText(file, "metadata_strs"), "[\"a\", \"b\", \"c\"]");
  EXPECT_EQ(file.data_offset % 64, 0u);
}

TEST(GgufThirdPartyTest, Empty) {
  HALIO_SKIP_WITHOUT_SHARED_TESTDATA();
  HALIO_ASSERT_OK_AND_ASSIGN(GgufFile file, ParseFile(SharedPath("empty.gguf")));
  EXPECT_EQ(file.version, 3u);
  ExpectThirdPartyMetadata(file);
  EXPECT_TRUE(file.tensors.empty());
}

TEST(GgufThirdPartyTest, Single) {
  HALIO_SKIP_WITHOUT_SHARED_TESTDATA();
  for (const auto& [name, version] : {std::pair{"single.gguf", 3u}, std::pair{"single_v2.gguf", 2u}}) {
    SCOPED_TRACE(name);
    HALIO_ASSERT_OK_AND_ASSIGN(GgufFile file, ParseFile(SharedPath(name)));
    EXPECT_EQ(file.version, version);
    ExpectThirdPartyMetadata(file);
    EXPECT_EQ(file.data_offset, 384u);
    ExpectTensors(file, {{"tensor0", {2, 2}, "F32", 0, 16}});
  }
}

TEST(GgufThirdPartyTest, Multiple) {
  HALIO_SKIP_WITHOUT_SHARED_TESTDATA();
  HALIO_ASSERT_OK_AND_ASSIGN(GgufFile file, ParseFile(SharedPath("multiple.gguf")));
  EXPECT_EQ(file.version, 3u);
  ExpectThirdPartyMetadata(file);
  EXPECT_EQ(file.data_offset, 448u);
  // README: dims [2,2], [2,1], [3,4] (innermost first), offsets 0, 64, 128.
  ExpectTensors(file, {{"tensor0", {2, 2}, "F32", 0, 16},
                       {"tensor1", {2, 1}, "F32", 64, 8},
                       {"tensor2", {3, 4}, "F32", 128, 48}});
}

// --- fixtures ---------------------------------------------------------------

TEST(GgufFixtureTest, V3QuantizedTypesAndEveryValueType) {
  const std::string path = FixturePath("gguf_v3_quant.gguf");
  HALIO_ASSERT_OK_AND_ASSIGN(GgufFile file, ParseFile(path));
  EXPECT_EQ(file.version, 3u);
  EXPECT_EQ(file.alignment, 64u);
  EXPECT_EQ(file.data_offset % 64, 0u);
  EXPECT_GE(file.data_offset, file.header_length);
  EXPECT_LT(file.data_offset - file.header_length, 64u);
  ExpectTensors(file, {{"tok_embd.weight", {64, 2}, "Q4_0", 0, 2 * 18 * 2},
                       {"blk.0.attn_q.weight", {32, 3}, "Q8_0", 128, 34 * 3},
                       {"blk.0.ffn_down.weight", {256, 2}, "Q4_K", 256, 144 * 2},
                       {"blk.0.ffn_up.weight", {256, 1}, "Q6_K", 576, 210},
                       {"output_norm.weight", {3}, "F32", 832, 12},
                       {"blk.0.four_d", {4, 1, 1, 2}, "F16", 896, 16},
                       {"empty", {0, 4}, "F32", 960, 0}});
  EXPECT_EQ(ReadBytes(path).size(), file.data_offset + 960);
}

TEST(GgufFixtureTest, EveryMetadataValueType) {
  HALIO_ASSERT_OK_AND_ASSIGN(GgufFile file, ParseFile(FixturePath("gguf_v3_quant.gguf")));
  const std::pair<const char*, const char*> expected[] = {
      {"general.architecture", "halio-test"},
      {"test.uint8", "200"},
      {"test.int8", "-100"},
      {"test.uint16", "60000"},
      {"test.int16", "-30000"},
      {"test.uint32", "4000000000"},
      {"test.int32", "-2000000000"},
      {"test.float32", "0.5"},
      {"test.bool", "true"},
      {"test.string", "h\xc3\xa9llo"},
      {"test.uint64", "9223372036854775813"},
      {"test.int64", "-4611686018427387904"},
      {"test.float64", "-2.25"},
      {"test.array_u8", "[1, 2, 3]"},
      {"test.array_bool", "[true, false]"},
      {"test.array_f32", "[1.5, -2]"},
      {"test.array_str", "[\"a\", \"b\\\"c\"]"},
      {"test.array_nested", "[[1, -2], [], [\"x\"]]"},
      {"test.array_empty", "[]"},
      {"general.alignment", "64"},
  };
  ASSERT_EQ(file.metadata.size(), std::size(expected));
  for (size_t i = 0; i < std::size(expected); ++i) {
    EXPECT_EQ(file.metadata[i].key, expected[i].first);
    EXPECT_EQ(GgufValueToString(file.metadata[i].value), expected[i].second)
        << expected[i].first;
  }
  // Typed access.
  const GgufValue* int8 = file.FindMetadata("test.int8");
  ASSERT_NE(int8, nullptr);
  EXPECT_EQ(int8->type, GgufValueType::kInt8);
  EXPECT_EQ(std::get<int64_t>(int8->data), -100);
  const GgufValue* nested = file.FindMetadata("test.array_nested");
  ASSERT_NE(nested, nullptr);
  const auto& outer = std::get<GgufArray>(nested->data);
  EXPECT_EQ(outer.element_type, GgufValueType::kArray);
  ASSERT_EQ(outer.size, 3u);
  const auto& first = std::get<GgufArray>(outer.items[0].data);
  EXPECT_EQ(first.element_type, GgufValueType::kInt32);
  EXPECT_EQ(std::get<int64_t>(first.Element(1).data), -2);
  EXPECT_EQ(std::get<float>(file.FindMetadata("test.float32")->data), 0.5f);
}

TEST(GgufFixtureTest, V2DefaultAlignment) {
  HALIO_ASSERT_OK_AND_ASSIGN(GgufFile file, ParseFile(FixturePath("gguf_v2.gguf")));
  EXPECT_EQ(file.version, 2u);
  EXPECT_EQ(file.alignment, 32u);
  EXPECT_EQ(file.data_offset % 32, 0u);
  EXPECT_EQ(MetadataText(file, "general.name"), "v2");
  ExpectTensors(file, {{"a", {64}, "Q4_0", 0, 36}, {"b", {2, 2}, "BF16", 64, 8},
                       {"c", {5}, "I8", 96, 5}});
}

TEST(GgufFixtureTest, EmptyFile) {
  HALIO_ASSERT_OK_AND_ASSIGN(GgufFile file, ParseFile(FixturePath("gguf_empty.gguf")));
  EXPECT_EQ(file.header_length, 24u);
  EXPECT_EQ(file.data_offset, 32u);
  EXPECT_TRUE(file.metadata.empty());
  EXPECT_TRUE(file.tensors.empty());
}

TEST(GgufTypeTableTest, MatchesGgml) {
  const std::pair<uint32_t, GgmlTypeInfo> expected[] = {
      {0, {"F32", 1, 4}},      {1, {"F16", 1, 2}},        {2, {"Q4_0", 32, 18}},
      {3, {"Q4_1", 32, 20}},   {6, {"Q5_0", 32, 22}},     {7, {"Q5_1", 32, 24}},
      {8, {"Q8_0", 32, 34}},   {9, {"Q8_1", 32, 40}},     {10, {"Q2_K", 256, 84}},
      {11, {"Q3_K", 256, 110}}, {12, {"Q4_K", 256, 144}}, {13, {"Q5_K", 256, 176}},
      {14, {"Q6_K", 256, 210}}, {15, {"Q8_K", 256, 292}}, {16, {"IQ2_XXS", 256, 66}},
      {17, {"IQ2_XS", 256, 74}}, {18, {"IQ3_XXS", 256, 98}}, {19, {"IQ1_S", 256, 50}},
      {20, {"IQ4_NL", 32, 18}}, {21, {"IQ3_S", 256, 110}}, {22, {"IQ2_S", 256, 82}},
      {23, {"IQ4_XS", 256, 136}}, {24, {"I8", 1, 1}},     {25, {"I16", 1, 2}},
      {26, {"I32", 1, 4}},     {27, {"I64", 1, 8}},       {28, {"F64", 1, 8}},
      {29, {"IQ1_M", 256, 56}}, {30, {"BF16", 1, 2}},     {34, {"TQ1_0", 256, 54}},
      {35, {"TQ2_0", 256, 66}}, {39, {"MXFP4", 32, 17}},
  };
  for (const auto& [id, info] : expected) {
    const GgmlTypeInfo* actual = FindGgmlType(id);
    ASSERT_NE(actual, nullptr) << id;
    EXPECT_EQ(actual->name, info.name) << id;
    EXPECT_EQ(actual->block_size, info.block_size) << id;
    EXPECT_EQ(actual->type_size, info.type_size) << id;
  }
  for (uint32_t removed : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u}) {
    ASSERT_NE(FindGgmlType(removed), nullptr);
    EXPECT_EQ(FindGgmlType(removed)->block_size, 0u) << removed;
  }
  EXPECT_EQ(FindGgmlType(40), nullptr);
  EXPECT_EQ(FindGgmlType(std::numeric_limits<uint32_t>::max()), nullptr);
}

TEST(GgufValueTest, LongArraysAreCut) {
  GgufArray array;
  array.element_type = GgufValueType::kUint8;
  array.size = 20;
  for (int i = 0; i < 20; ++i) array.scalars.push_back(static_cast<std::byte>(i));
  const GgufValue value{GgufValueType::kArray, array};
  EXPECT_EQ(GgufValueToString(value, 3), "[0, 1, 2, ... (20 elements)]");
  EXPECT_EQ(GgufValueToString(value, 20).substr(0, 10), "[0, 1, 2, ");
  EXPECT_EQ(GgufValueTypeName(GgufValueType::kFloat64), "float64");
  EXPECT_EQ(GgufValueTypeName(static_cast<GgufValueType>(13)), "unknown");
}

// --- malformed fixtures -----------------------------------------------------

const MalformedCase kMalformed[] = {
    {"gguf_bad_magic.gguf", kInvalid, "not a GGUF file"},
    {"gguf_bad_version_1.gguf", kInvalid, "GGUF version 1 is not supported"},
    {"gguf_bad_version_4.gguf", kInvalid, "GGUF version 4 is not supported"},
    {"gguf_bad_big_endian.gguf", kInvalid, "big-endian GGUF"},
    {"gguf_bad_tensor_count_huge.gguf", kInvalid, "tensor count 9223372036854775808 needs at least"},
    {"gguf_bad_kv_count_huge.gguf", kInvalid, "metadata count 9223372036854775808 needs at least"},
    {"gguf_bad_string_length_huge.gguf", kRange,
     "metadata key #0: key at offset 32 needs 4611686018427387904 bytes, but the file ends"},
    {"gguf_bad_value_type.gguf", kInvalid, "metadata key 'k': unknown value type 13"},
    {"gguf_bad_array_type.gguf", kInvalid, "metadata key 'k': unknown array element type 99"},
    {"gguf_bad_array_count_huge.gguf", kInvalid,
     "metadata key 'k': array length 4611686018427387904 needs at least 4 bytes each"},
    {"gguf_bad_bool_value.gguf", kInvalid, "metadata key 'k': bool value 2 is neither 0 nor 1"},
    {"gguf_bad_nested_too_deep.gguf", kInvalid, "metadata key 'k': arrays nested more than 32"},
    {"gguf_bad_alignment_not_pow2.gguf", kInvalid,
     "metadata key 'general.alignment': 48 is not a non-zero power of two"},
    {"gguf_bad_alignment_zero.gguf", kInvalid,
     "metadata key 'general.alignment': 0 is not a non-zero power of two"},
    {"gguf_bad_alignment_type.gguf", kInvalid,
     "metadata key 'general.alignment': must be a uint32, not uint64"},
    {"gguf_bad_duplicate_key.gguf", kInvalid,
     "metadata key 'general.architecture': appears twice with different values"},
    {"gguf_bad_n_dims.gguf", kInvalid, "tensor 't': n_dims 5 exceeds 4"},
    {"gguf_bad_unknown_type.gguf", kInvalid, "tensor 't': unknown ggml type 99"},
    {"gguf_bad_removed_type.gguf", kInvalid, "tensor 't': ggml type 4 (Q4_2 (removed))"},
    {"gguf_bad_block_multiple.gguf", kInvalid,
     "tensor 't': innermost dimension 33 is not a multiple of Q4_0's block of 32"},
    {"gguf_bad_dims_overflow.gguf", kInvalid,
     "tensor 't': dims [4294967296, 4294967296, 4294967296] of F32 overflow"},
    {"gguf_bad_misaligned_offset.gguf", kInvalid,
     "tensor 't': offset 8 is not a multiple of the alignment 32"},
    {"gguf_bad_offset_past_end.gguf", kRange,
     "tensor 't': data at offset 32 of the data section (16 bytes) runs past the end"},
    {"gguf_bad_overlap.gguf", kInvalid, "tensors 'a' [160, 192) and 'b' [160, 192) overlap"},
    {"gguf_bad_duplicate_tensor.gguf", kInvalid, "tensor 't': appears twice"},
    {"gguf_bad_truncated_header.gguf", kRange, "but the file ends at 300"},
    {"gguf_bad_truncated_data.gguf", kRange, "tensor 't': data at offset 0"},
};

class GgufMalformedTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(GgufMalformedTest, FailsNamingTheProblem) {
  testing::ExpectFailsAsCase(GetParam(), ParseFile(FixturePath(GetParam().file)).status());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GgufMalformedTest, ::testing::ValuesIn(kMalformed));

TEST(GgufMalformedCoverageTest, EveryBadFixtureHasACase) {
  testing::ExpectEveryFixtureHasACase("gguf_bad_", kMalformed);
}

TEST(GgufHostileCountTest, FailsFastWithoutAllocating) {
  // A header claiming 2^63 tensors, in a "file" of 2^40 bytes of which only
  // the first 24 are given: refused from the counts alone.
  std::vector<std::byte> bytes(24);
  std::memcpy(bytes.data(), "GGUF\x03\0\0\0", 8);
  const uint64_t huge = uint64_t{1} << 63;
  std::memcpy(bytes.data() + 8, &huge, 8);
  uint64_t needed = 0;
  EXPECT_THAT(ParseGgufHeader(bytes, uint64_t{1} << 40, "hostile", &needed),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("tensor count")));
  EXPECT_EQ(needed, 0u);
  // 2^58 tensors could fit a 2^64-byte file: the parser asks for the bytes
  // first (more than any reader will fetch) instead of allocating.
  const uint64_t many = uint64_t{1} << 58;
  std::memcpy(bytes.data() + 8, &many, 8);
  EXPECT_THAT(ParseGgufHeader(bytes, std::numeric_limits<uint64_t>::max(), "hostile", &needed),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("read at least")));
  EXPECT_GT(needed, kGgufMaxHeaderBytes);
}

// --- prefixes and truncation ------------------------------------------------

const char* const kValidFixtures[] = {"gguf_v3_quant.gguf", "gguf_v2.gguf", "gguf_empty.gguf"};
const char* const kThirdPartyFiles[] = {"empty.gguf", "single.gguf", "single_v2.gguf",
                                        "multiple.gguf"};

// Every prefix of the file, with the file's true length: success once the
// header fits, else OUT_OF_RANGE asking for more; following the requests
// from an empty prefix reaches the full result.
void CheckPrefixes(const std::string& path) {
  SCOPED_TRACE(path);
  const std::vector<std::byte> bytes = ReadBytes(path);
  HALIO_ASSERT_OK_AND_ASSIGN(GgufFile full, ParseGgufHeader(bytes, bytes.size(), path));
  for (size_t size = 0; size <= bytes.size(); ++size) {
    uint64_t needed = 0;
    Result<GgufFile> file = ParseGgufHeader(std::span(bytes).first(size), bytes.size(), path, &needed);
    if (size >= full.header_length) {
      ASSERT_THAT(file, IsOk()) << size;
    } else {
      ASSERT_THAT(file, StatusIs(StatusCode::kOutOfRange)) << size;
      ASSERT_GT(needed, size);
      ASSERT_LE(needed, full.header_length);
    }
  }
  uint64_t size = 0;
  int reads = 0;
  while (true) {
    uint64_t needed = 0;
    Result<GgufFile> file = ParseGgufHeader(std::span(bytes).first(size), bytes.size(), path, &needed);
    if (file.ok()) {
      EXPECT_EQ(file->tensors.size(), full.tensors.size());
      EXPECT_EQ(file->metadata.size(), full.metadata.size());
      break;
    }
    ASSERT_GT(needed, size);
    size = needed;
    ASSERT_LT(++reads, 10000);
  }
}

// Every prefix taken as the whole file: fails cleanly while anything needed
// (header, padding, tensor data) is cut, parses afterwards.
void CheckTruncations(const std::string& path) {
  SCOPED_TRACE(path);
  const std::vector<std::byte> bytes = ReadBytes(path);
  HALIO_ASSERT_OK_AND_ASSIGN(GgufFile full, ParseGgufHeader(bytes, bytes.size(), path));
  uint64_t needed = full.data_offset;
  for (const GgufTensorInfo& tensor : full.tensors) {
    needed = std::max(needed, tensor.offset + tensor.length);
  }
  testing::CheckEveryTruncation(bytes, needed, [&](std::span<const std::byte> prefix) {
    return ParseGgufHeader(prefix, prefix.size(), path).status();
  });
}

TEST(GgufPrefixTest, FixturesAskForWhatTheyNeed) {
  for (const char* name : kValidFixtures) CheckPrefixes(FixturePath(name));
}

TEST(GgufPrefixTest, ThirdPartyAskForWhatTheyNeed) {
  HALIO_SKIP_WITHOUT_SHARED_TESTDATA();
  for (const char* name : kThirdPartyFiles) CheckPrefixes(SharedPath(name));
}

TEST(GgufTruncationTest, FixturesFailCleanlyAtEveryByte) {
  for (const char* name : kValidFixtures) CheckTruncations(FixturePath(name));
}

TEST(GgufTruncationTest, ThirdPartyFailCleanlyAtEveryByte) {
  HALIO_SKIP_WITHOUT_SHARED_TESTDATA();
  for (const char* name : kThirdPartyFiles) CheckTruncations(SharedPath(name));
}

TEST(GgufTruncationTest, CorruptedBytesNeverCrash) {
  const std::string path = FixturePath("gguf_v3_quant.gguf");
  testing::CheckCorruptionsFailCleanly(ReadBytes(path), [&](std::span<const std::byte> bytes) {
    return ParseGgufHeader(bytes, bytes.size(), path).status();
  });
}

}  // namespace
}  // namespace halio
