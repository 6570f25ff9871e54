#include "cts/conformance.h"

#include <cstring>
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

BufferRef QueueTest::NewBuffer(uint64_t length, std::byte fill) {
  auto buffer = device_->allocator().Allocate(BufferParams{}, length);
  EXPECT_THAT(buffer, IsOk());
  if (!buffer.ok()) return nullptr;
  auto mapping = (*buffer)->Map(MemoryAccess::kWrite);
  std::memset(mapping->data(), static_cast<int>(fill), mapping->size());
  return *buffer;
}

BufferRef QueueTest::NewBufferWith(const std::vector<std::byte>& bytes) {
  BufferRef buffer = NewBuffer(bytes.size());
  auto mapping = buffer->Map(MemoryAccess::kWrite);
  std::memcpy(mapping->data(), bytes.data(), bytes.size());
  return buffer;
}

std::vector<std::byte> QueueTest::Bytes(const BufferRef& buffer) {
  auto mapping = buffer->Map(MemoryAccess::kRead);
  return std::vector<std::byte>(mapping->data(), mapping->data() + mapping->size());
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
