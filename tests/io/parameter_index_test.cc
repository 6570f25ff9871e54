// ParameterIndex and OpenParameterIndex: real files, fixtures, sharded sets
// (and their failures), lookups by name and glob, AddFile's checks.
#include "halio/params.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "parameter_index.h"
#include "io/io_test_util.h"
#include "testing/status_matchers.h"
#include "testing/temp_file.h"

namespace halio {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::FixturePath;
using testing::SharedPath;

std::vector<std::string> Names(const std::vector<const ParameterEntry*>& entries) {
  std::vector<std::string> names;
  for (const ParameterEntry* entry : entries) names.push_back(entry->name);
  return names;
}

std::vector<std::string> Names(const ParameterIndex& index) {
  std::vector<std::string> names;
  for (const ParameterEntry& entry : index.entries()) names.push_back(entry.name);
  return names;
}

TEST(OpenParameterIndexTest, ThirdPartySafetensors) {
  HALIO_SKIP_WITHOUT_SHARED_TESTDATA();
  HALIO_ASSERT_OK_AND_ASSIGN(ParameterIndex index,
                             OpenParameterIndex(SharedPath("multiple.safetensors")));
  ASSERT_EQ(index.files().size(), 1u);
  EXPECT_EQ(index.files()[0].format, ParameterFileFormat::kSafetensors);
  EXPECT_EQ(index.files()[0].length, 272u);
  EXPECT_THAT(Names(index), ElementsAre("tensor0", "tensor1", "tensor2"));
  const ParameterEntry* tensor2 = index.Find("tensor2");
  ASSERT_NE(tensor2, nullptr);
  EXPECT_EQ(tensor2->dtype, "F32");
  EXPECT_EQ(tensor2->shape, (std::vector<uint64_t>{4, 3}));
  EXPECT_EQ(tensor2->offset, 224u);
  EXPECT_EQ(tensor2->length, 48u);
  EXPECT_EQ(tensor2->file_index, 0u);

  HALIO_ASSERT_OK_AND_ASSIGN(ParameterIndex empty,
                             OpenParameterIndex(SharedPath("empty.safetensors")));
  EXPECT_EQ(empty.size(), 0u);
}

TEST(OpenParameterIndexTest, ThirdPartyGguf) {
  HALIO_SKIP_WITHOUT_SHARED_TESTDATA();
  HALIO_ASSERT_OK_AND_ASSIGN(ParameterIndex index,
                             OpenParameterIndex(SharedPath("multiple.gguf")));
  ASSERT_EQ(index.files().size(), 1u);
  const ParameterFile& file = index.files()[0];
  EXPECT_EQ(file.format, ParameterFileFormat::kGguf);
  EXPECT_STREQ(ParameterFileFormatName(file.format), "gguf");
  EXPECT_THAT(file.metadata,
              ElementsAre(std::pair{"general.alignment", "64"},
                          std::pair{"general.architecture", "generic"},
                          std::pair{"metadata_str", "hello"},
                          std::pair{"metadata_strs", "[\"a\", \"b\", \"c\"]"},
                          std::pair{"metadata_uint32", "42"}));
  EXPECT_THAT(Names(index), ElementsAre("tensor0", "tensor1", "tensor2"));
  // GGUF dims [3, 4] (innermost first) are shape [4, 3].
  const ParameterEntry* tensor2 = index.Find("tensor2");
  ASSERT_NE(tensor2, nullptr);
  EXPECT_EQ(tensor2->shape, (std::vector<uint64_t>{4, 3}));
  EXPECT_EQ(tensor2->dtype, "F32");
  EXPECT_EQ(tensor2->offset, 448u + 128u);
  EXPECT_EQ(tensor2->length, 48u);
  EXPECT_EQ(index.Find("tensor1")->shape, (std::vector<uint64_t>{1, 2}));

  HALIO_ASSERT_OK_AND_ASSIGN(ParameterIndex v2, OpenParameterIndex(SharedPath("single_v2.gguf")));
  EXPECT_THAT(Names(v2), ElementsAre("tensor0"));
}

TEST(OpenParameterIndexTest, Fixtures) {
  HALIO_ASSERT_OK_AND_ASSIGN(ParameterIndex gguf,
                             OpenParameterIndex(FixturePath("gguf_v3_quant.gguf")));
  const ParameterEntry* q4k = gguf.Find("blk.0.ffn_down.weight");
  ASSERT_NE(q4k, nullptr);
  EXPECT_EQ(q4k->dtype, "Q4_K");
  EXPECT_EQ(q4k->shape, (std::vector<uint64_t>{2, 256}));
  EXPECT_EQ(q4k->length, 288u);
  EXPECT_EQ(gguf.files()[0].metadata.at("test.array_nested"), "[[1, -2], [], [\"x\"]]");

  HALIO_ASSERT_OK_AND_ASSIGN(ParameterIndex st,
                             OpenParameterIndex(FixturePath("st_all_dtypes.safetensors")));
  EXPECT_EQ(st.size(), 22u);
  EXPECT_EQ(st.Find("t_f4")->dtype, "F4");
  EXPECT_EQ(st.Find("t_f4")->length, 3u);

  HALIO_ASSERT_OK_AND_ASSIGN(ParameterIndex meta,
                             OpenParameterIndex(FixturePath("st_metadata_only.safetensors")));
  EXPECT_EQ(meta.size(), 0u);
  EXPECT_EQ(meta.files()[0].metadata.at("format"), "pt");
}

TEST(OpenParameterIndexTest, Sharded) {
  const std::string path = FixturePath("st_sharded.safetensors.index.json");
  HALIO_ASSERT_OK_AND_ASSIGN(ParameterIndex index, OpenParameterIndex(path));
  ASSERT_EQ(index.files().size(), 2u);
  EXPECT_THAT(index.files()[0].path, HasSubstr("st_sharded-00001-of-00002.safetensors"));
  EXPECT_THAT(index.files()[1].path, HasSubstr("st_sharded-00002-of-00002.safetensors"));
  EXPECT_THAT(Names(index), ElementsAre("embed.weight", "layer.0.w", "layer.1.w", "head.weight"));
  EXPECT_EQ(index.Find("head.weight")->file_index, 1u);
  EXPECT_EQ(index.Find("head.weight")->dtype, "BF16");
  EXPECT_EQ(index.Find("layer.0.w")->file_index, 0u);
  EXPECT_THAT(index.metadata(), ElementsAre(std::pair{"total_size", "64"}));
  EXPECT_THAT(Names(index.Match("layer.*.w")), ElementsAre("layer.0.w", "layer.1.w"));
}

TEST(OpenParameterIndexTest, ShardedFailures) {
  const std::pair<const char*, const char*> cases[] = {
      {"idx_bad_missing_tensor.safetensors.index.json",
       "tensor 'ghost' is listed in weight_map but missing from its shard"},
      {"idx_bad_wrong_shard.safetensors.index.json",
       "tensor 'embed.weight' is listed in"},
      {"idx_bad_parent.safetensors.index.json", "'..' component"},
  };
  for (const auto& [file, message] : cases) {
    const std::string path = FixturePath(file);
    EXPECT_THAT(OpenParameterIndex(path),
                StatusIs(StatusCode::kInvalidArgument, AllOf(HasSubstr(path), HasSubstr(message))));
  }
  const std::string missing = FixturePath("idx_bad_missing_shard.safetensors.index.json");
  EXPECT_THAT(OpenParameterIndex(missing),
              StatusIs(StatusCode::kNotFound,
                       AllOf(HasSubstr(missing + ": shard"),
                             HasSubstr("st_nonexistent.safetensors"))));
}

TEST(OpenParameterIndexTest, ParserErrorsPassThrough) {
  const std::string st = FixturePath("st_bad_overlap.safetensors");
  EXPECT_THAT(OpenParameterIndex(st),
              StatusIs(StatusCode::kInvalidArgument, AllOf(HasSubstr(st), HasSubstr("overlap"))));
  const std::string gguf = FixturePath("gguf_bad_magic.gguf");
  EXPECT_THAT(OpenParameterIndex(gguf),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not a GGUF file")));
  EXPECT_THAT(OpenParameterIndex(FixturePath("st_bad_too_short.safetensors")),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("too short")));
  EXPECT_THAT(OpenParameterIndex(FixturePath("no_such_file.safetensors")),
              StatusIs(StatusCode::kNotFound, HasSubstr("no_such_file.safetensors")));
  EXPECT_THAT(OpenParameterIndex(FixturePath("gguf_bad_tensor_count_huge.gguf")),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("tensor count")));
}

