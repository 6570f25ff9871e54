// LoadParameters on every device x backend: byte-for-byte loads, selection,
// bounded in-flight reads, memory files without a copy, and failures that
// name the tensor and never report a partial load as done.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
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

// The tensor's bytes as they landed in the device's memory (read back
// through the device where the host cannot map them) equal `expected`.
void ExpectTensorBytes(Device& device, const LoadedTensor& tensor, const std::byte* expected) {
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef host, ReadBackToHost(device, tensor.buffer));
  auto mapped = host->Map(MemoryAccess::kRead);
  ASSERT_THAT(mapped, IsOk());
  ASSERT_EQ(mapped->size(), tensor.entry->length) << tensor.entry->name;
  EXPECT_EQ(std::memcmp(mapped->data(), expected, tensor.entry->length), 0)
      << tensor.entry->name;
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
      ExpectTensorBytes(*device_, tensor, contents_.data() + tensor.entry->offset);
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

// With map, a host device's tensors are read-only views of the file's
// mapping (no arena, no copy); a discrete device reads into device memory as
// usual. Either way the bytes are the file's.
TEST_P(LoaderTest, MappedLoadViewsTheFileReadOnlyOnHostDevices) {
  LoadOptions options = Options();
  options.map = true;
  std::vector<LoadProgress> progress;
  options.progress = [&](const LoadProgress& p) { progress.push_back(p); };
  HALIO_ASSERT_OK_AND_ASSIGN(LoadedParameters loaded, LoadParameters(*device_, index_, options));
  ASSERT_EQ(loaded.tensors.size(), tensors_.size());
  ExpectBytesMatchFile(loaded);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().tensors_done, tensors_.size());
  const bool host_device = device_->allocator().device_memory() == nullptr;
  EXPECT_EQ(loaded.mapped, host_device);
  if (!host_device) return;
  EXPECT_EQ(loaded.arena, nullptr) << "every tensor is a view of the mapping";
  const LoadedTensor& layer = loaded.tensors[1];
  EXPECT_THAT(layer.buffer->Map(MemoryAccess::kWrite), StatusIs(StatusCode::kPermissionDenied));
  // The views keep the mapping alive after the index and the load are gone.
  std::vector<std::byte> expected(contents_.begin() + layer.entry->offset,
                                  contents_.begin() + layer.entry->offset + layer.entry->length);
  BufferRef kept = layer.buffer;
  loaded = LoadedParameters();
  index_ = ParameterIndex();
  auto mapped = kept->Map(MemoryAccess::kRead);
  ASSERT_THAT(mapped, IsOk());
  EXPECT_EQ(std::memcmp(mapped->data(), expected.data(), expected.size()), 0);
}

TEST_P(LoaderTest, MappedLoadOfATruncatedFileIsDataLossNotAFault) {
  if (device_->allocator().device_memory() != nullptr) GTEST_SKIP() << "reads, not maps";
  std::filesystem::resize_file(file_.path(), contents_.size() - 100);
  LoadOptions options = Options();
  options.map = true;
  EXPECT_THAT(LoadParameters(*device_, index_, options),
              StatusIs(StatusCode::kDataLoss,
                       AllOf(HasSubstr("tensor 'layer.1.w'"), HasSubstr(file_.path()),
                             HasSubstr("truncated"))));
}

// Cancel between reads: the load fails with CANCELLED, says how far it got,
// and every read it queued has finished by the time it returns.
TEST_P(LoaderTest, CancelStopsTheLoadBetweenReads) {
  LoadOptions options = Options();
  options.max_read_bytes = 4096;  // many reads, so the cancel lands mid-load
  options.max_inflight_bytes = 8192;
  int asked = 0;
  options.cancel = [&] { return ++asked == 3; };
  EXPECT_THAT(LoadParameters(*device_, index_, options),
              StatusIs(StatusCode::kCancelled,
                       AllOf(HasSubstr("LoadOptions::cancel"), HasSubstr("bytes"))));
  EXPECT_EQ(asked, 3) << "asked before each read until it said yes, then never again";
  // A cancel that never says yes changes nothing.
  options.cancel = [] { return false; };
  HALIO_ASSERT_OK_AND_ASSIGN(LoadedParameters loaded, LoadParameters(*device_, index_, options));
  ExpectBytesMatchFile(loaded);
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

// Two tensors of a safetensors file loaded from a MemoryFile of its bytes.
class LoaderMemoryFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    contents_ = WriteSafetensors(file_, {{"a", 16}, {"b", 5}});
    HALIO_ASSERT_OK_AND_ASSIGN(index_, OpenParameterIndex(file_.path()));
    HALIO_ASSERT_OK_AND_ASSIGN(
        memory_, MemoryFile::Wrap(std::span<std::byte>(contents_), MemoryAccess::kRead));
  }
  Result<LoadedParameters> Load(Device& device) {
    LoadOptions options;
    options.files = {memory_};
    return LoadParameters(device, index_, options);
  }

  testing::TempFile file_;
  std::vector<std::byte> contents_;
  ParameterIndex index_;
  FileRef memory_;
};

