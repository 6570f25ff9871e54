#include "cts/conformance.h"

#include <string>
#include <utility>

#include "testing/status_matchers.h"

namespace halio::cts {
namespace {

// True when every point of `wait` is reached (or failed: the read fails
// then, cached pages or not).
bool Reached(SemaphoreList wait) {
  for (const SemaphorePoint& point : wait) {
    auto value = point.semaphore->Query();
    if (value.ok() && *value < point.value) return false;
  }
  return true;
}

}  // namespace

BufferRef QueueTest::NewBufferOf(const BufferParams& params,
                                 const std::vector<std::byte>& bytes) {
  auto buffer = device_->allocator().Allocate(params, bytes.size());
  EXPECT_THAT(buffer, IsOk());
  if (!buffer.ok()) return nullptr;
  HALIO_EXPECT_OK(testing::WriteBufferBytes(*device_, *buffer, bytes));
  return *buffer;
}

BufferRef QueueTest::NewBuffer(uint64_t length, std::byte fill) {
  return NewBufferWith(std::vector<std::byte>(length, fill));
}

BufferRef QueueTest::NewBufferWith(const std::vector<std::byte>& bytes) {
  return NewBufferOf(testing::DeviceLocalParams(), bytes);
}

BufferRef QueueTest::NewHostBuffer(uint64_t length, std::byte fill) {
  return NewHostBufferWith(std::vector<std::byte>(length, fill));
}

BufferRef QueueTest::NewHostBufferWith(const std::vector<std::byte>& bytes) {
  return NewBufferOf(BufferParams{}, bytes);
}

std::vector<std::byte> QueueTest::Bytes(const BufferRef& buffer) {
  auto bytes = testing::ReadBufferBytes(*device_, buffer);
  EXPECT_THAT(bytes, IsOk());
  return bytes.ok() ? *std::move(bytes) : std::vector<std::byte>();
}

uint64_t QueueTest::ValueOf(const SemaphoreRef& semaphore) {
  auto value = semaphore->Query();
  EXPECT_THAT(value, IsOk());
  return value.ok() ? *value : ~uint64_t{0};
}

void FileTest::TearDown() {
  for (std::thread& dropper : page_droppers_) dropper.join();
}

FileRef FileTest::MakeFile(const std::vector<std::byte>& contents, MemoryAccess access) {
  auto file = files_.Make(contents, access);
  EXPECT_THAT(file, IsOk());
  return file.ok() ? *file : nullptr;
}

Status FileTest::QueueFileRead(SemaphoreList wait, SemaphoreList signal, const FileRef& file,
                               uint64_t file_offset, const BufferRef& buffer,
                               uint64_t buffer_offset, uint64_t length) {
  if (files_.kind() != FileKind::kFdCold || length == 0) {
    return device_->QueueRead(wait, signal, file, file_offset, buffer, buffer_offset, length);
  }
  if (Reached(wait)) {
    HALIO_RETURN_IF_ERROR(files_.PrepareRead());
    return device_->QueueRead(wait, signal, file, file_offset, buffer, buffer_offset, length);
  }
  HALIO_ASSIGN_OR_RETURN(SemaphoreRef gate, Semaphore::Create(0));
  // Owned references: the test body may end (a failed assertion) first.
  std::vector<std::pair<SemaphoreRef, uint64_t>> points;
  for (const SemaphorePoint& point : wait) {
    points.emplace_back(point.semaphore->shared_from_this(), point.value);
  }
  page_droppers_.emplace_back([this, gate, points = std::move(points)] {
    Status status;
    for (const auto& [semaphore, value] : points) {
      if (status.ok()) status = testing::Await(*semaphore, value);
    }
    if (status.ok()) status = files_.PrepareRead();
    if (status.ok()) status = gate->Signal(1);
    if (!status.ok()) gate->Fail(status);
  });
  SemaphorePoint gated[] = {{gate.get(), 1}};
  return device_->QueueRead(gated, signal, file, file_offset, buffer, buffer_offset, length);
}

Status FileTest::WriteThenRead(const BufferRef& source, const FileRef& file,
                               uint64_t file_offset, const BufferRef& target, uint64_t length) {
  HALIO_ASSIGN_OR_RETURN(SemaphoreRef timeline, Semaphore::Create(0));
  SemaphorePoint written[] = {{timeline.get(), 1}};
  SemaphorePoint read[] = {{timeline.get(), 2}};
  HALIO_RETURN_IF_ERROR(device_->QueueWrite({}, written, source, 0, file, file_offset, length));
  HALIO_RETURN_IF_ERROR(QueueFileRead(written, read, file, file_offset, target, 0, length));
  return Await(timeline, 2);
}

namespace {

std::vector<testing::MatrixParam> AllFileKinds() {
  return testing::Matrix(
      {FileKind::kFd, FileKind::kFdCold, FileKind::kFdDirect, FileKind::kMemory});
}

INSTANTIATE_TEST_SUITE_P(AllDevices, QueueTest,
                         ::testing::ValuesIn(testing::Matrix({FileKind::kNone})),
                         testing::MatrixParamName);
INSTANTIATE_TEST_SUITE_P(AllDevices, FileTest, ::testing::ValuesIn(AllFileKinds()),
                         testing::MatrixParamName);
INSTANTIATE_TEST_SUITE_P(
    AllDevices, FdFileTest,
    ::testing::ValuesIn(testing::Matrix({FileKind::kFd, FileKind::kFdCold, FileKind::kFdDirect})),
    testing::MatrixParamName);
INSTANTIATE_TEST_SUITE_P(AllDevices, MemoryFileTest,
                         ::testing::ValuesIn(testing::Matrix({FileKind::kMemory})),
                         testing::MatrixParamName);
INSTANTIATE_TEST_SUITE_P(AllDevices, ColdFileTest,
                         ::testing::ValuesIn(testing::Matrix({FileKind::kFdCold})),
                         testing::MatrixParamName);

}  // namespace
}  // namespace halio::cts
