#include "testing/matrix.h"

#if defined(_WIN32)
#include <process.h>
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>

#include "halio/hal/semaphore.h"
#include "testing/status_matchers.h"
#include "testing/temp_file.h"

namespace halio::testing {
namespace {

// Every device this library knows, with its contract for execution errors
// (device.h) and whether the host can map its kDeviceLocal memory
// (buffer.h). A new device must be added here to run in the matrix.
struct DeviceContract {
  const char* name;
  bool runs_inline;
  bool device_local_host_visible;
};
constexpr DeviceContract kDeviceContracts[] = {
    {"local_sync", true, true},
    {"local_async", false, true},
    {"local_discrete", false, false},
    {"cuda", false, false},
};

const DeviceContract* ContractOf(std::string_view device) {
  for (const DeviceContract& contract : kDeviceContracts) {
    if (device == contract.name) return &contract;
  }
  ADD_FAILURE() << "device " << device << " is not in tests/testing/matrix.cc's "
                << "kDeviceContracts: say whether it runs ops inline and whether its "
                << "kDeviceLocal memory is host-visible";
  return nullptr;
}

// Filesystems whose pages are the storage: nothing to drop, nothing for
// O_DIRECT to bypass.
constexpr long kTmpfsMagic = 0x01021994;
constexpr long kRamfsMagic = 0x858458f6;

// Alignment of memory files: 16 bytes past a 64-byte line.
constexpr size_t kMemoryOffset = 16;

#if !defined(_WIN32)
Status ErrnoError(int error, const std::string& what) {
  return InternalError(what + ": " + std::strerror(error) + " (errno " + std::to_string(error) +
                       ")");
}
#endif

// IoEngine::Probe creates and destroys an engine: once per backend is enough.
const Status& ProbeOnce(IoBackend backend) {
  static std::mutex mutex;
  static std::map<IoBackend, Status> probed;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = probed.find(backend);
  if (it == probed.end()) it = probed.emplace(backend, IoEngine::Probe(backend).status).first;
  return it->second;
}

// Why `directory` cannot hold kFdCold/kFdDirect files, or empty.
std::string StorageProblem(const std::filesystem::path& directory) {
#if !defined(_WIN32)
  struct statfs fs {};
  if (::statfs(directory.c_str(), &fs) != 0) {
    return ErrnoError(errno, "statfs " + directory.string()).ToString();
  }
  if (fs.f_type == kTmpfsMagic || fs.f_type == kRamfsMagic) {
    return directory.string() + " is on tmpfs/ramfs: its pages cannot be dropped and O_DIRECT "
           "would not bypass memory";
  }
#endif
  const std::filesystem::path probe =
      directory / ("halio_direct_probe_" + std::to_string(::getpid()));
  {
    std::ofstream out(probe, std::ios::binary | std::ios::trunc);
    out << std::string(4096, 'p');
    if (!out) return "cannot write " + probe.string();
  }
  std::string problem;
  auto file = FdFile::Open(probe.string(), OpenMode::kRead | OpenMode::kDirect);
  if (!file.ok()) {
    problem = file.status().ToString();
  } else if (auto* fd_file = static_cast<FdFile*>(file->get()); !fd_file->direct()) {
    problem = fd_file->direct_fallback_reason();
  }
  std::error_code ignored;
  std::filesystem::remove(probe, ignored);
  return problem;
}

struct Storage {
  std::filesystem::path directory;
  std::string reason;  // why there is none
};

Storage FindStorage() {
  std::error_code error;
  std::vector<std::filesystem::path> candidates;
  const std::filesystem::path temp = std::filesystem::temp_directory_path(error);
  if (!error) candidates.push_back(temp);
#if !defined(_WIN32)
  if (temp != "/var/tmp") candidates.push_back("/var/tmp");
#endif
  Storage storage;
  for (const std::filesystem::path& candidate : candidates) {
    const std::string problem = StorageProblem(candidate);
    if (problem.empty()) return {candidate, ""};
    storage.reason += (storage.reason.empty() ? "" : "; ") + problem;
  }
  storage.reason = "no directory for O_DIRECT and droppable pages: " + storage.reason;
  return storage;
}

std::filesystem::path NewPath(FileKind kind) {
  static std::atomic<int> counter{0};
  const bool on_storage = kind == FileKind::kFdCold || kind == FileKind::kFdDirect;
  const std::filesystem::path directory =
      on_storage ? StorageDirectory() : std::filesystem::temp_directory_path();
  return directory / ("halio_matrix_" + std::to_string(::getpid()) + "_" +
                      std::to_string(counter++));
}

#if !defined(_WIN32)
// Opens `path` read-only for a look from outside halio.
Result<int> OpenForInspection(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "open " + path);
  return fd;
}
#endif

// Windows keeps no per-file page cache a process can drop (halio's
// DropFileCache says so too), so cold files cannot be had there.
constexpr const char* kNoColdFilesOnWindows =
    "Windows cannot drop a file's cached pages (no posix_fadvise DONTNEED): no cold files";

}  // namespace