TEST_F(LoaderMemoryFileTest, TensorsAreViewsOfTheFileWithoutACopy) {
  const std::vector<std::byte>& contents = contents_;
  HALIO_ASSERT_OK_AND_ASSIGN(auto device, CreateDevice("local_sync"));
  HALIO_ASSERT_OK_AND_ASSIGN(LoadedParameters loaded, Load(*device));
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
        HALIO_ASSERT_OK_AND_ASSIGN(BufferRef host, ReadBackToHost(*device, tensor.buffer));
        auto mapped = host->Map(MemoryAccess::kRead);
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

// --- local_discrete: the arena is device memory the host cannot map ---------

// Every tensor of `loaded` lives in device memory (Map refuses it) and holds
// the bytes of its file's range.
void ExpectInDeviceMemoryByteForByte(Device& device, const ParameterIndex& index,
                                     const LoadedParameters& loaded) {
  ASSERT_NE(loaded.arena, nullptr);
  EXPECT_FALSE(loaded.arena->host_visible());
  ASSERT_EQ(loaded.tensors.size(), index.size());
  std::vector<std::vector<std::byte>> files;
  for (const ParameterFile& file : index.files()) files.push_back(testing::ReadBytes(file.path));
  for (const LoadedTensor& tensor : loaded.tensors) {
    EXPECT_FALSE(tensor.buffer->host_visible()) << tensor.entry->name;
    EXPECT_THAT(tensor.buffer->Map(MemoryAccess::kRead),
                StatusIs(StatusCode::kFailedPrecondition))
        << tensor.entry->name;
    ExpectTensorBytes(device, tensor, files[tensor.entry->file_index].data() + tensor.entry->offset);
  }
}

class LoaderDiscreteFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LoaderDiscreteFixtureTest, LoadsIntoDeviceMemoryByteForByte) {
  HALIO_ASSERT_OK_AND_ASSIGN(ParameterIndex index,
                             OpenParameterIndex(testing::FixturePath(GetParam())));
  // Staging smaller than the tensors, so a tensor spans several chunks.
  DeviceOptions device_options;
  device_options.staging_buffer_size = 4096;
  device_options.staging_buffer_count = 2;
  HALIO_ASSERT_OK_AND_ASSIGN(auto device, CreateDevice("local_discrete", device_options));
  for (bool direct : {false, true}) {
    LoadOptions options;
    options.direct = direct;  // O_DIRECT where the filesystem has it
    HALIO_ASSERT_OK_AND_ASSIGN(LoadedParameters loaded, LoadParameters(*device, index, options));
    ExpectInDeviceMemoryByteForByte(*device, index, loaded);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, LoaderDiscreteFixtureTest,
                         ::testing::Values("st_all_dtypes.safetensors", "st_metadata.safetensors",
                                           "gguf_v2.gguf", "gguf_v3_quant.gguf",
                                           "st_sharded.safetensors.index.json"),
                         [](const ::testing::TestParamInfo<std::string>& fixture) {
                           std::string name = fixture.param.substr(0, fixture.param.find('.'));
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

TEST_F(LoaderMemoryFileTest, OnADiscreteDeviceTensorsAreCopiedIntoDeviceMemory) {
  HALIO_ASSERT_OK_AND_ASSIGN(auto device, CreateDevice("local_discrete"));
  HALIO_ASSERT_OK_AND_ASSIGN(LoadedParameters loaded, Load(*device));
  // Views of the host storage would leave the weights on the host.
  ExpectInDeviceMemoryByteForByte(*device, index_, loaded);
}

TEST(LoaderDiscreteTest, HostMemoryTypeLoadsIntoMappableMemory) {
  testing::TempFile file;
  auto contents = WriteSafetensors(file, {{"a", 16}, {"b", 5}});
  HALIO_ASSERT_OK_AND_ASSIGN(ParameterIndex index, OpenParameterIndex(file.path()));
  HALIO_ASSERT_OK_AND_ASSIGN(auto device, CreateDevice("local_discrete"));
  LoadOptions options;
  options.memory_type = MemoryType::kHost;
  HALIO_ASSERT_OK_AND_ASSIGN(LoadedParameters loaded, LoadParameters(*device, index, options));
  ASSERT_NE(loaded.arena, nullptr);
  EXPECT_TRUE(loaded.arena->host_visible());
  for (const LoadedTensor& tensor : loaded.tensors) {
    auto mapped = tensor.buffer->Map(MemoryAccess::kRead);
    ASSERT_THAT(mapped, IsOk());
    EXPECT_EQ(std::memcmp(mapped->data(), contents.data() + tensor.entry->offset,
                          tensor.entry->length),
              0);
  }
}

TEST(LoaderDiscreteTest, TruncatedFileNamesTheFileAndRange) {
  testing::TempFile file;
  auto contents = WriteSafetensors(file, {{"a", 4000}, {"b", 5000}});
  HALIO_ASSERT_OK_AND_ASSIGN(ParameterIndex index, OpenParameterIndex(file.path()));
  std::filesystem::resize_file(file.path(), contents.size() - 100);
  DeviceOptions device_options;
  device_options.staging_buffer_size = 4096;
  HALIO_ASSERT_OK_AND_ASSIGN(auto device, CreateDevice("local_discrete", device_options));
  const ParameterEntry& b = index.entries()[1];
  const std::string range =
      "[" + std::to_string(b.offset) + ", " + std::to_string(b.offset + b.length) + ")";
  EXPECT_THAT(LoadParameters(*device, index),
              StatusIs(StatusCode::kOutOfRange,
                       AllOf(HasSubstr("tensor 'b'"), HasSubstr(file.path()), HasSubstr(range))));
}

TEST(LoaderDiscreteTest, UnknownMemoryTypeIsInvalidArgument) {
  testing::TempFile file;
  WriteSafetensors(file, {{"a", 4}});
  HALIO_ASSERT_OK_AND_ASSIGN(ParameterIndex index, OpenParameterIndex(file.path()));
  HALIO_ASSERT_OK_AND_ASSIGN(auto device, CreateDevice("local_discrete"));
  LoadOptions options;
  options.memory_type = MemoryType::kHostCached;  // neither host-visible nor device-local
  EXPECT_THAT(LoadParameters(*device, index, options),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("arena")));
}

TEST(LoaderDiscreteTest, ReadBackToHostOfHostMemoryIsTheBufferItself) {
  HALIO_ASSERT_OK_AND_ASSIGN(auto device, CreateDevice("local_discrete"));
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef host, device->allocator().Allocate({}, 64));
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef same, ReadBackToHost(*device, host));
  EXPECT_EQ(same, host);
}

