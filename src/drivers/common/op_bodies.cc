#include "common/op_bodies.h"

namespace halio {

Status ReadFileInline(File& source, uint64_t source_offset, Buffer& target,
                      uint64_t target_offset, uint64_t length) {
  if (length == 0) return Status();
  // Memory files: a plain buffer copy, no file-interface detour.
  if (const BufferRef& storage = source.storage_buffer()) {
    return CopyInline(*storage, source_offset, target, target_offset, length);
  }
  return source.Read(source_offset, target, target_offset, length);
}

}  // namespace halio
