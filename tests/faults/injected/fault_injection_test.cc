// Injected faults (tests/testing/fault_injector.h) on every device x I/O
// backend: queue_read/queue_write of multi-chunk ranges, O_DIRECT files and
// the parameter loader, with buffers in the device's own memory (so on
// local_discrete every transfer is staged). Transient faults (EINTR, EAGAIN, 1-byte short
// counts) must be absorbed with every byte right; EIO and ENOSPC must fail
// the op with the right code and a message naming the file and the range.
// Every test also asserts that its faults were actually injected.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "halio/drivers.h"
#include "halio/loader.h"
#include "testing/device_buffers.h"
#include "testing/fault_injector.h"
#include "testing/matrix.h"
#include "testing/status_matchers.h"
#include "testing/temp_file.h"

namespace halio {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::FaultInjector;
using testing::FaultKind;

// 3 MiB and an odd tail: many chunks, a last one that is not block-sized.
constexpr size_t kFileBytes = (3 << 20) + 4097;
// Small chunks so local_async splits every transfer over its queue.
constexpr uint64_t kChunkBytes = 256 << 10;
// Inside a middle chunk, unaligned: calls covering it are cut right before.
constexpr uint64_t kFaultOffset = (1 << 20) + 12345;

// Each op's wait bound: far above any op here, even with a fault on every call.
constexpr std::chrono::seconds kFaultOpDeadline{120};

// One cell of the shared matrix (every device x backend, fd files) and a fault.
struct FaultParam {
  testing::MatrixParam matrix;
  FaultKind fault;
};

// Every device x backend x `faults`, on files of `kind`.
std::vector<FaultParam> ParamsFor(std::initializer_list<FaultKind> faults,
                                  testing::FileKind kind = testing::FileKind::kFd) {
  std::vector<FaultParam> params;
  for (const testing::MatrixParam& matrix : testing::Matrix({kind})) {
    for (FaultKind fault : faults) params.push_back({matrix, fault});
  }
  return params;
}

void PrintTo(const FaultParam& param, std::ostream* os) {
  testing::PrintTo(param.matrix, os);
  *os << " x " << testing::FaultKindName(param.fault);
}

std::string FaultParamName(const ::testing::TestParamInfo<FaultParam>& info) {
  return testing::MatrixName(info.param.matrix) + "_" + testing::FaultKindName(info.param.fault);
}

// Index of the first byte where `got` differs from `want`, or npos.
size_t FirstMismatch(std::span<const std::byte> got, std::span<const std::byte> want) {
  if (got.size() != want.size()) return std::min(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i]) return i;
  }
  return std::string::npos;
}

std::string DescribeMismatch(std::span<const std::byte> got, size_t at) {
  if (at >= got.size()) return "sizes differ";
  return "first wrong byte at " + std::to_string(at) +
         (got[at] == FaultInjector::kPoison ? " (poison: a short read taken for a full one)"
                                            : "");
}

// The offset N of "at offset N" in `message`, or -1.
int64_t FailingOffset(const std::string& message) {
  static const std::regex at(R"(at offset (\d+))");
  std::smatch match;
  return std::regex_search(message, match, at) ? std::stoll(match[1]) : -1;
}

// True if `message` names a range "[a, b)" with a <= offset < b.
bool NamesRangeAround(const std::string& message, uint64_t offset) {
  static const std::regex range(R"(\[(\d+), (\d+)\))");
  for (auto it = std::sregex_iterator(message.begin(), message.end(), range);
       it != std::sregex_iterator(); ++it) {
    const uint64_t begin = std::stoull((*it)[1]), end = std::stoull((*it)[2]);
    if (begin <= offset && offset < end) return true;
  }
  return false;
}

class FaultTest : public ::testing::TestWithParam<FaultParam> {
 protected:
  void SetUp() override {
    HALIO_SKIP_IF_UNAVAILABLE(GetParam().matrix);
    DeviceOptions options;
    options.chunk_size = kChunkBytes;
    options.queue_depth = 4;
    options.worker_count = 2;
    // Discrete devices: staged transfers of many chunks, a few in flight.
    options.staging_buffer_size = kChunkBytes;
    options.staging_buffer_count = 3;
    HALIO_ASSERT_OK_AND_ASSIGN(device_, CreateDevice(GetParam().matrix.device, options));
    // ENOSPC: the device fills up in a later chunk than the bad sector.
    fault_offset_ = fault() == FaultKind::kEnospc ? (2 << 20) + 777 : kFaultOffset;
    injector_ = FaultInjector::Make(fault(), fault_offset_);
    contents_ = testing::PatternBytes(kFileBytes, 7);
  }

