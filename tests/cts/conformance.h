// The conformance suite's fixtures: written once, run against the shared
// matrix (tests/testing/matrix.h). A device or backend that cannot run a case
// skips it with the reason.
//
//   QueueTest       cases without a file: every device.
//   FileTest        file cases: every device x backend x {fd, fd_cold,
//                   fd_direct} and every device x memory.
//   FdFileTest      fd kinds only; MemoryFileTest memory only;
//                   ColdFileTest fd_cold only (so nothing is reported as
//                   skipped for the other kinds).
//
// The topics live in file_io_test.cc, validation_test.cc, transfer_test.cc,
// semaphore_order_test.cc and dispatch_test.cc; the instantiations in
// conformance.cc.
#ifndef HALIO_TESTS_CTS_CONFORMANCE_H_
#define HALIO_TESTS_CTS_CONFORMANCE_H_

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "halio/drivers.h"
#include "halio/file.h"
#include "halio/hal/device.h"
#include "testing/device_buffers.h"
#include "testing/matrix.h"

namespace halio::cts {

using testing::Await;
using testing::FileKind;
using testing::PatternBytes;

// Buffers: NewBuffer/NewBufferWith allocate the device's own memory
// (MemoryType::kDeviceLocal): device memory the host cannot map on
// local_discrete, so the ops under test run on it there; NewHostBuffer*
// allocate kHost memory (host <-> device copies, dispatch). Bytes reads any
// of them back (testing/device_buffers.h: mapped, or through queue_copy).
class QueueTest : public testing::MatrixTest {
 protected:
  BufferRef NewBuffer(uint64_t length, std::byte fill = std::byte{0xCD});
  BufferRef NewBufferWith(const std::vector<std::byte>& bytes);
  BufferRef NewHostBuffer(uint64_t length, std::byte fill = std::byte{0xCD});
  BufferRef NewHostBufferWith(const std::vector<std::byte>& bytes);
  // A buffer of `params` holding `bytes`; null (and a test failure) when it
  // cannot be made.
  BufferRef NewBufferOf(const BufferParams& params, const std::vector<std::byte>& bytes);
  std::vector<std::byte> Bytes(const BufferRef& buffer);
  static SemaphoreRef NewSemaphore(uint64_t initial = 0) { return *Semaphore::Create(initial); }
  static uint64_t ValueOf(const SemaphoreRef& semaphore);

  // device.h's contract for an op that fails while it runs (see
  // testing::ExpectFailsWhileRunning), for this case's device.
  void ExpectFailsWhileRunning(const Status& returned, const SemaphoreRef& signal,
                               StatusCode code) const {
    testing::ExpectFailsWhileRunning(GetParam().device, returned, *signal, code);
  }
};

class FileTest : public QueueTest {
 protected:
  void TearDown() override;

  FileRef MakeFile(const std::vector<std::byte>& contents,
                   MemoryAccess access = MemoryAccess::kRead);

  // device_->QueueRead, preceded by what the file kind needs before a read:
  // an fd_cold file's pages are dropped once `wait` is reached, so the read
  // finds none cached. When `wait` is not reached yet (a read chained after
  // a queued write), a helper thread waits for it, drops the pages and then
  // opens a gate semaphore the read waits on instead.
  Status QueueFileRead(SemaphoreList wait, SemaphoreList signal, const FileRef& file,
                       uint64_t file_offset, const BufferRef& buffer, uint64_t buffer_offset,
                       uint64_t length);

  // queue_write of `source` [0, length) to the file at `file_offset`, then,
  // chained by a semaphore, QueueFileRead of it back into `target` [0,
  // length); waits for both.
  Status WriteThenRead(const BufferRef& source, const FileRef& file, uint64_t file_offset,
                       const BufferRef& target, uint64_t length);

  testing::TestFiles files_{GetParam().file_kind, GetParam().backend};

 private:
  std::vector<std::thread> page_droppers_;
};

class FdFileTest : public FileTest {};
class MemoryFileTest : public FileTest {};
class ColdFileTest : public FileTest {};

}  // namespace halio::cts

#endif  // HALIO_TESTS_CTS_CONFORMANCE_H_
