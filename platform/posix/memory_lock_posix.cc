#include <sys/mman.h>

#include "memory_lock.h"

namespace halio::platform {

bool LockMemory(void* memory, size_t bytes) { return ::mlock(memory, bytes) == 0; }

void UnlockMemory(void* memory, size_t bytes) { ::munlock(memory, bytes); }

}  // namespace halio::platform
