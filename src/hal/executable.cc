#include "halio/hal/executable.h"

#include <array>
#include <new>
#include <string>

#include "host_new.h"

namespace halio {

Result<ExecutableRef> HostExecutable::Create(std::vector<EntryPoint> entry_points,
                                             HostAllocator& host) {
  if (entry_points.empty()) {
    return InvalidArgumentError("an executable needs at least one entry point");
  }
  for (size_t i = 0; i < entry_points.size(); ++i) {
    if (!entry_points[i].kernel) {
      return InvalidArgumentError("entry point " + std::to_string(i) + " ('" +
                                  entry_points[i].name + "') has no kernel");
    }
  }
  return HostMakeShared<HostExecutable>(host, "an executable", std::move(entry_points));
}

Status HostExecutable::ValidateDispatch(uint32_t entry_point, WorkgroupCount,
                                        std::span<const BufferBinding> bindings) const {
  if (entry_point >= entry_points_.size()) {
    return InvalidArgumentError("entry point " + std::to_string(entry_point) +
                                " does not exist; the executable has " +
                                std::to_string(entry_points_.size()));
  }
  if (bindings.size() > kMaxDispatchBindings) {
    return InvalidArgumentError("a dispatch takes at most " +
                                std::to_string(kMaxDispatchBindings) + " bindings, not " +
                                std::to_string(bindings.size()));
  }
  for (size_t i = 0; i < bindings.size(); ++i) {
    const BufferBinding& binding = bindings[i];
    if (!binding.buffer) {
      return InvalidArgumentError("binding " + std::to_string(i) + " has no buffer");
    }
    Status status = binding.buffer->Validate(MemoryAccess::kReadWrite, binding.offset,
                                             binding.length);
    if (!status.ok()) return status.Annotate("binding " + std::to_string(i));
    if (!binding.buffer->host_visible()) {
      return UnimplementedError(
          "binding " + std::to_string(i) + " is a " + binding.buffer->Describe() +
          ": host executables (C++ kernels) run on memory the host can map only; bind "
          "buffers allocated with MemoryType::kHost, copying the data there with queue_copy");
    }
  }
  return Status();
}

Status InlineDispatch(const HostExecutable& executable, uint32_t entry_point,
                      WorkgroupCount workgroup_count,
                      std::span<const uint32_t> push_constants,
                      std::span<const BufferBinding> bindings) {
  HALIO_RETURN_IF_ERROR(executable.ValidateDispatch(entry_point, workgroup_count, bindings));
  std::array<std::span<std::byte>, kMaxDispatchBindings> mapped;
  for (size_t i = 0; i < bindings.size(); ++i) {
    HALIO_ASSIGN_OR_RETURN(mapped[i], bindings[i].buffer->MapUnretained(
                                          MemoryAccess::kReadWrite, bindings[i].offset,
                                          bindings[i].length));
  }
  const HostKernel& kernel = executable.entry_point(entry_point).kernel;
  DispatchState state;
  state.workgroup_count = workgroup_count;
  state.push_constants = push_constants;
  state.bindings = std::span<const std::span<std::byte>>(mapped.data(), bindings.size());
  for (uint32_t z = 0; z < workgroup_count[2]; ++z) {
    for (uint32_t y = 0; y < workgroup_count[1]; ++y) {
      for (uint32_t x = 0; x < workgroup_count[0]; ++x) {
        state.workgroup_id = {x, y, z};
        Status status = kernel(state);
        if (!status.ok()) [[unlikely]] {
          return status.Annotate("dispatch of '" + executable.entry_point(entry_point).name +
                                 "' workgroup (" + std::to_string(x) + "," +
                                 std::to_string(y) + "," + std::to_string(z) + ")");
        }
      }
    }
  }
  // Host memory needs no unmap; the spans simply go out of scope here.
  return Status();
}

}  // namespace halio
