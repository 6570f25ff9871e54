// Sharded-checkpoint indexes (*.safetensors.index.json): weight_map, shard
// resolution against the index's directory, and refused shard names.
#include "safetensors/safetensors_index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "io/io_test_util.h"
#include "testing/status_matchers.h"

namespace halio {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::FixturePath;
using testing::ReadBytes;

Result<SafetensorsShardIndex> ParseText(std::string_view json, std::string_view path) {
  return ParseSafetensorsIndex(std::as_bytes(std::span(json.data(), json.size())), path);
}

TEST(SafetensorsIndexTest, ShardedFixture) {
  const std::string path = FixturePath("st_sharded.safetensors.index.json");
  HALIO_ASSERT_OK_AND_ASSIGN(SafetensorsShardIndex index,
                             ParseSafetensorsIndex(ReadBytes(path), path));
  const std::string dir = std::string(HALIO_IO_TESTDATA) + "/";
  EXPECT_THAT(index.shards, ElementsAre(dir + "st_sharded-00001-of-00002.safetensors",
                                        dir + "st_sharded-00002-of-00002.safetensors"));
  EXPECT_THAT(index.tensor_shard,
              ElementsAre(std::pair{"embed.weight", 0u}, std::pair{"head.weight", 1u},
                          std::pair{"layer.0.w", 0u}, std::pair{"layer.1.w", 1u}));
  // total_size is a JSON number; metadata keeps it as text.
  EXPECT_THAT(index.metadata, ElementsAre(std::pair{"total_size", "64"}));
}

TEST(SafetensorsIndexTest, BareIndexNameResolvesToBareShards) {
  HALIO_ASSERT_OK_AND_ASSIGN(
      SafetensorsShardIndex index,
      ParseText(R"({"weight_map": {"a": "s.safetensors", "b": "sub/t.safetensors"},
                    "metadata": null, "extra": [1]})",
                "model.safetensors.index.json"));
  EXPECT_THAT(index.shards, ElementsAre("s.safetensors", "sub/t.safetensors"));
  EXPECT_TRUE(index.metadata.empty());
}

TEST(SafetensorsIndexTest, MetadataValuesOfEveryJsonType) {
  HALIO_ASSERT_OK_AND_ASSIGN(
      SafetensorsShardIndex index,
      ParseText(R"({"weight_map": {}, "metadata": {"s": "x", "n": 1.5, "b": true,
                    "o": {"k": [1, 2]}}})",
                "i.json"));
  EXPECT_THAT(index.metadata, ElementsAre(std::pair{"b", "true"}, std::pair{"n", "1.5"},
                                          std::pair{"o", R"({"k":[1,2]})"},
                                          std::pair{"s", "x"}));
}

TEST(SafetensorsIndexTest, RefusedShardNames) {
  const std::pair<const char*, const char*> cases[] = {
      {"/etc/passwd", "an absolute path"},
      {R"(\\\\server\\share)", "an absolute path"},  // JSON escapes
      {R"(C:\\x.safetensors)", "an absolute path"},
      {"../x.safetensors", "'..' component"},
      {"a/../../x.safetensors", "'..' component"},
      {R"(a\\..\\x)", "'..' component"},
      {"..", "'..' component"},
      {"", "an empty file name"},
      {"a\\u0000b", "NUL byte"},
  };
  for (const auto& [shard, why] : cases) {
    const std::string json = std::string(R"({"weight_map": {"w": ")") + shard + "\"}}";
    EXPECT_THAT(ParseText(json, "i.json"),
                StatusIs(StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("i.json: weight_map: tensor 'w'"), HasSubstr(why))))
        << shard;
  }
  // Dots that are not a whole component are ordinary names.
  HALIO_EXPECT_OK(ParseText(R"({"weight_map": {"w": "..a/b..c/...safetensors"}})", "i.json"));
}

struct MalformedCase {
  const char* file;
  const char* message;
};

TEST(SafetensorsIndexTest, MalformedFixtures) {
  const MalformedCase cases[] = {
      {"idx_bad_absolute.safetensors.index.json", "tensor 't' names shard \"/etc/passwd\""},
      {"idx_bad_parent.safetensors.index.json", "'..' component"},
      {"idx_bad_no_weight_map.safetensors.index.json", "has no \"weight_map\""},
      {"idx_bad_shard_not_string.safetensors.index.json",
       "weight_map: the value of 't' must be a string"},
      {"idx_bad_duplicate_tensor.safetensors.index.json", "weight_map has the key 't' twice"},
  };
  for (const MalformedCase& c : cases) {
    const std::string path = FixturePath(c.file);
    EXPECT_THAT(ParseSafetensorsIndex(ReadBytes(path), path),
                StatusIs(StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(path), HasSubstr(c.message))));
  }
  EXPECT_THAT(ParseText("{\"weight_map\": ", "i.json"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("index is not valid JSON")));
  EXPECT_THAT(ParseText("[]", "i.json"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("index must be a JSON object")));
}

}  // namespace
}  // namespace halio
