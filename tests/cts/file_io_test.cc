// Conformance: reading and writing files of every kind, whole and in
// ranges, alone and chained through semaphores.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "cts/conformance.h"
#include "testing/status_matchers.h"

namespace halio::cts {
namespace {

using ::testing::HasSubstr;

TEST_P(FileTest, ReadsWholeFile) {
  auto contents = PatternBytes(4096 + 123, 1);
  FileRef file = MakeFile(contents);
  BufferRef buffer = NewBuffer(contents.size());
  auto done = NewSemaphore();
  SemaphorePoint signal[] = {{done.get(), 1}};
  HALIO_ASSERT_OK(QueueFileRead({}, signal, file, 0, buffer, 0, contents.size()));
  HALIO_ASSERT_OK(Await(done, 1));
  EXPECT_EQ(Bytes(buffer), contents);
}

TEST_P(FileTest, ReadsSubrangeIntoBufferOffsetLeavingRestUntouched) {
  auto contents = PatternBytes(10000, 2);
  FileRef file = MakeFile(contents);
  BufferRef buffer = NewBuffer(8192, std::byte{0xCD});
  auto done = NewSemaphore();
  SemaphorePoint signal[] = {{done.get(), 1}};
  HALIO_ASSERT_OK(QueueFileRead({}, signal, file, 1234, buffer, 100, 5000));
  HALIO_ASSERT_OK(Await(done, 1));
  auto bytes = Bytes(buffer);
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::byte expected = (i >= 100 && i < 5100) ? contents[1234 + i - 100] : std::byte{0xCD};
    ASSERT_EQ(bytes[i], expected) << "at buffer byte " << i;
  }
}

// Destinations 1..31 bytes past the source's page offset take halio's
// realigning path (the kernel's copy is slow there); the bytes must not care.
TEST_P(FileTest, ReadsIntoDestinationsAtSlowKernelCopyOffsets) {
  auto contents = PatternBytes((1 << 20) + 4096 + 5, 16);
  FileRef file = MakeFile(contents);
  for (uint64_t buffer_offset : {16u, 1u, 31u}) {
    BufferRef buffer = NewBuffer(contents.size() + 64);
    auto done = NewSemaphore();
    SemaphorePoint signal[] = {{done.get(), 1}};
    const uint64_t length = contents.size() - 4096;
    HALIO_ASSERT_OK(QueueFileRead({}, signal, file, 4096, buffer, buffer_offset, length));
    HALIO_ASSERT_OK(Await(done, 1));
    auto bytes = Bytes(buffer);
    EXPECT_TRUE(std::equal(bytes.begin() + buffer_offset, bytes.begin() + buffer_offset + length,
                           contents.begin() + 4096))
        << "buffer offset " << buffer_offset;
    EXPECT_EQ(bytes[buffer_offset - 1], std::byte{0xCD});
    EXPECT_EQ(bytes[buffer_offset + length], std::byte{0xCD});
  }
}

TEST_P(FileTest, WritesSubrangeThatRereadsFromStorage) {
  auto original = PatternBytes(9000, 3);
  FileRef file = MakeFile(original, MemoryAccess::kReadWrite);
  auto data = PatternBytes(3000, 4);
  BufferRef buffer = NewBufferWith(data);
  auto done = NewSemaphore();
  SemaphorePoint signal[] = {{done.get(), 1}};
  HALIO_ASSERT_OK(device_->QueueWrite({}, signal, buffer, 500, file, 4000, 2000));
  HALIO_ASSERT_OK(Await(done, 1));
  auto expected = original;
  std::copy(data.begin() + 500, data.begin() + 2500, expected.begin() + 4000);
  EXPECT_EQ(files_.Contents(), expected);
}

TEST_P(FileTest, WriteThenReadChainedBySemaphore) {
  FileRef file = MakeFile(std::vector<std::byte>(8192), MemoryAccess::kReadWrite);
  auto data = PatternBytes(8192, 5);
  BufferRef source = NewBufferWith(data);
  BufferRef target = NewBuffer(8192);
  HALIO_ASSERT_OK(WriteThenRead(source, file, 0, target, 8192));
  EXPECT_EQ(Bytes(target), data);
}

TEST_P(FileTest, RoundTrips256KiBPlus31Bytes) {
  constexpr size_t kLength = 256 * 1024 + 31;
  FileRef file = MakeFile(std::vector<std::byte>(kLength + 7), MemoryAccess::kReadWrite);
  auto data = PatternBytes(kLength, 6);
  BufferRef source = NewBufferWith(data);
  BufferRef target = NewBuffer(kLength);
  HALIO_ASSERT_OK(WriteThenRead(source, file, 7, target, kLength));
  EXPECT_EQ(Bytes(target), data);
}

// Several of local_async's 1 MiB chunks at file and buffer offset 0: the
// middle chunks are block-aligned, so an O_DIRECT file's go straight to the
// engine and only the tail takes the bounce path (the other cases are
// unaligned throughout).
TEST_P(FileTest, RoundTripsAlignedMultiChunkRange) {
  constexpr size_t kLength = (3 << 20) + 123;
  FileRef file = MakeFile(std::vector<std::byte>(kLength), MemoryAccess::kReadWrite);
  auto data = PatternBytes(kLength, 18);
  BufferRef source = NewBufferWith(data);
  BufferRef target = NewBuffer(kLength);
  HALIO_ASSERT_OK(WriteThenRead(source, file, 0, target, kLength));
  EXPECT_EQ(Bytes(target), data);
  EXPECT_EQ(files_.Contents(), data);
}

// The other cases move file bytes to and from the device's own memory (on
// local_discrete through staging buffers); plain host buffers must work on
// every device too, beside them.
TEST_P(FileTest, ReadsAndWritesHostBuffers) {
  constexpr size_t kLength = 64 * 1024 + 5;
  FileRef file = MakeFile(std::vector<std::byte>(kLength + 3), MemoryAccess::kReadWrite);
  auto data = PatternBytes(kLength, 20);
  BufferRef source = NewHostBufferWith(data);
  BufferRef target = NewHostBuffer(kLength);
  BufferRef device_target = NewBuffer(kLength);
  HALIO_ASSERT_OK(WriteThenRead(source, file, 3, target, kLength));
  EXPECT_EQ(Bytes(target), data);
  // And from the host-written file into the device's memory.
  HALIO_ASSERT_OK(files_.PrepareRead());
  HALIO_ASSERT_OK(testing::RunRead(*device_, file, 3, device_target, kLength));
  EXPECT_EQ(Bytes(device_target), data);
}

// A device whose staging pool is two 4 KiB buffers: every transfer of the
// device's memory is many chunks, and transfers queued together wait for
// each other's buffers (backpressure, not failure). Four writes, then four
// reads of the same ranges at odd offsets, all in flight at once.
TEST_P(FileTest, ManyStagedChunksAndTransfersSharingASmallPool) {
  DeviceOptions options;
  options.staging_buffer_size = 4096;
  options.staging_buffer_count = 2;
  options.worker_count = 4;
  HALIO_ASSERT_OK_AND_ASSIGN(device_, CreateDevice(GetParam().device, options));
  constexpr uint64_t kPart = 50000 + 3;
  constexpr int kParts = 4;
  FileRef file = MakeFile(std::vector<std::byte>(kParts * kPart + 11), MemoryAccess::kReadWrite);
  auto data = PatternBytes(kParts * kPart, 21);
  BufferRef source = NewBufferWith(data);
  BufferRef target = NewBuffer(kParts * kPart + 5);
  auto written = NewSemaphore();
  auto read = NewSemaphore();
  std::vector<SemaphoreRef> parts_written;
  for (int i = 0; i < kParts; ++i) parts_written.push_back(NewSemaphore());
  for (int i = 0; i < kParts; ++i) {
    SemaphorePoint signal[] = {{parts_written[i].get(), 1}};
    HALIO_ASSERT_OK(
        device_->QueueWrite({}, signal, source, i * kPart, file, 11 + i * kPart, kPart));
  }
  std::vector<SemaphorePoint> all_written;
  for (const SemaphoreRef& part : parts_written) all_written.push_back({part.get(), 1});
  SemaphorePoint barrier[] = {{written.get(), 1}};
  HALIO_ASSERT_OK(device_->QueueBarrier(all_written, barrier));
  std::vector<SemaphoreRef> parts_read;
  for (int i = 0; i < kParts; ++i) {
    parts_read.push_back(NewSemaphore());
    SemaphorePoint signal[] = {{parts_read.back().get(), 1}};
    HALIO_ASSERT_OK(QueueFileRead(barrier, signal, file, 11 + i * kPart, target, 5 + i * kPart,
                                  kPart));
  }
  for (const SemaphoreRef& part : parts_read) HALIO_ASSERT_OK(Await(part, 1));
  auto bytes = Bytes(target);
  EXPECT_TRUE(std::equal(bytes.begin() + 5, bytes.end(), data.begin()));
  EXPECT_EQ(std::vector<std::byte>(bytes.begin(), bytes.begin() + 5),
            std::vector<std::byte>(5, std::byte{0xCD}));
  auto stored = files_.Contents();
  EXPECT_TRUE(std::equal(stored.begin() + 11, stored.end(), data.begin()));
}

// Reads into and writes from a view (Subspan) of the device's memory: the
// view's offset is added once.
TEST_P(FileTest, ReadsIntoAndWritesFromAViewOfTheBuffer) {
  auto contents = PatternBytes(20000, 22);
  FileRef file = MakeFile(contents, MemoryAccess::kReadWrite);
  BufferRef buffer = NewBuffer(30000, std::byte{0xCD});
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef view, buffer->Subspan(1001, 25000));
  auto timeline = NewSemaphore();
  SemaphorePoint read[] = {{timeline.get(), 1}}, written[] = {{timeline.get(), 2}};
  HALIO_ASSERT_OK(QueueFileRead({}, read, file, 0, view, 7, 20000));
  // Back out, shifted: file [100, 10100) <- view [7 + 200, 7 + 10200).
  HALIO_ASSERT_OK(device_->QueueWrite(read, written, view, 207, file, 100, 10000));
  HALIO_ASSERT_OK(Await(timeline, 2));
  auto bytes = Bytes(buffer);  // the view's byte 7 is the buffer's 1008
  EXPECT_TRUE(std::equal(bytes.begin() + 1008, bytes.begin() + 1008 + 20000, contents.begin()));
  EXPECT_EQ(bytes[1007], std::byte{0xCD});
  EXPECT_EQ(bytes[1008 + 20000], std::byte{0xCD});
  auto expected = contents;
  std::copy(contents.begin() + 200, contents.begin() + 10200, expected.begin() + 100);
  EXPECT_EQ(files_.Contents(), expected);
}

