// The C host executables (C kernels behind halio's HostKernel), queue_dispatch,
// command buffers and queue_execute.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "halio/hal/executable.h"
#include "capi_internal.h"

namespace halio::capi {
namespace {

// A C kernel as a HostKernel: the bindings' mapped bytes handed over as
// arrays of pointers and lengths on the stack (dispatches map at most
// kMaxDispatchBindings, so nothing is allocated per workgroup).
HostKernel WrapKernel(halio_kernel_fn_t kernel, void* user_data) {
  return [kernel, user_data](const DispatchState& state) -> Status {
    std::array<void*, kMaxDispatchBindings> data{};
    std::array<size_t, kMaxDispatchBindings> lengths{};
    const size_t count = state.bindings.size();
    for (size_t i = 0; i < count && i < kMaxDispatchBindings; ++i) {
      data[i] = state.bindings[i].data();
      lengths[i] = state.bindings[i].size();
    }
    const halio_dispatch_state_t c_state{
        {state.workgroup_id[0], state.workgroup_id[1], state.workgroup_id[2]},
        {state.workgroup_count[0], state.workgroup_count[1], state.workgroup_count[2]},
        state.push_constants.data(),
        state.push_constants.size(),
        data.data(),
        lengths.data(),
        count};
    return FromC(kernel(user_data, &c_state));
  };
}

// The arguments of a dispatch (queued or recorded), checked for NULLs; the
// executable and the bindings' own checks are the C++ call's.
struct DispatchArgs {
  ExecutableRef executable;
  WorkgroupCount workgroup_count;
  std::span<const uint32_t> push_constants;
  std::vector<BufferBinding> bindings;
};

Result<DispatchArgs> ToDispatchArgs(const char* api, halio_executable_t* executable,
                                    const uint32_t workgroup_count[3],
                                    const uint32_t* push_constants, size_t push_constant_count,
                                    const halio_buffer_binding_t* bindings,
                                    size_t binding_count) {
  HALIO_RETURN_IF_ERROR(Required(api, executable, "executable"));
  HALIO_RETURN_IF_ERROR(Required(api, workgroup_count, "workgroup_count"));
  if (push_constant_count > 0) {
    HALIO_RETURN_IF_ERROR(Required(api, push_constants, "push_constants"));
  }
  if (binding_count > 0) HALIO_RETURN_IF_ERROR(Required(api, bindings, "bindings"));
  DispatchArgs args{executable->executable,
                    {workgroup_count[0], workgroup_count[1], workgroup_count[2]},
                    {push_constants, push_constant_count},
                    {}};
  args.bindings.reserve(binding_count);
  for (size_t i = 0; i < binding_count; ++i) {
    if (bindings[i].buffer == nullptr) {
      return InvalidArgumentError(std::string(api) + ": bindings[" + std::to_string(i) +
                                  "].buffer is NULL");
    }
    args.bindings.push_back({bindings[i].buffer->buffer, bindings[i].offset, bindings[i].length});
  }
  return args;
}

}  // namespace

}  // namespace halio::capi

using namespace halio;        // NOLINT: the C functions below are thin shims
using namespace halio::capi;  // NOLINT

extern "C" {

halio_status_t halio_executable_create(const halio_entry_point_t* entry_points, size_t count,
                                       halio_executable_t** out_executable) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, out_executable, "out_executable"));
    if (count > 0) HALIO_RETURN_IF_ERROR(Required(api, entry_points, "entry_points"));
    std::vector<HostExecutable::EntryPoint> table;
    table.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      const halio_entry_point_t& entry = entry_points[i];
      // A null kernel stays empty, so HostExecutable::Create names it.
      table.push_back({entry.name != nullptr ? entry.name : "",
                       entry.kernel != nullptr ? WrapKernel(entry.kernel, entry.user_data)
                                               : HostKernel()});
    }
    HALIO_ASSIGN_OR_RETURN(ExecutableRef executable, HostExecutable::Create(std::move(table)));
    *out_executable = NewHandle<halio_executable_t>(std::move(executable));
    return Status();
  });
}

void halio_executable_free(halio_executable_t* executable) { delete executable; }