  FaultKind fault() const { return GetParam().fault; }

  Result<FileRef> Open(const std::string& path, OpenMode mode) {
    FdFileOptions options;
    options.backend = GetParam().matrix.backend;
    options.interceptor = injector_;
    return FdFile::Open(path, mode, options);
  }

  // Reads the whole of `file` into a fresh buffer of the device's own memory
  // (local_discrete: device memory, so the read is staged).
  Status QueueWholeRead(const FileRef& file, BufferRef* buffer) {
    HALIO_ASSIGN_OR_RETURN(*buffer, testing::AllocateDeviceBuffer(*device_, kFileBytes));
    HALIO_ASSIGN_OR_RETURN(SemaphoreRef done, Semaphore::Create(0));
    SemaphorePoint signal[] = {{done.get(), 1}};
    Status queued = device_->QueueRead({}, signal, file, 0, *buffer, 0, kFileBytes);
    return testing::Outcome(queued, *done, 1, kFaultOpDeadline);
  }

  // Writes contents_ to `file` at offset 0 through the device, from the
  // device's own memory (local_discrete: a staged write).
  Status QueueWholeWrite(const FileRef& file) {
    HALIO_ASSIGN_OR_RETURN(BufferRef source, testing::AllocateDeviceBuffer(*device_, kFileBytes));
    HALIO_RETURN_IF_ERROR(testing::WriteBufferBytes(*device_, source, contents_));
    HALIO_ASSIGN_OR_RETURN(SemaphoreRef done, Semaphore::Create(0));
    SemaphorePoint signal[] = {{done.get(), 1}};
    Status queued = device_->QueueWrite({}, signal, source, 0, file, 0, kFileBytes);
    return testing::Outcome(queued, *done, 1, kFaultOpDeadline);
  }

  void ExpectBufferHoldsContents(const BufferRef& buffer) {
    HALIO_ASSERT_OK_AND_ASSIGN(const std::vector<std::byte> got,
                               testing::ReadBufferBytes(*device_, buffer));
    const size_t at = FirstMismatch(got, contents_);
    EXPECT_EQ(at, std::string::npos) << DescribeMismatch(got, at);
  }

  void ExpectFileHoldsContents(const testing::TempFile& file) {
    const std::vector<std::byte> got = file.Read();
    const size_t at = FirstMismatch(got, contents_);
    EXPECT_EQ(at, std::string::npos) << DescribeMismatch(got, at);
  }

  // The persistent fault's error: its code, the file, the failing offset
  // (X for EIO; any write at or past X may hit ENOSPC first) and a range
  // around it.
  void ExpectFailsAtFaultOffset(const Status& status, const std::string& path) {
    const bool enospc = fault() == FaultKind::kEnospc;
    EXPECT_THAT(status, StatusIs(enospc ? StatusCode::kResourceExhausted : StatusCode::kDataLoss,
                                 HasSubstr(path)));
    const std::string message(status.message());
    const int64_t at = FailingOffset(message);
    if (enospc) {
      EXPECT_GE(at, static_cast<int64_t>(fault_offset_)) << message;
    } else {
      EXPECT_EQ(at, static_cast<int64_t>(fault_offset_)) << message;
    }
    EXPECT_TRUE(at >= 0 && NamesRangeAround(message, static_cast<uint64_t>(at)))
        << "no range around the failing offset in: " << message;
  }

  // Reads all of `opened` (holding contents_, at `path`) and checks the
  // outcome against the fault: every byte right, or the fault's error.
  void CheckWholeRead(const FileRef& opened, const std::string& path) {
    BufferRef buffer;
    const Status status = QueueWholeRead(opened, &buffer);
    ExpectFaultsInjected();
    EXPECT_GT(injector_->reads(), 0u);
    if (testing::IsTransient(fault())) {
      HALIO_ASSERT_OK(status);
      ExpectBufferHoldsContents(buffer);
    } else {
      ExpectFailsAtFaultOffset(status, path);
    }
  }

