#include <windows.h>

#include "memory_lock.h"

namespace halio::platform {

// VirtualLock counts against the process's minimum working set (a few
// hundred KiB by default), so large locks fail unless the caller raised it.
bool LockMemory(void* memory, size_t bytes) { return ::VirtualLock(memory, bytes) != 0; }

void UnlockMemory(void* memory, size_t bytes) { ::VirtualUnlock(memory, bytes); }

}  // namespace halio::platform