halio_status_t halio_queue_dispatch(halio_device_t* device, halio_semaphore_list_t wait,
                                    halio_semaphore_list_t signal,
                                    halio_executable_t* executable, uint32_t entry_point,
                                    const uint32_t workgroup_count[3],
                                    const uint32_t* push_constants, size_t push_constant_count,
                                    const halio_buffer_binding_t* bindings,
                                    size_t binding_count) {
  return QueueCall(__func__, device, wait, signal,
                   [&](const char* api, Device& queue, SemaphoreList waits,
                       SemaphoreList signals) -> Status {
    HALIO_ASSIGN_OR_RETURN(DispatchArgs args,
                           ToDispatchArgs(api, executable, workgroup_count, push_constants,
                                          push_constant_count, bindings, binding_count));
    return queue.QueueDispatch(waits, signals,
                                         args.executable, entry_point, args.workgroup_count,
                                         args.push_constants, args.bindings);
  });
}

halio_status_t halio_command_buffer_create(halio_command_buffer_t** out) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, out, "out"));
    HALIO_ASSIGN_OR_RETURN(CommandBufferRef command_buffer, CommandBuffer::Create());
    *out = NewHandle<halio_command_buffer_t>(std::move(command_buffer));
    return Status();
  });
}

void halio_command_buffer_free(halio_command_buffer_t* command_buffer) { delete command_buffer; }

halio_status_t halio_command_buffer_fill(halio_command_buffer_t* command_buffer,
                                         halio_buffer_t* target, uint64_t offset,
                                         uint64_t length, uint32_t pattern,
                                         uint32_t pattern_length) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, command_buffer, "command_buffer"));
    HALIO_RETURN_IF_ERROR(Required(api, target, "target"));
    return command_buffer->command_buffer->Fill(target->buffer, offset, length, pattern,
                                                pattern_length);
  });
}

halio_status_t halio_command_buffer_update(halio_command_buffer_t* command_buffer,
                                           const void* data, size_t length,
                                           halio_buffer_t* target, uint64_t target_offset) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, command_buffer, "command_buffer"));
    HALIO_RETURN_IF_ERROR(Required(api, target, "target"));
    if (length > 0) HALIO_RETURN_IF_ERROR(Required(api, data, "data"));
    return command_buffer->command_buffer->Update({static_cast<const std::byte*>(data), length},
                                                  target->buffer, target_offset);
  });
}

halio_status_t halio_command_buffer_copy(halio_command_buffer_t* command_buffer,
                                         halio_buffer_t* source, uint64_t source_offset,
                                         halio_buffer_t* target, uint64_t target_offset,
                                         uint64_t length) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, command_buffer, "command_buffer"));
    HALIO_RETURN_IF_ERROR(Required(api, source, "source"));
    HALIO_RETURN_IF_ERROR(Required(api, target, "target"));
    return command_buffer->command_buffer->Copy(source->buffer, source_offset, target->buffer,
                                                target_offset, length);
  });
}

halio_status_t halio_command_buffer_dispatch(halio_command_buffer_t* command_buffer,
                                             halio_executable_t* executable,
                                             uint32_t entry_point,
                                             const uint32_t workgroup_count[3],
                                             const uint32_t* push_constants,
                                             size_t push_constant_count,
                                             const halio_buffer_binding_t* bindings,
                                             size_t binding_count) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, command_buffer, "command_buffer"));
    HALIO_ASSIGN_OR_RETURN(DispatchArgs args,
                           ToDispatchArgs(api, executable, workgroup_count, push_constants,
                                          push_constant_count, bindings, binding_count));
    return command_buffer->command_buffer->Dispatch(args.executable, entry_point,
                                                    args.workgroup_count, args.push_constants,
                                                    args.bindings);
  });
}

halio_status_t halio_command_buffer_finalize(halio_command_buffer_t* command_buffer) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, command_buffer, "command_buffer"));
    return command_buffer->command_buffer->Finalize();
  });
}

halio_status_t halio_queue_execute(halio_device_t* device, halio_semaphore_list_t wait,
                                   halio_semaphore_list_t signal,
                                   halio_command_buffer_t* command_buffer) {
  return QueueCall(__func__, device, wait, signal,
                   [&](const char* api, Device& queue, SemaphoreList waits,
                       SemaphoreList signals) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, command_buffer, "command_buffer"));
    return queue.QueueExecute(waits, signals,
                                        command_buffer->command_buffer);
  });
}

}  // extern "C"