const char* FileKindName(FileKind kind) {
  switch (kind) {
    case FileKind::kNone: return "none";
    case FileKind::kFd: return "fd";
    case FileKind::kFdCold: return "fd_cold";
    case FileKind::kFdDirect: return "fd_direct";
    case FileKind::kMemory: return "memory";
  }
  return "unknown";
}

bool IsFdKind(FileKind kind) {
  return kind == FileKind::kFd || kind == FileKind::kFdCold || kind == FileKind::kFdDirect;
}

void PrintTo(const MatrixParam& param, std::ostream* os) {
  *os << param.device;
  if (IsFdKind(param.file_kind)) *os << " x " << IoBackendName(param.backend);
  if (param.file_kind != FileKind::kNone) *os << " x " << FileKindName(param.file_kind);
}

std::string MatrixName(const MatrixParam& param) {
  if (param.file_kind == FileKind::kNone) return param.device;
  if (param.file_kind == FileKind::kMemory) return param.device + "_memory";
  return param.device + "_" + IoBackendName(param.backend) + "_" + FileKindName(param.file_kind);
}

std::string MatrixParamName(const ::testing::TestParamInfo<MatrixParam>& info) {
  return MatrixName(info.param);
}

const std::vector<IoBackend>& AllBackends() {
  static const std::vector<IoBackend> backends = {IoBackend::kIoUring, IoBackend::kAsio,
                                                  IoBackend::kSync};
  return backends;
}

std::vector<MatrixParam> Matrix(std::initializer_list<FileKind> kinds,
                                const std::vector<IoBackend>& backends,
                                const std::vector<std::string>& devices) {
  std::vector<MatrixParam> params;
  for (const std::string& device : devices) {
    for (FileKind kind : kinds) {
      if (!IsFdKind(kind)) {
        params.push_back({device, IoBackend::kSync, kind});
        continue;
      }
      for (IoBackend backend : backends) params.push_back({device, backend, kind});
    }
  }
  return params;
}

bool RunsInline(std::string_view device) {
  const DeviceContract* contract = ContractOf(device);
  return contract != nullptr && contract->runs_inline;
}

bool DeviceLocalIsHostVisible(std::string_view device) {
  const DeviceContract* contract = ContractOf(device);
  return contract == nullptr || contract->device_local_host_visible;
}

std::string SkipReason(const MatrixParam& param) {
  if (!IsFdKind(param.file_kind)) return "";
  const Status& probed = ProbeOnce(param.backend);
  if (!probed.ok()) {
    return std::string(IoBackendName(param.backend)) + " cannot run here: " + probed.ToString();
  }
#if defined(_WIN32)
  if (param.file_kind == FileKind::kFdCold) return kNoColdFilesOnWindows;
#endif
  if (param.file_kind == FileKind::kFdCold || param.file_kind == FileKind::kFdDirect) {
    std::string reason;
    if (StorageDirectory(&reason).empty()) return reason;
  }
  return "";
}

std::vector<std::byte> PatternBytes(size_t length, uint32_t seed) {
  std::vector<std::byte> bytes(length);
  uint32_t state = seed * 2654435761u + 1;
  for (size_t i = 0; i < length; ++i) {
    state = state * 1664525u + 1013904223u;
    bytes[i] = static_cast<std::byte>(state >> 24);
  }
  return bytes;
}

