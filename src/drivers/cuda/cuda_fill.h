// The device-side fill for 2- and 4-byte patterns (1-byte fills and patterns
// whose bytes are all equal use cudaMemsetAsync instead). Internal to the
// cuda driver; the only header besides cuda_memory.cc that names CUDA types.
#ifndef HALIO_SRC_DRIVERS_CUDA_CUDA_FILL_H_
#define HALIO_SRC_DRIVERS_CUDA_CUDA_FILL_H_

#include <cuda_runtime_api.h>

#include <cstdint>

namespace halio::cuda {

// Queues on `stream` a kernel that writes `bytes` bytes at device address
// `target` (any alignment) with `pattern32` repeated: the byte at
// target + i is byte (i % 4) of pattern32 in memory order (little-endian, as
// the host's fill writes it). A 2-byte pattern p is passed as p | p << 16.
// Returns the launch's error (cudaGetLastError), cudaSuccess when queued.
cudaError_t LaunchPatternFill(void* target, uint64_t bytes, uint32_t pattern32,
                              cudaStream_t stream);

}  // namespace halio::cuda

#endif  // HALIO_SRC_DRIVERS_CUDA_CUDA_FILL_H_
