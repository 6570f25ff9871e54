// The host-to-device limit for bench/cuda_device_check.sh: cudaMemcpy of
// BYTES bytes from page-locked host memory into GPU memory, as one copy
// and as CHUNK-sized cudaMemcpyAsync copies (what a staged read does), best
// of RUNS. Prints one JSON object. Built by the script with nvcc; not part
// of the Meson build (it needs a GPU to mean anything).
//
// Usage: cuda_copy_reference BYTES [CHUNK_BYTES=8388608] [RUNS=5]
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

void Check(cudaError_t error, const char* call) {
  if (error == cudaSuccess) return;
  std::fprintf(stderr, "cuda_copy_reference: %s failed: %s: %s\n", call, cudaGetErrorName(error),
               cudaGetErrorString(error));
  std::exit(1);
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: cuda_copy_reference BYTES [CHUNK_BYTES] [RUNS]\n");
    return 2;
  }
  const size_t bytes = std::strtoull(argv[1], nullptr, 0);
  const size_t chunk = argc > 2 ? std::strtoull(argv[2], nullptr, 0) : size_t{8} << 20;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 5;
  void* host = nullptr;
  void* device = nullptr;
  Check(cudaHostAlloc(&host, bytes, cudaHostAllocDefault), "cudaHostAlloc");
  Check(cudaMalloc(&device, bytes), "cudaMalloc");
  std::memset(host, 1, bytes);  // fault the pages in before timing
  cudaStream_t stream;
  Check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  double whole = 1e30, chunked = 1e30;
  for (int run = 0; run < runs; ++run) {
    auto start = std::chrono::steady_clock::now();
    Check(cudaMemcpy(device, host, bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
    whole = std::min(whole, Seconds(start));
    start = std::chrono::steady_clock::now();
    for (size_t done = 0; done < bytes; done += chunk) {
      const size_t length = bytes - done < chunk ? bytes - done : chunk;
      Check(cudaMemcpyAsync(static_cast<char*>(device) + done, static_cast<char*>(host) + done,
                            length, cudaMemcpyHostToDevice, stream),
            "cudaMemcpyAsync");
    }
    Check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    chunked = std::min(chunked, Seconds(start));
  }
  cudaDeviceProp properties{};
  Check(cudaGetDeviceProperties(&properties, 0), "cudaGetDeviceProperties");
  std::printf("{\"gpu\": \"%s\", \"bytes\": %zu, \"chunk_bytes\": %zu, \"runs\": %d, "
              "\"pinned_memcpy_gb_per_s\": %.2f, \"pinned_chunked_async_gb_per_s\": %.2f}\n",
              properties.name, bytes, chunk, runs, bytes / whole / 1e9, bytes / chunked / 1e9);
  cudaStreamDestroy(stream);
  cudaFree(device);
  cudaFreeHost(host);
  return 0;
}
