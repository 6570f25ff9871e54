// Counts heap allocations in a benchmark binary by interposing the malloc
// family (operator new goes through malloc, so it is counted too). Link
// alloc_counter.cc into a binary to enable it.
#ifndef HALIO_BENCH_ALLOC_COUNTER_H_
#define HALIO_BENCH_ALLOC_COUNTER_H_

#include <cstdint>

namespace halio::bench {

// Allocations made by any thread since the process started.
uint64_t AllocationCount();

}  // namespace halio::bench

#endif  // HALIO_BENCH_ALLOC_COUNTER_H_