// --- files ----------------------------------------------------------------------

std::filesystem::path StorageDirectory(std::string* reason) {
  static const Storage storage = FindStorage();
  if (reason != nullptr) *reason = storage.reason;
  return storage.directory;
}

#if defined(_WIN32)
Status DropCachedPages(const std::string& path) {
  return UnimplementedError(path + ": " + kNoColdFilesOnWindows);
}

Result<uint64_t> CachedPages(const std::string& path, uint64_t) {
  return UnimplementedError(path + ": Windows does not tell which pages of a file are cached");
}

Result<uint64_t> StorageReadBytes() {
  return UnavailableError("Windows has no per-process count of bytes read from storage");
}
#else
Status DropCachedPages(const std::string& path) {
  HALIO_ASSIGN_OR_RETURN(const int fd, OpenForInspection(path));
  Status status;
  // Dirty pages are not dropped: write them back first.
  if (::fdatasync(fd) != 0) {
    status = ErrnoError(errno, "fdatasync " + path);
  } else if (const int error = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); error != 0) {
    status = ErrnoError(error, "posix_fadvise(POSIX_FADV_DONTNEED) " + path);
  }
  ::close(fd);
  return status;
}

Result<uint64_t> CachedPages(const std::string& path, uint64_t length) {
  if (length == 0) return uint64_t{0};
  HALIO_ASSIGN_OR_RETURN(const int fd, OpenForInspection(path));
  void* mapped = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, 0);
  const int map_error = errno;
  ::close(fd);
  if (mapped == MAP_FAILED) return ErrnoError(map_error, "mmap " + path);
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((length + page - 1) / page);
  const int result = ::mincore(mapped, length, resident.data());
  const int mincore_error = errno;
  ::munmap(mapped, length);
  if (result != 0) return ErrnoError(mincore_error, "mincore " + path);
  return static_cast<uint64_t>(
      std::count_if(resident.begin(), resident.end(), [](unsigned char v) { return v & 1; }));
}

Result<uint64_t> StorageReadBytes() {
  std::ifstream io("/proc/self/io");
  std::string key;
  uint64_t value = 0;
  while (io >> key >> value) {
    if (key == "read_bytes:") return value;
  }
  return UnavailableError(
      "no read_bytes in /proc/self/io: this kernel has no per-process I/O accounting "
      "(CONFIG_TASK_IO_ACCOUNTING)");
}
#endif  // _WIN32

TestFiles::TestFiles(FileKind kind, IoBackend backend)
    : kind_(kind), backend_(backend), path_(NewPath(kind)) {}

TestFiles::~TestFiles() {
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

std::byte* TestFiles::MemoryStart() {
  auto address = reinterpret_cast<uintptr_t>(arena_.data());
  size_t to_64 = (64 - address % 64) % 64;
  return arena_.data() + to_64 + kMemoryOffset;
}

const std::byte* TestFiles::MemoryStart() const {
  return const_cast<TestFiles*>(this)->MemoryStart();
}

Result<FileRef> TestFiles::Make(const std::vector<std::byte>& contents, MemoryAccess access) {
  if (kind_ == FileKind::kMemory) {
    arena_.assign(contents.size() + 64 + kMemoryOffset, std::byte{0});
    memory_size_ = contents.size();
    std::copy(contents.begin(), contents.end(), MemoryStart());
    return MemoryFile::Wrap(std::span<std::byte>(MemoryStart(), memory_size_), access);
  }
  {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(contents.data()),
              static_cast<std::streamsize>(contents.size()));
    if (!out) return InternalError("cannot write test file " + path_.string());
  }
  OpenMode mode = OpenMode::kRead;
  if (access == MemoryAccess::kWrite) mode = OpenMode::kWrite;
  if (AllSet(access, MemoryAccess::kReadWrite)) mode = OpenMode::kReadWrite;
  if (kind_ == FileKind::kFdDirect) mode = mode | OpenMode::kDirect;
  FdFileOptions options;
  options.backend = backend_;
  HALIO_ASSIGN_OR_RETURN(FileRef file, FdFile::Open(path_.string(), mode, options));
  if (kind_ == FileKind::kFdDirect) {
    auto* fd_file = static_cast<FdFile*>(file.get());
    if (!fd_file->direct()) {
      return InternalError(path_.string() + " was not granted O_DIRECT although " +
                           path_.parent_path().string() + " grants it: " +
                           fd_file->direct_fallback_reason());
    }
  }
  return file;
}

