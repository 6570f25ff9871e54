// CreateCudaDevice (include/halio/drivers.h): local_async's scheduler with
// its kDeviceLocal buffers in a CudaMemory. Built only with CUDA; without
// it registry.cc defines CreateCudaDevice as UNAVAILABLE.
#include <memory>
#include <utility>

#include "cuda/cuda_memory.h"
#include "halio/drivers.h"
#include "local_async/async_device.h"

namespace halio {

Result<std::unique_ptr<Device>> CreateCudaDevice(const DeviceOptions& options) {
  if (options.host_allocator == nullptr) {
    return InvalidArgumentError("DeviceOptions::host_allocator is null");
  }
  HALIO_ASSIGN_OR_RETURN(std::shared_ptr<cuda::CudaMemory> memory,
                         cuda::CudaMemory::Create(options, static_cast<int>(options.cuda_device)));
  return local_async::CreateDeviceWithMemory("cuda", options, std::move(memory));
}

}  // namespace halio