  // Writes contents_ to `opened` (the file `file`) and checks the outcome.
  void CheckWholeWrite(const FileRef& opened, const testing::TempFile& file) {
    const Status status = QueueWholeWrite(opened);
    ExpectFaultsInjected();
    EXPECT_GT(injector_->writes(), 0u);
    if (testing::IsTransient(fault())) {
      HALIO_ASSERT_OK(status);
      ExpectFileHoldsContents(file);
      EXPECT_EQ(opened->length(), kFileBytes);
    } else {
      ExpectFailsAtFaultOffset(status, file.path());
    }
  }

  void ExpectFaultsInjected() {
    EXPECT_GT(injector_->injected(), 0u)
        << "no fault was injected in " << injector_->calls()
        << " calls: the interceptor is not on this path";
  }

  std::unique_ptr<Device> device_;
  uint64_t fault_offset_ = 0;
  std::shared_ptr<FaultInjector> injector_;
  std::vector<std::byte> contents_;
};

// --- queue_read / queue_write ------------------------------------------------

using ReadFaultTest = FaultTest;
using WriteFaultTest = FaultTest;

TEST_P(ReadFaultTest, MultiChunkReadRecoversOrFailsNamingTheRange) {
  testing::TempFile file(contents_);
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef opened, Open(file.path(), OpenMode::kRead));
  CheckWholeRead(opened, file.path());
}

TEST_P(WriteFaultTest, MultiChunkWriteRecoversOrFailsNamingTheRange) {
  testing::TempFile file;
  HALIO_ASSERT_OK_AND_ASSIGN(
      FileRef opened,
      Open(file.path(), OpenMode::kReadWrite | OpenMode::kCreate | OpenMode::kTruncate));
  CheckWholeWrite(opened, file);
}

constexpr std::initializer_list<FaultKind> kReadFaults = {
    FaultKind::kEintr, FaultKind::kEagain, FaultKind::kShort, FaultKind::kEio};
constexpr std::initializer_list<FaultKind> kWriteFaults = {
    FaultKind::kEintr, FaultKind::kEagain, FaultKind::kShort, FaultKind::kEio,
    FaultKind::kEnospc};

INSTANTIATE_TEST_SUITE_P(Faults, ReadFaultTest, ::testing::ValuesIn(ParamsFor(kReadFaults)),
                         FaultParamName);
INSTANTIATE_TEST_SUITE_P(Faults, WriteFaultTest, ::testing::ValuesIn(ParamsFor(kWriteFaults)),
                         FaultParamName);

// --- O_DIRECT -----------------------------------------------------------------

// Block filesystems cut O_DIRECT transfers short only at block boundaries,
// and a bad sector or the end of free space is a whole block: the faults
// here are block-aligned, as a real system's would be.
class DirectFaultTest : public FaultTest {
 protected:
  // Opens `path` with O_DIRECT, with block-aligned faults; sets `skip` when
  // the filesystem refused O_DIRECT.
  Result<FileRef> OpenDirect(const std::string& path, OpenMode mode, std::string* skip) {
    HALIO_ASSIGN_OR_RETURN(FileRef probe, FdFile::Open(path, mode | OpenMode::kDirect));
    auto* probed = static_cast<FdFile*>(probe.get());
    if (!probed->direct()) {
      *skip = probed->direct_fallback_reason();
      return probe;
    }
    const uint64_t block = probed->direct_offset_alignment();
    fault_offset_ -= fault_offset_ % block;
    injector_ = FaultInjector::Make(fault(), fault_offset_, block);
    return Open(path, mode | OpenMode::kDirect);
  }
};

using DirectReadFaultTest = DirectFaultTest;
using DirectWriteFaultTest = DirectFaultTest;

TEST_P(DirectReadFaultTest, ReadRecoversOrFailsNamingTheRange) {
  testing::TempFile file(testing::StorageDirectory(), contents_);
  std::string skip;
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef opened, OpenDirect(file.path(), OpenMode::kRead, &skip));
  if (!skip.empty()) GTEST_SKIP() << skip;
  CheckWholeRead(opened, file.path());
}