TEST(OpenParameterIndexTest, LargeGgufHeaderIsReadInSteps) {
  // A 6 MB string value pushes the tensor info past the first 4 MiB read.
  std::vector<std::byte> bytes;
  auto put = [&](const void* data, size_t size) {
    const auto* p = static_cast<const std::byte*>(data);
    bytes.insert(bytes.end(), p, p + size);
  };
  auto put64 = [&](uint64_t v) { put(&v, 8); };
  auto put32 = [&](uint32_t v) { put(&v, 4); };
  put("GGUF", 4);
  put32(3);
  put64(1);  // tensors
  put64(1);  // key/values
  put64(3);
  put("big", 3);
  put32(8);  // string
  const std::string big(6 << 20, 'x');
  put64(big.size());
  put(big.data(), big.size());
  put64(1);
  put("t", 1);
  put32(1);
  put64(8);
  put32(0);  // F32
  put64(0);
  bytes.resize((bytes.size() + 31) / 32 * 32 + 32);
  testing::TempFile file(bytes);
  HALIO_ASSERT_OK_AND_ASSIGN(ParameterIndex index, OpenParameterIndex(file.path()));
  ASSERT_NE(index.Find("t"), nullptr);
  EXPECT_EQ(index.Find("t")->length, 32u);
  EXPECT_EQ(index.files()[0].metadata.at("big").size(), big.size());
}

