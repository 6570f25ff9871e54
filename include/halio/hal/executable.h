// Host executables: a table of C++ kernels that queue_dispatch and command
// buffers call once per workgroup.
//
// A kernel sees its workgroup id and count, the push constants and the mapped
// bindings. InlineDispatch is the one implementation of "map the bindings,
// run every workgroup, unmap" that every device shares.
//
// Ownership: executables are shared (std::shared_ptr) and immutable after
// creation; kernels may be called from several threads at once, so they must
// not mutate shared state without their own synchronization.
#ifndef HALIO_HAL_EXECUTABLE_H_
#define HALIO_HAL_EXECUTABLE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "halio/hal/buffer.h"
#include "halio/host_allocator.h"
#include "halio/status.h"

namespace halio {

using WorkgroupCount = std::array<uint32_t, 3>;

// A range of a buffer bound to a dispatch.
struct BufferBinding {
  BufferRef buffer;
  uint64_t offset = 0;
  uint64_t length = kWholeBuffer;
};

// What a kernel sees for one workgroup.
struct DispatchState {
  std::array<uint32_t, 3> workgroup_id{};
  WorkgroupCount workgroup_count{};
  std::span<const uint32_t> push_constants;
  std::span<const std::span<std::byte>> bindings;
};

// Returns OK or an error that fails the dispatch (later workgroups are skipped).
using HostKernel = std::function<Status(const DispatchState& state)>;

// Dispatches map at most this many bindings: they live on the stack, so a
// dispatch allocates nothing.
inline constexpr size_t kMaxDispatchBindings = 32;

class HostExecutable;
using ExecutableRef = std::shared_ptr<HostExecutable>;

class HostExecutable {
 public:
  struct EntryPoint {
    std::string name;
    HostKernel kernel;
  };
  // The executable object is allocated from `host` (which must outlive it);
  // the table is moved in. Errors: INVALID_ARGUMENT for an empty table or an
  // entry without a kernel, RESOURCE_EXHAUSTED.
  static Result<ExecutableRef> Create(std::vector<EntryPoint> entry_points,
                                      HostAllocator& host = HostAllocator::System());

  explicit HostExecutable(std::vector<EntryPoint> entry_points)
      : entry_points_(std::move(entry_points)) {}

  size_t entry_point_count() const { return entry_points_.size(); }
  const EntryPoint& entry_point(size_t i) const { return entry_points_[i]; }

  // Checks the entry point index, binding count and binding ranges/access
  // (read+write) without running anything. Errors: INVALID_ARGUMENT,
  // OUT_OF_RANGE, PERMISSION_DENIED, UNIMPLEMENTED for a buffer in device
  // memory the host cannot map (a discrete device's).
  Status ValidateDispatch(uint32_t entry_point, WorkgroupCount workgroup_count,
                          std::span<const BufferBinding> bindings) const;

 private:
  std::vector<EntryPoint> entry_points_;
};

// Maps every binding read+write, calls the kernel for each workgroup in
// x-fastest order, and unmaps. Returns the first kernel error annotated with
// the entry point and workgroup id. A zero count in any dimension runs
// nothing. Allocates nothing.
Status InlineDispatch(const HostExecutable& executable, uint32_t entry_point,
                      WorkgroupCount workgroup_count,
                      std::span<const uint32_t> push_constants,
                      std::span<const BufferBinding> bindings);

}  // namespace halio

#endif  // HALIO_HAL_EXECUTABLE_H_
