// LoadParameters on every device x backend: byte-for-byte loads, selection,
// bounded in-flight reads, memory files without a copy, and failures that
// name the tensor and never report a partial load as done.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "halio/drivers.h"
#include "halio/loader.h"
#include "io/io_test_util.h"
#include "testing/matrix.h"
#include "testing/status_matchers.h"
#include "testing/temp_file.h"

namespace halio {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

struct Tensor {
  std::string name;
  size_t elements;  // F32
};

// Writes a safetensors file holding `tensors` (F32, pattern data) back to
// back and returns the whole file's bytes.
std::vector<std::byte> WriteSafetensors(const testing::TempFile& file,
                                        const std::vector<Tensor>& tensors) {
  std::string header = "{";
  size_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    size_t bytes = tensors[i].elements * 4;
    header += (i ? "," : "") + std::string("\"") + tensors[i].name +
              "\":{\"dtype\":\"F32\",\"shape\":[" + std::to_string(tensors[i].elements) +
              "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  header += "}";
  while (header.size() % 8) header += ' ';
  std::vector<std::byte> contents(8 + header.size());
  uint64_t size = header.size();
  std::memcpy(contents.data(), &size, 8);  // little-endian host
  std::memcpy(contents.data() + 8, header.data(), header.size());
  auto data = halio::testing::PatternBytes(offset, 51);
  contents.insert(contents.end(), data.begin(), data.end());
  file.Write(contents);
  return contents;
}

struct LoaderParam {
  std::string device;
  IoBackend backend;
};

class LoaderTest : public ::testing::TestWithParam<LoaderParam> {
 protected:
  void SetUp() override {
    if (!IoEngine::Probe(GetParam().backend).status.ok()) {
      GTEST_SKIP() << IoBackendName(GetParam().backend) << " cannot run here";
    }
    HALIO_ASSERT_OK_AND_ASSIGN(device_, CreateDevice(GetParam().device));
    tensors_ = {{"embed.weight", 1000}, {"layer.0.w", 4096}, {"layer.0.b", 17},
                {"layer.1.w", 70000}, {"empty", 0}, {"head", 3}};
    contents_ = WriteSafetensors(file_, tensors_);
    HALIO_ASSERT_OK_AND_ASSIGN(index_, OpenParameterIndex(file_.path()));
  }
  LoadOptions Options() const {
    LoadOptions options;
    options.file_options.backend = GetParam().backend;
    return options;
  }
  void ExpectBytesMatchFile(const LoadedParameters& loaded) {
    for (const LoadedTensor& tensor : loaded.tensors) {
      auto mapped = tensor.buffer->Map(MemoryAccess::kRead);
      ASSERT_THAT(mapped, IsOk());
      ASSERT_EQ(mapped->size(), tensor.entry->length) << tensor.entry->name;
      EXPECT_EQ(std::memcmp(mapped->data(), contents_.data() + tensor.entry->offset,
                            tensor.entry->length),
                0)
          << tensor.entry->name;
    }
  }

  std::unique_ptr<Device> device_;
  testing::TempFile file_;
  std::vector<Tensor> tensors_;
  std::vector<std::byte> contents_;
  ParameterIndex index_;
};

TEST_P(LoaderTest, LoadsEveryTensorByteForByte) {
  std::vector<LoadProgress> progress;
  LoadOptions options = Options();
  options.progress = [&](const LoadProgress& p) { progress.push_back(p); };
  HALIO_ASSERT_OK_AND_ASSIGN(LoadedParameters loaded,
                             LoadParameters(*device_, index_, options));
  ASSERT_EQ(loaded.tensors.size(), tensors_.size());
  ExpectBytesMatchFile(loaded);
  EXPECT_EQ(loaded.bytes, (1000 + 4096 + 17 + 70000 + 0 + 3) * 4u);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().bytes_done, progress.back().bytes_total);
  EXPECT_EQ(progress.back().tensors_done, tensors_.size());
}

TEST_P(LoaderTest, SelectsByGlobAndRejectsPatternsThatMatchNothing) {
  LoadOptions options = Options();
  options.select = {"layer.*.w"};
  HALIO_ASSERT_OK_AND_ASSIGN(LoadedParameters loaded, LoadParameters(*device_, index_, options));
  ASSERT_EQ(loaded.tensors.size(), 2u);
  EXPECT_EQ(loaded.tensors[0].entry->name, "layer.0.w");
  EXPECT_EQ(loaded.tensors[1].entry->name, "layer.1.w");
  ExpectBytesMatchFile(loaded);
  options.select = {"decoder.*"};
  // In the library's terms (LoadOptions::select), not the CLI's --select.
  EXPECT_THAT(LoadParameters(*device_, index_, options),
              StatusIs(StatusCode::kNotFound,
                       AllOf(HasSubstr("LoadOptions::select glob 'decoder.*' matches none"),
                             Not(HasSubstr("--select")))));
}

TEST_P(LoaderTest, TinyInflightAndReadLimitsStillLoadEverything) {
  LoadOptions options = Options();
  options.max_inflight_bytes = 1024;
  options.max_read_bytes = 4096;
  HALIO_ASSERT_OK_AND_ASSIGN(LoadedParameters loaded, LoadParameters(*device_, index_, options));
  ExpectBytesMatchFile(loaded);
}