ParameterFile MakeFile(std::string path, uint64_t length) {
  return {std::move(path), length, ParameterFileFormat::kSafetensors, {}};
}

TEST(ParameterIndexTest, AddFileChecksRangesAndNames) {
  ParameterIndex index;
  HALIO_ASSERT_OK(index.AddFile(MakeFile("a", 100), {{"x", 9, 50, 10, "U8", {10}},
                                                     {"w", 9, 0, 50, "U8", {50}}}));
  EXPECT_THAT(Names(index), ElementsAre("w", "x"));  // by offset
  EXPECT_EQ(index.Find("x")->file_index, 0u);
  EXPECT_THAT(index.AddFile(MakeFile("b", 100), {{"x", 0, 0, 1, "U8", {1}}}),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("b: tensor 'x' is also in a"))));
  EXPECT_THAT(index.AddFile(MakeFile("c", 100), {{"y", 0, 0, 1, "U8", {1}},
                                                 {"y", 0, 1, 1, "U8", {1}}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("c: tensor 'y' appears twice")));
  EXPECT_THAT(index.AddFile(MakeFile("d", 100), {{"z", 0, 90, 11, "U8", {11}}}),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("d: tensor 'z' at offset 90")));
  EXPECT_THAT(index.AddFile(MakeFile("e", 100), {{"z", 0, ~uint64_t{0}, 2, "U8", {2}}}),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("e: tensor 'z'")));
  // Failed adds left nothing behind.
  EXPECT_EQ(index.files().size(), 1u);
  EXPECT_EQ(index.size(), 2u);
  HALIO_ASSERT_OK(index.AddFile(MakeFile("f", 10), {{"y", 0, 0, 10, "U8", {10}}}));
  EXPECT_EQ(index.Find("y")->file_index, 1u);
}

TEST(ParameterIndexTest, FindAndMatch) {
  ParameterIndex index;
  HALIO_ASSERT_OK(index.AddFile(MakeFile("a", 100),
                                {{"model.layers.0.attn.q", 0, 0, 1, "U8", {1}},
                                 {"model.layers.0.mlp.up", 0, 1, 1, "U8", {1}},
                                 {"model.layers.1.attn.q", 0, 2, 1, "U8", {1}},
                                 {"lm_head", 0, 3, 1, "U8", {1}}}));
  EXPECT_EQ(index.Find("lm_head")->offset, 3u);
  EXPECT_EQ(index.Find("lm_hea"), nullptr);
  EXPECT_EQ(index.Find(""), nullptr);
  EXPECT_THAT(Names(index.Match("*.attn.q")),
              ElementsAre("model.layers.0.attn.q", "model.layers.1.attn.q"));
  EXPECT_THAT(Names(index.Match("model.layers.[0].*")),
              ElementsAre("model.layers.0.attn.q", "model.layers.0.mlp.up"));
  EXPECT_THAT(Names(index.Match("lm_hea?")), ElementsAre("lm_head"));
  EXPECT_THAT(Names(index.Match("nothing*")), IsEmpty());
  EXPECT_EQ(index.Match("*").size(), 4u);
}

}  // namespace
}  // namespace halio