TEST_P(DirectWriteFaultTest, WriteRecoversOrFailsNamingTheRange) {
  testing::TempFile file(testing::StorageDirectory());
  std::string skip;
  HALIO_ASSERT_OK_AND_ASSIGN(
      FileRef opened,
      OpenDirect(file.path(), OpenMode::kReadWrite | OpenMode::kCreate | OpenMode::kTruncate,
                 &skip));
  if (!skip.empty()) GTEST_SKIP() << skip;
  CheckWholeWrite(opened, file);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, DirectReadFaultTest,
    ::testing::ValuesIn(ParamsFor(kReadFaults, testing::FileKind::kFdDirect)), FaultParamName);
INSTANTIATE_TEST_SUITE_P(
    Faults, DirectWriteFaultTest,
    ::testing::ValuesIn(ParamsFor(kWriteFaults, testing::FileKind::kFdDirect)), FaultParamName);

// --- the parameter loader -----------------------------------------------------

// A safetensors file of three F32 tensors; "big.w" spans many chunks.
struct SafetensorsFile {
  std::vector<std::byte> bytes;
  uint64_t big_begin = 0;  // file offset of big.w's data
  uint64_t big_end = 0;
};

SafetensorsFile MakeSafetensors() {
  const struct { const char* name; size_t bytes; } tensors[] = {
      {"small.a", 4000}, {"big.w", 700000 * 4}, {"small.b", 68}};
  std::string header = "{";
  size_t offset = 0;
  for (const auto& tensor : tensors) {
    header += std::string(offset ? "," : "") + "\"" + tensor.name +
              "\":{\"dtype\":\"F32\",\"shape\":[" + std::to_string(tensor.bytes / 4) +
              "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + tensor.bytes) + "]}";
    offset += tensor.bytes;
  }
  header += "}";
  while (header.size() % 8) header += ' ';
  SafetensorsFile file;
  const uint64_t header_size = header.size();
  file.bytes.resize(8 + header.size());
  std::memcpy(file.bytes.data(), &header_size, 8);  // little-endian host
  std::memcpy(file.bytes.data() + 8, header.data(), header.size());
  const auto data = testing::PatternBytes(offset, 13);
  file.bytes.insert(file.bytes.end(), data.begin(), data.end());
  file.big_begin = 8 + header_size + tensors[0].bytes;
  file.big_end = file.big_begin + tensors[1].bytes;
  return file;
}

class LoaderFaultTest : public FaultTest {};

TEST_P(LoaderFaultTest, LoadSucceedsByteForByteOrFailsNamingTheTensor) {
  const SafetensorsFile st = MakeSafetensors();
  testing::TempFile file(st.bytes);
  HALIO_ASSERT_OK_AND_ASSIGN(ParameterIndex index, OpenParameterIndex(file.path()));
  // The bad sector lies inside big.w.
  const uint64_t bad = st.big_begin + kFaultOffset;
  ASSERT_LT(bad, st.big_end);
  injector_ = FaultInjector::Make(fault(), bad);
  LoadOptions options;
  options.file_options.backend = GetParam().matrix.backend;
  options.file_options.interceptor = injector_;
  // Below big.w's size: each tensor is its own read, so an error names one.
  options.max_read_bytes = 1 << 20;
  auto loaded = LoadParameters(*device_, index, options);
  ExpectFaultsInjected();
  if (!testing::IsTransient(fault())) {
    EXPECT_THAT(loaded, StatusIs(StatusCode::kDataLoss,
                                 AllOf(HasSubstr("tensor 'big.w'"), HasSubstr(file.path()),
                                       HasSubstr("at offset " + std::to_string(bad)))));
    if (!loaded.ok()) {
      EXPECT_TRUE(NamesRangeAround(std::string(loaded.status().message()), bad))
          << loaded.status().ToString();
    }
    return;
  }
  HALIO_ASSERT_OK(loaded.status());
  ASSERT_EQ(loaded->tensors.size(), 3u);
  for (const LoadedTensor& tensor : loaded->tensors) {
    HALIO_ASSERT_OK_AND_ASSIGN(const std::vector<std::byte> got,
                               testing::ReadBufferBytes(*device_, tensor.buffer));
    std::span<const std::byte> want(st.bytes.data() + tensor.entry->offset,
                                    tensor.entry->length);
    const size_t at = FirstMismatch(got, want);
    EXPECT_EQ(at, std::string::npos) << tensor.entry->name << ": " << DescribeMismatch(got, at);
  }
}

