// fault_fs: a read-only FUSE filesystem serving the files of
// fault_fs_layout.h, each with deterministic bytes and a fault: short reads,
// slow reads, or EIO over a byte range. The real-fault tests mount it.
//
//   fault_fs MOUNTPOINT -f -s [-o auto_unmount]
//
// libfuse's high-level API; meant to run single-threaded (-s) in the
// foreground (-f) as the test's child. Faulty files are opened with direct_io:
// without it the kernel reads through the page cache in its own request sizes
// and a short reply would look like end of file, and errors would surface
// per page instead of per read call.
#define FUSE_USE_VERSION 31

#include <fuse.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "faults/real/fault_fs_layout.h"

namespace halio::faultfs {
namespace {

const FileSpec* SpecForPath(const char* path) {
  if (path[0] != '/') return nullptr;
  return FindFile(path + 1);
}

int GetAttr(const char* path, struct stat* st, struct fuse_file_info*) {
  std::memset(st, 0, sizeof(*st));
  if (std::strcmp(path, "/") == 0) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    return 0;
  }
  const FileSpec* spec = SpecForPath(path);
  if (spec == nullptr) return -ENOENT;
  st->st_mode = S_IFREG | 0444;
  st->st_nlink = 1;
  st->st_size = static_cast<off_t>(FileSize(*spec));
  return 0;
}

int ReadDir(const char* path, void* buffer, fuse_fill_dir_t fill, off_t, struct fuse_file_info*,
            enum fuse_readdir_flags) {
  if (std::strcmp(path, "/") != 0) return -ENOENT;
  fill(buffer, ".", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  fill(buffer, "..", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  for (const FileSpec& spec : kFiles) {
    fill(buffer, spec.name, nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  }
  return 0;
}

int Open(const char* path, struct fuse_file_info* info) {
  const FileSpec* spec = SpecForPath(path);
  if (spec == nullptr) return -ENOENT;
  if ((info->flags & O_ACCMODE) != O_RDONLY) return -EACCES;
  info->direct_io = spec->behavior != Behavior::kHealthy;
  info->keep_cache = spec->behavior == Behavior::kHealthy;
  return 0;
}

bool Overlaps(uint64_t offset, uint64_t length, Range range) {
  return offset < range.end && range.begin < offset + length;
}

int Read(const char* path, char* out, size_t size, off_t offset, struct fuse_file_info*) {
  const FileSpec* spec = SpecForPath(path);
  if (spec == nullptr) return -ENOENT;
  const uint64_t file_size = FileSize(*spec);
  const uint64_t begin = static_cast<uint64_t>(offset);
  if (begin >= file_size) return 0;
  uint64_t length = std::min<uint64_t>(size, file_size - begin);
  switch (spec->behavior) {
    case Behavior::kHealthy: break;
    case Behavior::kShort: length = std::min<uint64_t>(length, kShortReadBytes); break;
    case Behavior::kSlow:
      std::this_thread::sleep_for(std::chrono::milliseconds(kSlowReadMillis));
      break;
    case Behavior::kEio:
      if (Overlaps(begin, length, EioRange(*spec))) return -EIO;
      break;
  }
  FillBytes(*spec, begin, reinterpret_cast<uint8_t*>(out), static_cast<size_t>(length));
  return static_cast<int>(length);
}

struct fuse_operations MakeOperations() {
  struct fuse_operations operations {};
  operations.getattr = &GetAttr;
  operations.readdir = &ReadDir;
  operations.open = &Open;
  operations.read = &Read;
  return operations;
}

}  // namespace
}  // namespace halio::faultfs

int main(int argc, char** argv) {
  static const struct fuse_operations operations = halio::faultfs::MakeOperations();
  return fuse_main(argc, argv, &operations, nullptr);
}
