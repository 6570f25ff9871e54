// FdTransfer: which files it recognises, what it puts in a chunk's request,
// where each chunk goes (engine, page cache first, worker, O_DIRECT on a
// worker) and what a worker does with one.
#include "fd_transfer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "halio/hal/allocator.h"
#include "fd_io.h"
#include "testing/matrix.h"
#include "testing/status_matchers.h"
#include "testing/temp_file.h"

namespace halio {
namespace {

class PassThrough final : public IoInterceptor {
 public:
  int64_t OnResult(const IoCall&, int64_t result) override { return result; }
};

constexpr size_t kFileBytes = 64 << 10;
// The cases that need an async engine use asio; they skip with its probe's
// reason where it cannot run.
const testing::MatrixParam kAsioFd{"local_sync", IoBackend::kAsio, testing::FileKind::kFd};

class FdTransferTest : public ::testing::Test {
 protected:
  void SetUp() override { file_.Write(testing::PatternBytes(kFileBytes, 13)); }

  // The file opened with `backend`; null (the test skips) when that backend
  // cannot run here.
  std::shared_ptr<FdFile> Open(IoBackend backend, OpenMode mode = OpenMode::kReadWrite,
                               IoInterceptorRef interceptor = nullptr) {
    if (backend != IoBackend::kSync && !IoEngine::Probe(backend).status.ok()) return nullptr;
    FdFileOptions options;
    options.backend = backend;
    options.interceptor = std::move(interceptor);
    auto opened = FdFile::Open(file_.path(), mode, options);
    EXPECT_THAT(opened, IsOk());
    if (!opened.ok()) return nullptr;
    return std::static_pointer_cast<FdFile>(*std::move(opened));
  }

  // A chunk request of `length` bytes at `offset` into `data`.
  static AsyncRequest Chunk(const FdFile& file, IoOp op, uint64_t offset, std::byte* data,
                            size_t length) {
    AsyncRequest request;
    FdTransfer::PrepareRequest(file, op, &request);
    request.offset = offset;
    request.data = data;
    request.length = length;
    return request;
  }

