// A named pipe (FIFO) with nobody at either end, for checking that opening
// it is refused at once rather than blocking, and a bounded way to run such
// an open so a regression fails the test instead of hanging it. On Windows,
// a named pipe server (\\.\pipe\...) nobody has connected to.
#ifndef HALIO_TESTS_TESTING_FIFO_H_
#define HALIO_TESTS_TESTING_FIFO_H_

#if defined(_WIN32)
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <string>

#include "testing/temp_file.h"

namespace halio::testing {

#if defined(_WIN32)
class TempFifo {
 public:
  TempFifo() {
    static std::atomic<int> counter{0};
    path_ = "\\\\.\\pipe\\halio_test_" + std::to_string(::GetCurrentProcessId()) + "_" +
            std::to_string(counter++);
    pipe_ = ::CreateNamedPipeA(path_.c_str(), PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                               PIPE_TYPE_BYTE, 1, 4096, 4096, 0, nullptr);
    EXPECT_NE(pipe_, INVALID_HANDLE_VALUE) << path_ << ": error " << ::GetLastError();
  }
  ~TempFifo() {
    if (pipe_ != INVALID_HANDLE_VALUE) ::CloseHandle(pipe_);
  }
  TempFifo(const TempFifo&) = delete;
  TempFifo& operator=(const TempFifo&) = delete;
  std::string path() const { return path_; }

  // Runs `open()` on a thread; fails the test if it has not returned within
  // `limit` (a pipe's open does not block on Windows: nothing to release).
  template <typename Open>
  auto OpenWithin(Open open, std::chrono::seconds limit = std::chrono::seconds(5)) const {
    auto opened = std::async(std::launch::async, open);
    if (opened.wait_for(limit) == std::future_status::timeout) {
      ADD_FAILURE() << "opening the pipe " << path() << " blocked for " << limit.count() << " s";
    }
    return opened.get();
  }

 private:
  std::string path_;
  HANDLE pipe_ = INVALID_HANDLE_VALUE;
};
#else
class TempFifo {
 public:
  TempFifo() { EXPECT_EQ(::mkfifo(path().c_str(), 0600), 0) << path(); }
  std::string path() const { return name_.path(); }

  // Runs `open()` (which opens this FIFO) on a thread and returns its result.
  // If it has not returned within `limit`, opens both ends without blocking,
  // which releases an open blocked for reading or writing, and fails the test.
  template <typename Open>
  auto OpenWithin(Open open, std::chrono::seconds limit = std::chrono::seconds(5)) const {
    auto opened = std::async(std::launch::async, open);
    if (opened.wait_for(limit) == std::future_status::timeout) {
      ADD_FAILURE() << "opening the FIFO " << path() << " blocked for " << limit.count() << " s";
      const int reader = ::open(path().c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      const int writer = ::open(path().c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      auto result = opened.get();
      if (writer >= 0) ::close(writer);
      if (reader >= 0) ::close(reader);
      return result;
    }
    return opened.get();
  }

 private:
  TempFile name_;  // only its unique name; removed on destruction
};

#endif  // _WIN32

}  // namespace halio::testing

#endif  // HALIO_TESTS_TESTING_FIFO_H_
