// The engine shape both threaded backends share: the state lives in a Core
// that the engine and the backend's own threads hold jointly, so a
// completion that drops the last engine reference (on one of those threads)
// cannot free state that thread still uses. Internal.
#ifndef HALIO_SRC_ASYNC_CORE_ENGINE_H_
#define HALIO_SRC_ASYNC_CORE_ENGINE_H_

#include <memory>
#include <new>
#include <string>

#include "async_io.h"

namespace halio {

// Core needs Submit(AsyncRequest*), Shutdown() (wait for every request,
// stop its threads; callable from one of them and after a failed start) and
// may have AttachHandle/DetachHandle (AsyncIoEngine's; nothing to do without).
template <typename Core, IoBackend kBackend>
class CoreEngine final : public AsyncIoEngine {
 public:
  explicit CoreEngine(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  ~CoreEngine() override { core_->Shutdown(); }
  IoBackend backend() const override { return kBackend; }
  bool is_async() const override { return true; }
  void Submit(AsyncRequest* request) override { core_->Submit(request); }
  Status AttachHandle(platform::NativeHandle handle, const std::string& description) override {
    if constexpr (requires { core_->AttachHandle(handle, description); }) {
      return core_->AttachHandle(handle, description);
    }
    return Status();
  }
  void DetachHandle(platform::NativeHandle handle) override {
    if constexpr (requires { core_->DetachHandle(handle); }) core_->DetachHandle(handle);
  }

 private:
  std::shared_ptr<Core> core_;
};

// Creates a Core, runs `start(core)` and wraps it in an engine. On any
// failure the core is shut down, stopping only what had started. Errors:
// RESOURCE_EXHAUSTED without memory, and whatever `start` returns.
template <typename Core, IoBackend kBackend, typename Start>
Result<AsyncIoEngineRef> MakeCoreEngine(Start&& start) {
  const std::string out_of_memory =
      std::string("out of memory creating the ") + IoBackendName(kBackend) + " engine";
  std::shared_ptr<Core> core;
  try {
    core = std::make_shared<Core>();
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError(out_of_memory);
  }
  Status status = start(*core);
  if (status.ok()) {
    try {
      return AsyncIoEngineRef(std::make_shared<CoreEngine<Core, kBackend>>(core));
    } catch (const std::bad_alloc&) {
      status = ResourceExhaustedError(out_of_memory);
    }
  }
  core->Shutdown();
  return status;
}

}  // namespace halio

#endif  // HALIO_SRC_ASYNC_CORE_ENGINE_H_
