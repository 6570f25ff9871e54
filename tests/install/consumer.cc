// Compiled by tests/install/check.sh against an installed halio (headers +
// halio.pc) to prove the install is usable on its own.
#include <cstdio>
#include <cstring>
#include <vector>

#include "halio/drivers.h"
#include "halio/halio.h"  // the C ABI's header compiles as C++ too

int main() {
  auto device = halio::CreateDevice("local_sync");
  if (!device.ok()) return 1;
  std::vector<std::byte> memory(256, std::byte{42});
  auto file = halio::MemoryFile::Wrap(memory, halio::MemoryAccess::kRead);
  auto buffer = (*device)->allocator().Allocate({}, memory.size());
  auto done = halio::Semaphore::Create(0);
  if (!file.ok() || !buffer.ok() || !done.ok()) return 1;
  halio::SemaphorePoint signal[] = {{done->get(), 1}};
  halio::Status status = (*device)->QueueRead({}, signal, *file, 0, *buffer, 0, memory.size());
  if (!status.ok() || !(*done)->Wait(1).ok()) return 1;
  auto mapped = (*buffer)->Map(halio::MemoryAccess::kRead);
  bool same = mapped.ok() && std::memcmp(mapped->data(), memory.data(), memory.size()) == 0;
  std::printf("installed halio read %zu bytes: %s (%s)\n", memory.size(), same ? "ok" : "MISMATCH",
              halio_status_code_name(HALIO_STATUS_OK));
  return same ? 0 : 1;
}