TEST_P(LoaderTest, TruncatedFileFailsNamingTheTensorAndReportsNothingLoaded) {
  std::filesystem::resize_file(file_.path(), contents_.size() - 100);
  auto loaded = LoadParameters(*device_, index_, Options());
  // The last tensor in the file is the one cut short; the loader names it
  // even though it was read together with its neighbours.
  EXPECT_THAT(loaded, StatusIs(StatusCode::kOutOfRange,
                               ::testing::AllOf(HasSubstr("tensor 'layer.1.w'"),
                                                HasSubstr(file_.path()))))
      << "the index was built before the file shrank: open must catch it or the read must";
}

std::vector<LoaderParam> AllLoaderParams() {
  std::vector<LoaderParam> params;
  for (const std::string& device : AvailableDevices()) {
    for (IoBackend backend : {IoBackend::kIoUring, IoBackend::kAsio, IoBackend::kSync}) {
      params.push_back({device, backend});
    }
  }
  return params;
}

std::string LoaderParamName(const ::testing::TestParamInfo<LoaderParam>& param_info) {
  return param_info.param.device + "_" + IoBackendName(param_info.param.backend);
}

INSTANTIATE_TEST_SUITE_P(DevicesAndBackends, LoaderTest, ::testing::ValuesIn(AllLoaderParams()),
                         LoaderParamName);

TEST(LoaderMemoryFileTest, TensorsAreViewsOfTheFileWithoutACopy) {
  testing::TempFile file;
  auto contents = WriteSafetensors(file, {{"a", 16}, {"b", 5}});
  HALIO_ASSERT_OK_AND_ASSIGN(ParameterIndex index, OpenParameterIndex(file.path()));
  HALIO_ASSERT_OK_AND_ASSIGN(
      FileRef memory, MemoryFile::Wrap(std::span<std::byte>(contents), MemoryAccess::kRead));
  HALIO_ASSERT_OK_AND_ASSIGN(auto device, CreateDevice("local_sync"));
  LoadOptions options;
  options.files = {memory};
  HALIO_ASSERT_OK_AND_ASSIGN(LoadedParameters loaded, LoadParameters(*device, index, options));
  EXPECT_EQ(loaded.arena, nullptr);
  ASSERT_EQ(loaded.tensors.size(), 2u);
  for (const LoadedTensor& tensor : loaded.tensors) {
    auto mapped = tensor.buffer->Map(MemoryAccess::kRead);
    ASSERT_THAT(mapped, IsOk());
    EXPECT_EQ(mapped->data(), contents.data() + tensor.entry->offset) << "copied, not a view";
  }
}

// The files written by the safetensors and gguf Python packages load with the
// contents their README lists: safetensors tensors are zeros, GGUF ones.
TEST(LoaderRealFilesTest, LoadThirdPartyFilesWithTheirListedValues) {
  HALIO_SKIP_WITHOUT_SHARED_TESTDATA();
  for (const char* name : {"multiple.safetensors", "multiple.gguf", "single.gguf",
                           "single_v2.gguf", "single.safetensors"}) {
    HALIO_ASSERT_OK_AND_ASSIGN(ParameterIndex index,
                               OpenParameterIndex(halio::testing::SharedPath(name)));
    const float expected = std::string(name).ends_with(".gguf") ? 1.0f : 0.0f;
    for (const std::string& device_name : AvailableDevices()) {
      HALIO_ASSERT_OK_AND_ASSIGN(auto device, CreateDevice(device_name));
      HALIO_ASSERT_OK_AND_ASSIGN(LoadedParameters loaded, LoadParameters(*device, index));
      ASSERT_EQ(loaded.tensors.size(), index.size()) << name;
      for (const LoadedTensor& tensor : loaded.tensors) {
        auto mapped = tensor.buffer->Map(MemoryAccess::kRead);
        ASSERT_THAT(mapped, IsOk());
        ASSERT_EQ(mapped->size() % 4, 0u);
        for (size_t i = 0; i < mapped->size(); i += 4) {
          float value;
          std::memcpy(&value, mapped->data() + i, 4);
          ASSERT_EQ(value, expected) << name << " " << tensor.entry->name << " element " << i / 4;
        }
      }
    }
  }
}

// The README's loading example as written there, with a glob that matches
// nothing: LoadParameters says so, naming the glob and LoadOptions::select,
// and the example's next step (reading loaded->tensors without checking)
// stops the program with that message instead of crashing.
TEST(LoaderReadmeExampleTest, SelectMatchingNothingIsAClearError) {
  auto index = OpenParameterIndex(testing::FixturePath("st_sharded.safetensors.index.json"));
  ASSERT_THAT(index, IsOk());
  auto device = CreateDevice("local_async");
  ASSERT_THAT(device, IsOk());
  LoadOptions options;
  options.select = {"model.layers.*"};
  auto loaded = LoadParameters(**device, *index, options);
  EXPECT_THAT(loaded, StatusIs(StatusCode::kNotFound,
                               AllOf(HasSubstr("LoadOptions::select glob 'model.layers.*'"),
                                     HasSubstr("none of the 4 tensors"))));
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // the device has worker threads
  EXPECT_DEATH(static_cast<void>(loaded->tensors.size()),
               "halio: Result accessed with error: NOT_FOUND: LoadOptions::select glob "
               "'model\\.layers\\.\\*'");
}

TEST(LoaderMemoryFileTest, WrongNumberOfFilesIsInvalidArgument) {
  testing::TempFile file;
  WriteSafetensors(file, {{"a", 4}});
  HALIO_ASSERT_OK_AND_ASSIGN(ParameterIndex index, OpenParameterIndex(file.path()));
  HALIO_ASSERT_OK_AND_ASSIGN(auto device, CreateDevice("local_sync"));
  LoadOptions options;
  options.files = {nullptr, nullptr};
  EXPECT_THAT(LoadParameters(*device, index, options), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace halio