TEST_P(FdFileTest, FailingReadFailsSignalsWithFileAndRange) {
  auto contents = PatternBytes(8192, 14);
  FileRef file = MakeFile(contents);
  // Shrink the file behind halio's back: validation passes (the length was
  // captured at open) and the read itself must notice the early end of file.
  std::filesystem::resize_file(std::filesystem::path(file->description()), 100);
  BufferRef buffer = NewBuffer(8192);
  auto done = NewSemaphore();
  SemaphorePoint signal[] = {{done.get(), 1}};
  ExpectFailsWhileRunning(QueueFileRead({}, signal, file, 0, buffer, 0, 8192), done,
                          StatusCode::kOutOfRange);
  EXPECT_THAT(Await(done, 1),
              StatusIs(StatusCode::kAborted, HasSubstr("end of file at offset 100")));
}

TEST_P(MemoryFileTest, ImportsSixteenByteAlignedData) {
  auto contents = PatternBytes(1000, 15);
  FileRef file = MakeFile(contents);
  ASSERT_NE(file->storage_buffer(), nullptr);
  auto storage = file->storage_buffer()->Map(MemoryAccess::kRead);
  ASSERT_THAT(storage, IsOk());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(storage->data()) % 64, 16u);
  BufferRef buffer = NewBuffer(1000);
  auto done = NewSemaphore();
  SemaphorePoint signal[] = {{done.get(), 1}};
  HALIO_ASSERT_OK(QueueFileRead({}, signal, file, 0, buffer, 0, 1000));
  HALIO_ASSERT_OK(Await(done, 1));
  EXPECT_EQ(Bytes(buffer), contents);
}

