// Real filesystems for fault tests: a size-limited tmpfs and the fault_fs
// FUSE server, each mounted on a fresh directory and always unmounted.
//
// Both report why they cannot mount (not root, mount refused, no /dev/fuse,
// the server exited) as UNAVAILABLE, so tests skip with the reason. Nothing
// here can hang a test: the FUSE server is waited for with a deadline, dies
// with the test process (PR_SET_PDEATHSIG), unmounts itself if it dies
// (auto_unmount), and a watchdog kills it when a test overruns, which fails
// the kernel's pending requests (ENOTCONN) instead of blocking forever.
#ifndef HALIO_TESTS_FAULTS_REAL_MOUNTS_H_
#define HALIO_TESTS_FAULTS_REAL_MOUNTS_H_

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "halio/status.h"

namespace halio::testing {

// A fresh directory under the temp dir; removed (with its files) on
// destruction unless something is still mounted on it.
class ScratchDir {
 public:
  static Result<std::unique_ptr<ScratchDir>> Create(const std::string& prefix);
  ~ScratchDir();
  const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Lazily unmounts `path` (umount2 MNT_DETACH, or fusermount3 -uz when not
// root). Errors: the mapped errno, or UNKNOWN when fusermount3 fails.
Status UnmountDetached(const std::string& path);

// tmpfs of `size_bytes` (rounded up to pages by the kernel).
class TmpfsMount {
 public:
  // Errors: UNAVAILABLE naming why (not root, mount(2) refused).
  static Result<std::unique_ptr<TmpfsMount>> Create(uint64_t size_bytes);
  ~TmpfsMount();
  const std::string& path() const { return dir_->path(); }

 private:
  explicit TmpfsMount(std::unique_ptr<ScratchDir> dir) : dir_(std::move(dir)) {}
  std::unique_ptr<ScratchDir> dir_;
};

// fault_fs running in a child process, mounted on <scratch>/mnt.
class FuseMount {
 public:
  // Starts `server` and waits up to `timeout` for its files to appear.
  // Errors: UNAVAILABLE with the reason (no /dev/fuse, the server exited,
  // with its output, or never mounted).
  static Result<std::unique_ptr<FuseMount>> Start(const std::string& server,
                                                  std::chrono::milliseconds timeout);
  ~FuseMount();

  std::string PathOf(const std::string& name) const { return mount_point_ + "/" + name; }

  // The watchdog: unless Disarm() comes first, kills the server after
  // `limit`. Disarm returns true if it fired (the test overran).
  void Arm(std::chrono::milliseconds limit);
  bool Disarm();

 private:
  FuseMount(std::unique_ptr<ScratchDir> dir, std::string mount_point)
      : dir_(std::move(dir)), mount_point_(std::move(mount_point)) {}
  Status Spawn(const std::string& server);
  Status WaitForMount(std::chrono::milliseconds timeout);
  std::string ServerOutput() const;
  void KillServer();
  void WatchdogLoop();

  std::unique_ptr<ScratchDir> dir_;
  std::string mount_point_;
  pid_t pid_ = -1;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  bool fired_ = false;
  bool stopping_ = false;
  std::thread watchdog_;
};

}  // namespace halio::testing

#endif  // HALIO_TESTS_FAULTS_REAL_MOUNTS_H_
