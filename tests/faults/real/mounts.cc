#include "faults/real/mounts.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace halio::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string ErrnoText(int error_number) {
  return std::string(std::strerror(error_number)) + " (errno " + std::to_string(error_number) +
         ")";
}

// True when `path` is the root of a mount (its device differs from its
// parent's), or cannot be stat'ed (a dead FUSE mount: ENOTCONN).
bool IsMountPoint(const std::string& path) {
  struct stat self {}, parent {};
  if (::stat(path.c_str(), &self) != 0) return errno != ENOENT;
  const std::string up = std::filesystem::path(path).parent_path().string();
  if (::stat(up.c_str(), &parent) != 0) return true;
  return self.st_dev != parent.st_dev;
}

// Waits for `pid` until `deadline`; true once it has been reaped.
bool ReapBefore(pid_t pid, Clock::time_point deadline) {
  while (true) {
    int status = 0;
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno == ECHILD)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
}

// Runs argv[0] (searched in PATH) with a deadline; returns its exit status,
// or -1 if it could not run or had to be killed.
int RunCommand(std::vector<std::string> args, milliseconds timeout) {
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  const Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    if (Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
}

}  // namespace

// --- ScratchDir -----------------------------------------------------------------

Result<std::unique_ptr<ScratchDir>> ScratchDir::Create(const std::string& prefix) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / (prefix + "_XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return UnavailableError("mkdtemp " + pattern + ": " + ErrnoText(errno));
  }
  return std::unique_ptr<ScratchDir>(new ScratchDir(pattern));
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator(path_, ignored)) {
    // Never recurse into a mount that is still there: its files are not ours
    // to delete, and a dead FUSE mount fails every access anyway.
    if (IsMountPoint(entry.path().string())) return;
  }
  std::filesystem::remove_all(path_, ignored);
}

Status UnmountDetached(const std::string& path) {
  if (::umount2(path.c_str(), MNT_DETACH) == 0) return Status();
  const int error_number = errno;
  if (error_number != EPERM) {
    return UnknownError("umount2 " + path + ": " + ErrnoText(error_number));
  }
  // Not root: FUSE mounts belong to their user, who may drop them.
  if (RunCommand({"fusermount3", "-u", "-z", path}, milliseconds(10000)) != 0) {
    return UnknownError("fusermount3 -u -z " + path + " failed");
  }
  return Status();
}

// --- TmpfsMount -----------------------------------------------------------------

Result<std::unique_ptr<TmpfsMount>> TmpfsMount::Create(uint64_t size_bytes) {
  if (::geteuid() != 0) return UnavailableError("mounting tmpfs needs root");
  HALIO_ASSIGN_OR_RETURN(std::unique_ptr<ScratchDir> dir, ScratchDir::Create("halio_tmpfs"));
  const std::string options = "size=" + std::to_string(size_bytes) + ",mode=0700";
  if (::mount("halio_test", dir->path().c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
              options.c_str()) != 0) {
    return UnavailableError("mount -t tmpfs -o " + options + " " + dir->path() + ": " +
                            ErrnoText(errno));
  }
  return std::unique_ptr<TmpfsMount>(new TmpfsMount(std::move(dir)));
}

TmpfsMount::~TmpfsMount() { UnmountDetached(path()).IgnoreError(); }

// --- FuseMount ------------------------------------------------------------------

Result<std::unique_ptr<FuseMount>> FuseMount::Start(const std::string& server,
                                                    milliseconds timeout) {
  if (::access("/dev/fuse", R_OK | W_OK) != 0) {
    return UnavailableError("/dev/fuse: " + ErrnoText(errno));
  }
  if (::access(server.c_str(), X_OK) != 0) {
    return UnavailableError("FUSE server " + server + ": " + ErrnoText(errno));
  }
  HALIO_ASSIGN_OR_RETURN(std::unique_ptr<ScratchDir> dir, ScratchDir::Create("halio_fuse"));
  const std::string mount_point = dir->path() + "/mnt";
  if (::mkdir(mount_point.c_str(), 0700) != 0) {
    return UnavailableError("mkdir " + mount_point + ": " + ErrnoText(errno));
  }
  std::unique_ptr<FuseMount> mount(new FuseMount(std::move(dir), mount_point));
  HALIO_RETURN_IF_ERROR(mount->Spawn(server));
  HALIO_RETURN_IF_ERROR(mount->WaitForMount(timeout));
  mount->watchdog_ = std::thread([raw = mount.get()] { raw->WatchdogLoop(); });
  return mount;
}

Status FuseMount::Spawn(const std::string& server) {
  // Everything the child needs is built before fork: after it, only
  // async-signal-safe calls.
  std::vector<std::string> args = {server, mount_point_, "-f", "-s", "-o", "auto_unmount"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const std::string log = dir_->path() + "/server.log";
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return UnavailableError("fork: " + ErrnoText(errno));
  if (pid == 0) {
    // Die with the test: a crashed test must not leave a server (and, with
    // auto_unmount, a mount) behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  return Status();
}

Status FuseMount::WaitForMount(milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  const std::string probe = PathOf("healthy.bin");
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return UnavailableError("the FUSE server exited before mounting: " + ServerOutput());
    }
    struct stat st {};
    if (::stat(probe.c_str(), &st) == 0) return Status();
    std::this_thread::sleep_for(milliseconds(10));
  }
  return UnavailableError("the FUSE server did not mount " + mount_point_ + " within " +
                          std::to_string(timeout.count()) + " ms: " + ServerOutput());
}

std::string FuseMount::ServerOutput() const {
  std::ifstream in(dir_->path() + "/server.log");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.empty() ? "(no output)" : text;
}

void FuseMount::KillServer() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
}

FuseMount::~FuseMount() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  if (IsMountPoint(mount_point_)) UnmountDetached(mount_point_).IgnoreError();
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    if (!ReapBefore(pid_, Clock::now() + milliseconds(5000))) {
      ::kill(pid_, SIGKILL);
      ReapBefore(pid_, Clock::now() + milliseconds(5000));
    }
  }
}

void FuseMount::Arm(milliseconds limit) {
  std::lock_guard<std::mutex> lock(mutex_);
  deadline_ = Clock::now() + limit;
  changed_.notify_all();
}

bool FuseMount::Disarm() {
  std::lock_guard<std::mutex> lock(mutex_);
  deadline_ = Clock::time_point::max();
  changed_.notify_all();
  return fired_;
}

void FuseMount::WatchdogLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (deadline_ == Clock::time_point::max()) {
      changed_.wait(lock);
    } else if (changed_.wait_until(lock, deadline_) == std::cv_status::timeout &&
               Clock::now() >= deadline_) {
      // A read stuck in the server: killing it aborts the connection, so
      // the kernel fails the pending requests and the test can finish.
      fired_ = true;
      deadline_ = Clock::time_point::max();
      KillServer();
    }
  }
}

}  // namespace halio::testing
