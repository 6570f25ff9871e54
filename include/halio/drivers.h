// Device creation by name, for tools and tests that run against every device.
//
// Thread-safety: thread-safe.
#ifndef HALIO_DRIVERS_H_
#define HALIO_DRIVERS_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "halio/hal/device.h"
#include "halio/host_allocator.h"
#include "halio/status.h"

namespace halio {

struct DeviceOptions {
  // Memory for buffers and bookkeeping; must outlive the device.
  HostAllocator* host_allocator = &HostAllocator::System();
};

// Names accepted by CreateDevice, e.g. {"local_sync"}.
std::vector<std::string> AvailableDevices();

// Errors: NOT_FOUND for an unknown name (the message lists the known ones),
// RESOURCE_EXHAUSTED.
Result<std::unique_ptr<Device>> CreateDevice(std::string_view name,
                                             const DeviceOptions& options = {});

// The synchronous device: every queue operation runs inline on the calling
// thread as wait -> do the work -> signal (or fail the signal list).
Result<std::unique_ptr<Device>> CreateLocalSyncDevice(const DeviceOptions& options = {});

}  // namespace halio

#endif  // HALIO_DRIVERS_H_
