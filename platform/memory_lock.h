// Page-locking host memory (mlock, VirtualLock), for staging buffers that
// should stay resident as a real driver's pinned memory does.
//
// Thread-safety: both functions are thread-safe.
#ifndef HALIO_PLATFORM_MEMORY_LOCK_H_
#define HALIO_PLATFORM_MEMORY_LOCK_H_

#include <cstddef>

namespace halio::platform {

// Locks [memory, memory + bytes) into RAM. False where the OS refuses (a
// memory-lock limit: RLIMIT_MEMLOCK, the working-set quota); the memory
// works the same, pageable.
bool LockMemory(void* memory, size_t bytes);
// Undoes LockMemory; harmless on memory that was not locked.
void UnlockMemory(void* memory, size_t bytes);

}  // namespace halio::platform

#endif  // HALIO_PLATFORM_MEMORY_LOCK_H_