// fd_cold really is cold, so the CTS reaches each engine's own read path:
// before the read not one of the file's pages is cached (local_async's
// page-cache-first copy finds nothing and hands every chunk to the engine;
// local_sync's pread must go to storage too), and the read makes this
// process fetch at least the whole file from storage.
TEST_P(ColdFileTest, ReadOfDroppedPagesIsServedFromStorage) {
  constexpr uint64_t kLength = (4 << 20) + 4096 + 123;  // several 1 MiB chunks
  auto contents = PatternBytes(kLength, 17);
  FileRef file = MakeFile(contents);
  BufferRef buffer = NewBuffer(kLength);
  auto done = NewSemaphore();
  SemaphorePoint signal[] = {{done.get(), 1}};
  const Result<uint64_t> fetched_before = testing::StorageReadBytes();
  if (!fetched_before.ok()) GTEST_SKIP() << fetched_before.status().ToString();
  HALIO_ASSERT_OK(files_.PrepareRead());
  HALIO_ASSERT_OK_AND_ASSIGN(const uint64_t cached,
                             testing::CachedPages(files_.path().string(), kLength));
  EXPECT_EQ(cached, 0u) << "pages still cached after dropping them";
  HALIO_ASSERT_OK(device_->QueueRead({}, signal, file, 0, buffer, 0, kLength));
  HALIO_ASSERT_OK(Await(done, 1));
  HALIO_ASSERT_OK_AND_ASSIGN(const uint64_t fetched_after, testing::StorageReadBytes());
  EXPECT_GE(fetched_after - *fetched_before, kLength / 4096 * 4096)
      << "the read did not fetch the file from storage: its pages were cached after all";
  EXPECT_EQ(Bytes(buffer), contents);
}

}  // namespace
}  // namespace halio::cts