std::vector<std::byte> TestFiles::Contents() const {
  if (kind_ == FileKind::kMemory) {
    return std::vector<std::byte>(MemoryStart(), MemoryStart() + memory_size_);
  }
  return ReadFileBytes(path_);
}

Status TestFiles::PrepareRead() const {
  if (kind_ != FileKind::kFdCold) return Status();
  return DropCachedPages(path_.string());
}

// --- running ops ----------------------------------------------------------------

Status Await(Semaphore& semaphore, uint64_t value, std::chrono::seconds deadline) {
  return semaphore.Wait(value, Timeout::After(deadline));
}

Status AwaitCause(Semaphore& semaphore, uint64_t value, std::chrono::seconds deadline) {
  Status waited = Await(semaphore, value, deadline);
  if (waited.ok()) return waited;
  Status cause = semaphore.failure_cause();
  return cause.ok() ? waited : cause;
}

Status Outcome(const Status& queued, Semaphore& done, uint64_t value,
               std::chrono::seconds deadline) {
  // Refused before running (validation): the semaphore is untouched.
  if (!queued.ok() && done.failure().ok()) return queued;
  const Status waited = Await(done, value, deadline);
  if (waited.code() == StatusCode::kDeadlineExceeded) return waited;
  const Status cause = done.failure_cause();
  if (waited.ok()) {
    EXPECT_THAT(queued, IsOk()) << "the op signaled success but the queue call failed";
    EXPECT_THAT(cause, IsOk()) << "the op both signaled and failed its semaphore";
    return waited;
  }
  EXPECT_FALSE(cause.ok()) << "the wait failed without a failed semaphore: "
                           << waited.ToString();
  if (!queued.ok()) {
    EXPECT_EQ(queued.code(), cause.code()) << "the call returned " << queued.ToString()
                                           << " but the op delivered " << cause.ToString();
  }
  return cause.ok() ? waited : cause;
}

Status RunRead(Device& device, const FileRef& file, uint64_t offset, const BufferRef& buffer,
               uint64_t length) {
  HALIO_ASSIGN_OR_RETURN(SemaphoreRef done, Semaphore::Create(0));
  SemaphorePoint signal[] = {{done.get(), 1}};
  const Status queued = device.QueueRead({}, signal, file, offset, buffer, 0, length);
  return Outcome(queued, *done);
}

Status RunWrite(Device& device, const BufferRef& buffer, const FileRef& file, uint64_t offset,
                uint64_t length) {
  HALIO_ASSIGN_OR_RETURN(SemaphoreRef done, Semaphore::Create(0));
  SemaphorePoint signal[] = {{done.get(), 1}};
  const Status queued = device.QueueWrite({}, signal, buffer, 0, file, offset, length);
  return Outcome(queued, *done);
}

void ExpectFailsWhileRunning(std::string_view device, const Status& returned, Semaphore& signal,
                             StatusCode code) {
  if (RunsInline(device)) {
    EXPECT_THAT(returned, StatusIs(code))
        << device << " runs ops inline: device.h says the call returns the op's error";
  } else {
    EXPECT_THAT(returned, IsOk())
        << device << " queues ops: device.h says the call returns OK once queued";
  }
  EXPECT_THAT(AwaitCause(signal, 1), StatusIs(code))
      << "the signal semaphore must be failed with the op's error";
}

// --- the fixture ------------------------------------------------------------------

void MatrixTest::SetUp() {
  HALIO_SKIP_IF_UNAVAILABLE(GetParam());
  HALIO_ASSERT_OK_AND_ASSIGN(device_, CreateDevice(GetParam().device));
}

FdFileOptions MatrixTest::FileOptions() const {
  FdFileOptions options;
  options.backend = GetParam().backend;
  return options;
}

}  // namespace halio::testing