  testing::TempFile file_;
  // Page-aligned destination memory (never a slow kernel-copy offset).
  alignas(4096) std::byte aligned_[2 * 4096] = {};
};

TEST_F(FdTransferTest, RecognisesOnlyFdFiles) {
  auto fd_file = Open(IoBackend::kSync);
  ASSERT_NE(fd_file, nullptr);
  File& as_file = *fd_file;
  EXPECT_EQ(FdTransfer::Of(as_file), fd_file.get());
  std::vector<std::byte> memory(16);
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef memory_file,
                             MemoryFile::Wrap(memory, MemoryAccess::kRead));
  EXPECT_EQ(FdTransfer::Of(*memory_file), nullptr);
  EXPECT_EQ(FdTransfer::async_file(*memory_file), nullptr);
  EXPECT_FALSE(FdTransfer::SubmitsIoOnly(*memory_file));
}

TEST_F(FdTransferTest, PrepareRequestCarriesTheFilesHandleNameAndInterceptor) {
  auto interceptor = std::make_shared<PassThrough>();
  auto file = Open(IoBackend::kSync, OpenMode::kRead, interceptor);
  ASSERT_NE(file, nullptr);
  AsyncRequest request;
  FdTransfer::PrepareRequest(*file, IoOp::kWrite, &request);
  EXPECT_EQ(request.op, IoOp::kWrite);
  EXPECT_EQ(request.fd, file->fd());
  EXPECT_FALSE(request.direct);
  EXPECT_EQ(request.description, &file->description());
  EXPECT_EQ(request.interceptor, interceptor.get());
  EXPECT_EQ(FdTransfer::interceptor(*file), interceptor.get());
}

TEST_F(FdTransferTest, WithoutAnAsyncEngineEveryChunkRunsOnAWorker) {
  auto file = Open(IoBackend::kSync);
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(FdTransfer::async_file(*file), nullptr);
  EXPECT_FALSE(FdTransfer::SubmitsIoOnly(*file));
  for (IoOp op : {IoOp::kRead, IoOp::kWrite}) {
    EXPECT_EQ(FdTransfer::Route(*file, Chunk(*file, op, 0, aligned_, 4096)),
              ChunkRoute::kWorkerTransfer);
  }
}

TEST_F(FdTransferTest, BufferedReadsTryThePageCacheFirstAndWritesGoToTheEngine) {
  HALIO_SKIP_IF_UNAVAILABLE(kAsioFd);
  auto file = Open(IoBackend::kAsio);
  ASSERT_NE(file, nullptr);
  EXPECT_NE(FdTransfer::async_file(*file), nullptr);
  EXPECT_TRUE(FdTransfer::SubmitsIoOnly(*file));
  EXPECT_EQ(FdTransfer::Route(*file, Chunk(*file, IoOp::kRead, 0, aligned_, 4096)),
            ChunkRoute::kCacheFirst);
  EXPECT_EQ(FdTransfer::Route(*file, Chunk(*file, IoOp::kWrite, 0, aligned_, 4096)),
            ChunkRoute::kEngine);
  // A destination the kernel copies into slowly is realigned on a worker,
  // where this machine has that penalty.
  std::byte* slow = aligned_ + 16;
  EXPECT_EQ(FdTransfer::Route(*file, Chunk(*file, IoOp::kRead, 0, slow, 4096)),
            platform::HasSlowKernelCopyAlignment(slow, 0) ? ChunkRoute::kWorkerTransfer
                                                          : ChunkRoute::kCacheFirst);
}

TEST_F(FdTransferTest, WithAnInterceptorReadsGoToTheEngineItSees) {
  HALIO_SKIP_IF_UNAVAILABLE(kAsioFd);
  auto file = Open(IoBackend::kAsio, OpenMode::kRead, std::make_shared<PassThrough>());
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(FdTransfer::Route(*file, Chunk(*file, IoOp::kRead, 0, aligned_, 4096)),
            ChunkRoute::kEngine);
}

TEST_F(FdTransferTest, DirectChunksGoToTheEngineOnlyWhenAligned) {
  HALIO_SKIP_IF_UNAVAILABLE(kAsioFd);
  auto file = Open(IoBackend::kAsio, OpenMode::kRead | OpenMode::kDirect);
  ASSERT_NE(file, nullptr);
  if (!file->direct()) GTEST_SKIP() << file->direct_fallback_reason();
  // Unaligned pieces are queued for a worker, so starting a request still
  // only submits.
  EXPECT_TRUE(FdTransfer::SubmitsIoOnly(*file));
  const size_t block = file->direct_offset_alignment();
  ASSERT_LE(block, 4096u);
  ASSERT_EQ(4096 % file->direct_memory_alignment(), 0u);
  EXPECT_EQ(FdTransfer::Route(*file, Chunk(*file, IoOp::kRead, block, aligned_, block)),
            ChunkRoute::kEngine);
  EXPECT_EQ(FdTransfer::Route(*file, Chunk(*file, IoOp::kRead, 1, aligned_, block)),
            ChunkRoute::kWorkerDirect);
  EXPECT_EQ(FdTransfer::Route(*file, Chunk(*file, IoOp::kRead, 0, aligned_, block - 1)),
            ChunkRoute::kWorkerDirect);
}

TEST_F(FdTransferTest, AWorkerReadsItsChunkWithTheSynchronousTransfer) {
  auto file = Open(IoBackend::kSync);
  ASSERT_NE(file, nullptr);
  AsyncRequest request = Chunk(*file, IoOp::kRead, 100, aligned_, 5000);
  Status status;
  EXPECT_FALSE(FdTransfer::RunOnWorker(*file, &request, &status));
  HALIO_EXPECT_OK(status);
  const auto expected = testing::PatternBytes(kFileBytes, 13);
  EXPECT_EQ(std::memcmp(aligned_, expected.data() + 100, 5000), 0);
}

TEST_F(FdTransferTest, AWorkerChunkPastTheEndReportsEndOfFile) {
  auto file = Open(IoBackend::kSync);
  ASSERT_NE(file, nullptr);
  AsyncRequest request = Chunk(*file, IoOp::kRead, kFileBytes - 10, aligned_, 20);
  Status status;
  EXPECT_FALSE(FdTransfer::RunOnWorker(*file, &request, &status));
  EXPECT_THAT(status, StatusIs(StatusCode::kOutOfRange,
                               ::testing::HasSubstr("end of file at offset " +
                                                    std::to_string(kFileBytes))));
}

TEST_F(FdTransferTest, ChunkedWritesRaiseTheLengthOnlyWhenNoted) {
  auto file = Open(IoBackend::kSync);
  ASSERT_NE(file, nullptr);
  std::memset(aligned_, 0x5A, 100);
  AsyncRequest request = Chunk(*file, IoOp::kWrite, kFileBytes, aligned_, 100);
  Status status;
  EXPECT_FALSE(FdTransfer::RunOnWorker(*file, &request, &status));
  HALIO_ASSERT_OK(status);
  EXPECT_EQ(file->length(), kFileBytes);
  FdTransfer::NoteWritten(*file, kFileBytes + 100);
  EXPECT_EQ(file->length(), kFileBytes + 100);
  FdTransfer::NoteWritten(*file, 10);  // never lowers it
  EXPECT_EQ(file->length(), kFileBytes + 100);
}

}  // namespace
}  // namespace halio