INSTANTIATE_TEST_SUITE_P(Faults, LoaderFaultTest, ::testing::ValuesIn(ParamsFor(kReadFaults)),
                         FaultParamName);

// --- the plumbing itself ------------------------------------------------------

// Checks every IoCall against the file: a read's `data` holds the file's
// bytes at `offset` for the `result` bytes the system moved, a write's
// `data` holds the bytes being written there. A wrong offset or pointer in
// any backend's IoCall shows up as a mismatch.
class CallChecker final : public IoInterceptor {
 public:
  explicit CallChecker(const std::vector<std::byte>& contents) : contents_(contents) {}
  int64_t OnResult(const IoCall& call, int64_t result) override {
    ++calls_;
    const bool sane = result >= 0 && static_cast<uint64_t>(result) <= call.length &&
                      call.offset + static_cast<uint64_t>(result) <= contents_.size();
    if (!sane || std::memcmp(call.data, contents_.data() + call.offset,
                             static_cast<size_t>(result)) != 0) {
      ++mismatches_;
    }
    return result;
  }
  std::atomic<uint64_t> calls_{0};
  std::atomic<uint64_t> mismatches_{0};

 private:
  const std::vector<std::byte>& contents_;
};

class IoCallTest : public FaultTest {};

TEST_P(IoCallTest, EveryCallDescribesItsOwnOffsetAndMemory) {
  auto checker = std::make_shared<CallChecker>(contents_);
  testing::TempFile file;
  FdFileOptions options;
  options.backend = GetParam().matrix.backend;
  options.interceptor = checker;
  HALIO_ASSERT_OK_AND_ASSIGN(
      FileRef opened, FdFile::Open(file.path(), OpenMode::kReadWrite | OpenMode::kCreate,
                                   options));
  HALIO_ASSERT_OK(QueueWholeWrite(opened));
  BufferRef buffer;
  HALIO_ASSERT_OK(QueueWholeRead(opened, &buffer));
  ExpectBufferHoldsContents(buffer);
  EXPECT_GT(checker->calls_.load(), 1u);
  EXPECT_EQ(checker->mismatches_.load(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, IoCallTest,
                         ::testing::ValuesIn(ParamsFor({FaultKind::kEintr})), FaultParamName);

// An interceptor that misbehaves on its first call: throws, or returns a
// value that is neither a count nor an errno. Either must fail the read as
// an I/O error (EIO), never crash an engine thread or pass as bytes read.
class MisbehavingInterceptor final : public IoInterceptor {
 public:
  explicit MisbehavingInterceptor(bool throws) : throws_(throws) {}
  int64_t OnResult(const IoCall&, int64_t result) override {
    if (called_.exchange(true)) return result;
    if (throws_) throw std::runtime_error("interceptor bug");
    return INT64_MIN;
  }

 private:
  const bool throws_;
  std::atomic<bool> called_{false};
};

TEST_P(IoCallTest, MisbehavingInterceptorFailsTheReadWithEio) {
  testing::TempFile file(contents_);
  for (bool throws : {true, false}) {
    FdFileOptions options;
    options.backend = GetParam().matrix.backend;
    options.interceptor = std::make_shared<MisbehavingInterceptor>(throws);
    HALIO_ASSERT_OK_AND_ASSIGN(FileRef opened, FdFile::Open(file.path(), OpenMode::kRead,
                                                            options));
    BufferRef buffer;
    EXPECT_THAT(QueueWholeRead(opened, &buffer),
                StatusIs(StatusCode::kDataLoss, AllOf(HasSubstr(file.path()),
                                                      HasSubstr("errno 5"))))
        << (throws ? "throwing" : "returning INT64_MIN");
  }
}

}  // namespace
}  // namespace halio