// Adds up the bytes of every read call a file makes.
class ReadBytesCounter : public IoInterceptor {
 public:
  int64_t OnResult(const IoCall& call, int64_t result) override {
    if (!call.write) bytes_ += call.length;
    return result;
  }
  uint64_t bytes() const { return bytes_.load(); }

 private:
  std::atomic<uint64_t> bytes_{0};
};

// Bytes the file calls read while `device` loads one 256 KiB tensor that
// starts at an unaligned file offset (past the safetensors header), with
// O_DIRECT, in 4 KiB chunks / staging buffers; 0 when the filesystem has no
// O_DIRECT.
uint64_t DirectLoadReadBytes(const std::string& device_name, IoBackend backend) {
  testing::TempFile file;
  WriteSafetensors(file, {{"w", 64 * 1024}});
  auto index = OpenParameterIndex(file.path());
  EXPECT_THAT(index, IsOk());
  DeviceOptions device_options;
  device_options.chunk_size = 4096;
  device_options.queue_depth = 4;
  device_options.staging_buffer_size = 4096;
  device_options.staging_buffer_count = 4;
  auto device = CreateDevice(device_name, device_options);
  EXPECT_THAT(device, IsOk());
  auto counter = std::make_shared<ReadBytesCounter>();
  FdFileOptions file_options;
  file_options.backend = backend;
  file_options.interceptor = counter;
  auto opened = FdFile::Open(file.path(), OpenMode::kRead | OpenMode::kDirect, file_options);
  EXPECT_THAT(opened, IsOk());
  if (!static_cast<FdFile&>(**opened).direct()) return 0;
  LoadOptions options;
  options.files = {*opened};
  EXPECT_THAT(LoadParameters(**device, *index, options), IsOk());
  return counter->bytes();
}

// A staged read cuts its range at file offsets that are multiples of the
// staging size, as local_async's FileOp does, so an O_DIRECT tensor run that
// starts unaligned (as every tensor of a safetensors or GGUF file does) goes
// through bounce memory for its first and last block only: it reads no more
// than a block or two beyond the tensor's bytes.
TEST(LoaderDiscreteTest, DirectLoadOfAnUnalignedTensorReadsNoMoreThanItsBlocks) {
  for (IoBackend backend : {IoBackend::kIoUring, IoBackend::kSync}) {
    if (!IoEngine::Probe(backend).status.ok()) continue;
    const uint64_t reference = DirectLoadReadBytes("local_async", backend);
    if (reference == 0) GTEST_SKIP() << "no O_DIRECT in the temp directory";
    constexpr uint64_t kTensorBytes = 64 * 1024 * 4;
    EXPECT_LE(reference, kTensorBytes + 2 * 4096) << "the reference: host memory";
    EXPECT_LE(DirectLoadReadBytes("local_discrete", backend), kTensorBytes + 2 * 4096)
        << IoBackendName(backend) << ": every staged chunk read its blocks through bounce memory";
  }
}

TEST_F(LoaderMemoryFileTest, WrongNumberOfFilesIsInvalidArgument) {
  HALIO_ASSERT_OK_AND_ASSIGN(auto device, CreateDevice("local_sync"));
  LoadOptions options;
  options.files = {memory_, memory_};  // the index has one file
  EXPECT_THAT(LoadParameters(*device, index_, options), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace halio
