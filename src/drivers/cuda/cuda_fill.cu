// LaunchPatternFill (cuda_fill.h): one grid-stride kernel. The bytes before
// the first 4-byte-aligned address and after the last whole word are
// written one by one; the words between get the pattern rotated to the
// alignment of the head, so every store but at most six is a full,
// coalesced 32-bit store.
#include "cuda_fill.h"

#include <cuda_runtime.h>

namespace halio::cuda {
namespace {

constexpr unsigned kThreadsPerBlock = 256;
// Enough blocks to keep every SM busy; more only add scheduling.
constexpr uint64_t kMaxBlocks = 4096;

__device__ unsigned char PatternByte(uint32_t pattern32, uint64_t index) {
  return static_cast<unsigned char>(pattern32 >> (8 * (index % 4)));
}

__global__ void PatternFillKernel(unsigned char* target, uint64_t bytes, uint64_t head,
                                  uint64_t words, uint32_t pattern32) {
  const uint64_t thread = blockIdx.x * uint64_t{blockDim.x} + threadIdx.x;
  const uint64_t stride = uint64_t{gridDim.x} * blockDim.x;
  // Byte m of an aligned word at offset head + 4j has phase (head + m) % 4:
  // the pattern rotated right by `head` bytes.
  const unsigned shift = static_cast<unsigned>(8 * (head % 4));
  const uint32_t word = shift == 0 ? pattern32
                                   : (pattern32 >> shift) | (pattern32 << (32 - shift));
  uint32_t* aligned = reinterpret_cast<uint32_t*>(target + head);
  for (uint64_t j = thread; j < words; j += stride) aligned[j] = word;
  const uint64_t tail = head + 4 * words;
  if (thread < head) target[thread] = PatternByte(pattern32, thread);
  if (thread < bytes - tail) target[tail + thread] = PatternByte(pattern32, tail + thread);
}

}  // namespace

cudaError_t LaunchPatternFill(void* target, uint64_t bytes, uint32_t pattern32,
                              cudaStream_t stream) {
  if (bytes == 0) return cudaSuccess;
  unsigned char* start = static_cast<unsigned char*>(target);
  const uint64_t misalignment = reinterpret_cast<uintptr_t>(start) % 4;
  const uint64_t head =
      misalignment == 0 ? 0 : (4 - misalignment < bytes ? 4 - misalignment : bytes);
  const uint64_t words = (bytes - head) / 4;
  uint64_t blocks = (words + kThreadsPerBlock - 1) / kThreadsPerBlock;
  if (blocks == 0) blocks = 1;  // the head and tail bytes still need a thread
  if (blocks > kMaxBlocks) blocks = kMaxBlocks;
  PatternFillKernel<<<static_cast<unsigned>(blocks), kThreadsPerBlock, 0, stream>>>(
      start, bytes, head, words, pattern32);
  return cudaGetLastError();
}

}  // namespace halio::cuda
