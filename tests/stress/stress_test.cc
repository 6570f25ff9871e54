// Stress: threads submitting thousands of ops with random dependencies, checked
// byte for byte against a sequential model; and devices destroyed with work in
// flight, round after round.
//
// --- RandomDagStressTest: the plan, the oracle, and why the plan is race-free
//
// A seeded PRNG (HALIO_STRESS_SEED overrides the random seed; every failure
// and the watchdog print it) generates a DAG of ops up front:
//
//  * L lanes. Lane l has a timeline semaphore S_l; its i-th op (i = 1..N)
//    waits on S_l >= i-1 and signals S_l = i, so the ops of one lane are
//    totally ordered. On local_async one thread per lane submits its ops in
//    order; local_sync gets every op from one thread in generation order.
//  * Ops are generated one at a time in a global order, each for a random
//    lane. An op may also wait on other lanes at random points S_m >= v with
//    1 <= v <= (ops generated so far in m). Every dependency therefore points
//    to an op generated earlier: the graph is acyclic and the generation order
//    is a topological order (so local_sync, which runs inline, never waits for
//    an op it has not been given yet).
//  * Stores: 3 buffers and 1 file, each split into one block per lane. A
//    lane's block has a "work" area and write-once "slots".
//      - The work area of lane l is read and written only by lane l's ops,
//        which are totally ordered.
//      - A slot of lane l is written by at most one op (of lane l), the one
//        that claimed it while it was fresh, and never again. Any op may read
//        any slot that has been claimed (frozen): an op of lane m != l that
//        reads it waits on S_l >= (index of the writer), an op of lane l is
//        ordered after the writer by its lane. Unwritten bytes of a slot keep
//        their initial value forever.
//    Op kinds: fill (1/2/4-byte pattern) and update into the lane's work area
//    or a fresh slot of a buffer; copy from the lane's work area or any
//    frozen buffer slot into the lane's work area or a fresh buffer slot;
//    file write from a buffer (work or frozen slot) into the lane's file work
//    area or a fresh file slot; file read from the file (work or frozen slot)
//    into a buffer (work or fresh slot); barriers; now and then length 0.
//  Race freedom: take two ops A and B not ordered by the DAG. They are in
//  different lanes (a lane is a chain), say l and m. A writes only lane l's
//  work area or a fresh slot of lane l. B touches lane l's bytes only by
//  reading a frozen slot of lane l, which B waited for, so the writer of that
//  slot is ordered before B and is not A; A's fresh slot is a different slot.
//  Symmetrically for B's writes. So every byte written by an op is untouched
//  by every op it is not ordered with, and running the ops one by one in
//  generation order (the model) gives the one possible final state.
//
// After the device drains, every buffer, the file and every lane semaphore
// (value N, not failed) are compared with the model. Waits have deadlines and
// a watchdog aborts the process, naming the seed and the stage, if a test
// hangs past them (a device destructor cannot be given a deadline).
//
// --- DeviceDestructionTest
//
// Each round queues reads, writes, fills and copies on a fresh local_async
// or local_discrete device (buffers in its own memory), each on its own
// byte range and signaling its own semaphore; some wait on a semaphore
// another thread signals at a random moment, some on one that thread fails,
// some on one never signaled, some on earlier ops. The device is destroyed
// while that runs. Then every op's semaphore must be signaled (and its
// bytes right) or failed with the cancellation or the injected failure (and
// its bytes untouched), never left pending; ops with no waits, or whose
// only wait was reached before destruction began, must have run (except a
// staged file transfer of local_discrete's memory that its shutdown stopped
// part-way: CANCELLED, each byte old or new); ops waiting on the
// never-signaled semaphore must have been cancelled; and signaling that
// semaphore afterwards must change nothing.
// HALIO_DESTRUCTION_ROUNDS overrides the number of rounds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <ostream>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "halio/drivers.h"
#include "halio/file.h"
#include "halio/hal/device.h"
#include "halio/hal/semaphore.h"
#include "halio/io_backend.h"
#include "testing/device_buffers.h"
#include "testing/matrix.h"
#include "testing/sanitizers.h"
#include "testing/status_matchers.h"
#include "testing/temp_file.h"

namespace halio {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
using testing::FileKind;
using testing::kAddressSanitizer;

// How long any one wait may take before the test fails instead of hanging,
// and how long a whole test may take before the watchdog aborts the process
// (meson's timeout for the suite is 300 s).
constexpr auto kWaitLimit = std::chrono::seconds(60);
constexpr auto kWatchdogLimit = std::chrono::seconds(240);

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  return std::strtoull(value, nullptr, 0);
}

// HALIO_STRESS_SEED, or a fresh random seed (printed, so any run can be
// repeated).
uint64_t StressSeed() {
  std::random_device device;
  uint64_t random = (uint64_t{device()} << 32) ^ device();
  return EnvOr("HALIO_STRESS_SEED", random);
}

std::string SeedNote(uint64_t seed) {
  return "seed " + std::to_string(seed) + " (rerun with HALIO_STRESS_SEED=" +
         std::to_string(seed) + ")";
}

// splitmix64: small, fast, and the same sequence on every standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi].
  uint64_t Uniform(uint64_t lo, uint64_t hi) { return lo + Next() % (hi - lo + 1); }
  bool Percent(unsigned percent) { return Next() % 100 < percent; }

 private:
  uint64_t state_;
};

// Aborts the process, naming what hung, if it is not destroyed in time. The
// last resort when a device destructor or an inline wait never returns.
class Watchdog {
 public:
  Watchdog(std::string what, Clock::duration limit) : what_(std::move(what)) {
    thread_ = std::thread([this, deadline = Clock::now() + limit] {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!cv_.wait_until(lock, deadline, [&] { return done_; })) {
        std::fprintf(stderr, "\nstress watchdog: %s hung in stage \"%s\"; aborting\n",
                     what_.c_str(), stage_.c_str());
        std::fflush(stderr);
        std::abort();
      }
    });
  }
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Stage(std::string stage) {
    std::lock_guard<std::mutex> lock(mutex_);
    stage_ = std::move(stage);
  }

 private:
  const std::string what_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string stage_ = "start";
  bool done_ = false;
  std::thread thread_;
};

// Keeps the first of several errors reported from many threads.
class FirstError {
 public:
  void Note(const Status& status, const std::string& context) {
    if (status.ok()) return;
    std::lock_guard<std::mutex> lock(mutex_);
    ++count_;
    if (message_.empty()) message_ = context + ": " + status.ToString(true);
  }
  int count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return count_;
  }
  std::string message() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return message_;
  }

 private:
  mutable std::mutex mutex_;
  int count_ = 0;
  std::string message_;
};

// `length` bytes from a seeded PRNG.
std::vector<std::byte> RandomBytes(size_t length, uint64_t seed) {
  Rng rng(seed);
  std::vector<std::byte> bytes(length);
  for (size_t i = 0; i < length; i += 8) {
    const uint64_t value = rng.Next();
    std::memcpy(bytes.data() + i, &value, std::min<size_t>(8, length - i));
  }
  return bytes;
}

// ============================================================================
// The random DAG and its model.

constexpr int kBufferCount = 3;
constexpr int kFileStore = kBufferCount;  // stores 0..2 are buffers, 3 the file
constexpr int kStoreCount = kBufferCount + 1;
constexpr uint64_t kWorkBytes = 8192;
constexpr uint64_t kSlotBytes = 1024;
// Longest op on a work area: spans several of the device's file chunks.
constexpr uint64_t kMaxOpBytes = 3000;
constexpr uint64_t kMaxUpdateBytes = 1024;
// local_async file chunks: an odd size, so chunk ends fall anywhere in an op.
constexpr uint64_t kStressChunkSize = 1000;

enum class OpKind { kFill, kUpdate, kCopy, kWrite, kRead, kBarrier };

const char* OpKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kFill: return "fill";
    case OpKind::kUpdate: return "update";
    case OpKind::kCopy: return "copy";
    case OpKind::kWrite: return "write";
    case OpKind::kRead: return "read";
    case OpKind::kBarrier: return "barrier";
  }
  return "?";
}

std::string StoreName(int store) {
  return store == kFileStore ? std::string("file") : "buffer " + std::to_string(store);
}

struct Layout {
  int lanes = 0;
  uint64_t slots_per_lane = 0;
  uint64_t lane_bytes() const { return kWorkBytes + slots_per_lane * kSlotBytes; }
  uint64_t store_bytes() const { return lanes * lane_bytes(); }
  uint64_t WorkBase(int lane) const { return lane * lane_bytes(); }
  uint64_t SlotBase(int lane, uint64_t slot) const {
    return WorkBase(lane) + kWorkBytes + slot * kSlotBytes;
  }
  // "lane 2 work +100" / "lane 1 slot 7 +3", for messages.
  std::string Where(uint64_t offset) const {
    const uint64_t lane = offset / lane_bytes();
    uint64_t within = offset % lane_bytes();
    std::string where = "lane " + std::to_string(lane) + " ";
    if (within < kWorkBytes) return where + "work +" + std::to_string(within);
    within -= kWorkBytes;
    return where + "slot " + std::to_string(within / kSlotBytes) + " +" +
           std::to_string(within % kSlotBytes);
  }
};

struct StressOp {
  OpKind kind = OpKind::kBarrier;
  int lane = 0;
  uint64_t index = 0;  // 1-based position in the lane: the value it signals
  std::vector<std::pair<int, uint64_t>> cross_waits;  // (lane, value), other lanes
  int source_store = -1;
  uint64_t source_offset = 0;
  int target_store = -1;
  uint64_t target_offset = 0;
  uint64_t length = 0;
  uint32_t pattern = 0;
  uint32_t pattern_length = 0;
  std::vector<std::byte> update;
};

std::string Describe(const StressOp& op, const Layout& layout) {
  std::ostringstream out;
  out << OpKindName(op.kind) << " #" << op.index << " of lane " << op.lane;
  if (op.source_store >= 0) {
    out << " from " << StoreName(op.source_store) << " @" << op.source_offset << " ("
        << layout.Where(op.source_offset) << ")";
  }
  if (op.target_store >= 0) {
    out << " to " << StoreName(op.target_store) << " @" << op.target_offset << " ("
        << layout.Where(op.target_offset) << ")";
  }
  if (op.kind != OpKind::kBarrier) out << ", " << op.length << " bytes";
  if (op.kind == OpKind::kFill) {
    out << ", pattern 0x" << std::hex << op.pattern << std::dec << "/" << op.pattern_length;
  }
  out << ", waits on";
  if (op.index > 1) out << " lane " << op.lane << ">=" << op.index - 1;
  for (auto [lane, value] : op.cross_waits) out << " lane " << lane << ">=" << value;
  return out.str();
}

struct Plan {
  Layout layout;
  uint64_t ops_per_lane = 0;
  std::vector<StressOp> ops;  // generation order: a topological order
  std::vector<std::vector<size_t>> lane_ops;  // per lane, indices into ops in order
  std::array<std::vector<std::byte>, kStoreCount> initial;
};

Plan MakePlan(uint64_t seed, int lanes, uint64_t ops_per_lane) {
  Rng rng(seed);
  Plan plan;
  plan.ops_per_lane = ops_per_lane;
  plan.layout.lanes = lanes;
  // About a quarter of targets are fresh slots, spread over four stores:
  // N/5 slots per lane and store are not used up in practice; when they are,
  // targets fall back to the work area.
  plan.layout.slots_per_lane = std::max<uint64_t>(16, ops_per_lane / 5);
  const Layout& layout = plan.layout;
  for (int store = 0; store < kStoreCount; ++store) {
    plan.initial[store] = RandomBytes(layout.store_bytes(), ~seed + store);
  }

  struct Frozen {
    int lane;
    uint64_t slot;
    uint64_t writer;  // index of the op (of `lane`) that claimed it
  };
  std::array<std::vector<Frozen>, kStoreCount> frozen;  // per store, every lane
  std::vector<std::array<uint64_t, kStoreCount>> next_slot(lanes);
  for (auto& slots : next_slot) slots.fill(0);
  std::vector<uint64_t> count(lanes, 0);
  plan.lane_ops.resize(lanes);
  std::vector<int> open_lanes(lanes);
  for (int lane = 0; lane < lanes; ++lane) open_lanes[lane] = lane;

  while (!open_lanes.empty()) {
    const size_t pick = rng.Uniform(0, open_lanes.size() - 1);
    const int lane = open_lanes[pick];
    StressOp op;
    op.lane = lane;
    op.index = ++count[lane];
    if (count[lane] == ops_per_lane) open_lanes.erase(open_lanes.begin() + pick);
    std::vector<uint64_t> wait_on(lanes, 0);

    // A target range in `store`: the lane's work area, or (25 %) a fresh slot,
    // which is frozen once this op is generated. Returns the capacity.
    int fresh_store = -1;
    auto pick_target = [&](int store, uint64_t* offset) -> uint64_t {
      if (next_slot[lane][store] < layout.slots_per_lane && rng.Percent(25)) {
        fresh_store = store;
        const uint64_t start = rng.Uniform(0, kSlotBytes - 1);
        *offset = layout.SlotBase(lane, next_slot[lane][store]) + start;
        return kSlotBytes - start;
      }
      const uint64_t start = rng.Uniform(0, kWorkBytes - 1);
      *offset = layout.WorkBase(lane) + start;
      return std::min(kWorkBytes - start, kMaxOpBytes);
    };
    // A source range in `store`: the lane's work area, or (40 %) a frozen
    // slot of any lane, waiting for its writer when that is another lane.
    auto pick_source = [&](int store, uint64_t* offset) -> uint64_t {
      if (!frozen[store].empty() && rng.Percent(40)) {
        const Frozen& slot = frozen[store][rng.Uniform(0, frozen[store].size() - 1)];
        if (slot.lane != lane) {
          const uint64_t value = rng.Uniform(slot.writer, count[slot.lane]);
          wait_on[slot.lane] = std::max(wait_on[slot.lane], value);
        }
        const uint64_t start = rng.Uniform(0, kSlotBytes - 1);
        *offset = layout.SlotBase(slot.lane, slot.slot) + start;
        return kSlotBytes - start;
      }
      const uint64_t start = rng.Uniform(0, kWorkBytes - 1);
      *offset = layout.WorkBase(lane) + start;
      return std::min(kWorkBytes - start, kMaxOpBytes);
    };
    auto random_buffer = [&] { return static_cast<int>(rng.Uniform(0, kBufferCount - 1)); };
    // Mostly 1..capacity; now and then 0 (a barrier).
    auto pick_length = [&](uint64_t capacity) -> uint64_t {
      if (rng.Percent(2)) return 0;
      return rng.Uniform(1, capacity);
    };

    const uint64_t roll = rng.Uniform(0, 99);
    if (roll < 20) {
      op.kind = OpKind::kFill;
      op.target_store = random_buffer();
      const uint64_t capacity = pick_target(op.target_store, &op.target_offset);
      static constexpr uint32_t kPatternLengths[] = {1, 2, 4};
      op.pattern_length = kPatternLengths[rng.Uniform(0, 2)];
      if (capacity < op.pattern_length) op.pattern_length = 1;
      op.length = pick_length(capacity / op.pattern_length) * op.pattern_length;
      op.pattern = static_cast<uint32_t>(rng.Next());
      if (op.pattern_length < 4) op.pattern &= (1u << (8 * op.pattern_length)) - 1;
    } else if (roll < 35) {
      op.kind = OpKind::kUpdate;
      op.target_store = random_buffer();
      const uint64_t capacity = pick_target(op.target_store, &op.target_offset);
      op.length = pick_length(std::min(capacity, kMaxUpdateBytes));
      op.update.resize(op.length);
      for (std::byte& byte : op.update) byte = static_cast<std::byte>(rng.Next());
    } else if (roll < 65) {
      op.kind = OpKind::kCopy;
      op.source_store = random_buffer();
      const uint64_t source_capacity = pick_source(op.source_store, &op.source_offset);
      op.target_store = random_buffer();
      const uint64_t target_capacity = pick_target(op.target_store, &op.target_offset);
      op.length = pick_length(std::min(source_capacity, target_capacity));
    } else if (roll < 80) {
      op.kind = OpKind::kWrite;
      op.source_store = random_buffer();
      const uint64_t source_capacity = pick_source(op.source_store, &op.source_offset);
      op.target_store = kFileStore;
      const uint64_t target_capacity = pick_target(kFileStore, &op.target_offset);
      op.length = pick_length(std::min(source_capacity, target_capacity));
    } else if (roll < 95) {
      op.kind = OpKind::kRead;
      op.source_store = kFileStore;
      const uint64_t source_capacity = pick_source(kFileStore, &op.source_offset);
      op.target_store = random_buffer();
      const uint64_t target_capacity = pick_target(op.target_store, &op.target_offset);
      op.length = pick_length(std::min(source_capacity, target_capacity));
    } else {
      op.kind = OpKind::kBarrier;
    }

    // Dependencies that carry no data: a random point already generated.
    if (lanes > 1 && rng.Percent(30)) {
      const int other = static_cast<int>((lane + rng.Uniform(1, lanes - 1)) % lanes);
      if (count[other] > 0) {
        wait_on[other] = std::max(wait_on[other], rng.Uniform(1, count[other]));
      }
    }
    for (int other = 0; other < lanes; ++other) {
      if (other != lane && wait_on[other] > 0) op.cross_waits.push_back({other, wait_on[other]});
    }
    if (fresh_store >= 0) {
      frozen[fresh_store].push_back({lane, next_slot[lane][fresh_store]++, op.index});
    }
    plan.lane_ops[lane].push_back(plan.ops.size());
    plan.ops.push_back(std::move(op));
  }
  return plan;
}

// The model: runs the plan's ops one by one on plain vectors. `writer` keeps,
// per byte, the plan index of the last op that wrote it (-1: initial), for
// messages.
struct Model {
  std::array<std::vector<std::byte>, kStoreCount> stores;
  std::array<std::vector<int64_t>, kStoreCount> writer;
};

Model RunModel(const Plan& plan) {
  Model model;
  for (int store = 0; store < kStoreCount; ++store) {
    model.stores[store] = plan.initial[store];
    model.writer[store].assign(plan.initial[store].size(), -1);
  }
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    const StressOp& op = plan.ops[i];
    if (op.kind == OpKind::kBarrier || op.length == 0) continue;
    std::byte* target = model.stores[op.target_store].data() + op.target_offset;
    switch (op.kind) {
      case OpKind::kFill:
        // Byte j of the range is byte (j mod size) of the little-endian
        // pattern.
        for (uint64_t j = 0; j < op.length; ++j) {
          target[j] = static_cast<std::byte>(op.pattern >> (8 * (j % op.pattern_length)));
        }
        break;
      case OpKind::kUpdate:
        std::memcpy(target, op.update.data(), op.length);
        break;
      case OpKind::kCopy:
      case OpKind::kWrite:
      case OpKind::kRead:
        // memmove: a copy inside one lane's work area may overlap itself.
        std::memmove(target, model.stores[op.source_store].data() + op.source_offset,
                     op.length);
        break;
      case OpKind::kBarrier:
        break;
    }
    std::fill_n(model.writer[op.target_store].begin() + op.target_offset, op.length,
                static_cast<int64_t>(i));
  }
  return model;
}

// What the device works on.
struct Resources {
  std::vector<SemaphoreRef> lanes;
  std::array<BufferRef, kBufferCount> buffers;
  FileRef file;
};

Status SubmitOp(Device& device, const StressOp& op, const Resources& resources) {
  std::vector<SemaphorePoint> wait;
  if (op.index > 1) wait.push_back({resources.lanes[op.lane].get(), op.index - 1});
  for (auto [lane, value] : op.cross_waits) {
    wait.push_back({resources.lanes[lane].get(), value});
  }
  SemaphorePoint signal[] = {{resources.lanes[op.lane].get(), op.index}};
  auto buffer = [&](int store) -> const BufferRef& { return resources.buffers[store]; };
  switch (op.kind) {
    case OpKind::kFill:
      return device.QueueFill(wait, signal, buffer(op.target_store), op.target_offset,
                              op.length, op.pattern, op.pattern_length);
    case OpKind::kUpdate:
      return device.QueueUpdate(wait, signal, op.update, buffer(op.target_store),
                                op.target_offset);
    case OpKind::kCopy:
      return device.QueueCopy(wait, signal, buffer(op.source_store), op.source_offset,
                              buffer(op.target_store), op.target_offset, op.length);
    case OpKind::kWrite:
      return device.QueueWrite(wait, signal, buffer(op.source_store), op.source_offset,
                               resources.file, op.target_offset, op.length);
    case OpKind::kRead:
      return device.QueueRead(wait, signal, resources.file, op.source_offset,
                              buffer(op.target_store), op.target_offset, op.length);
    case OpKind::kBarrier:
      return device.QueueBarrier(wait, signal);
  }
  return InternalError("unknown op kind");
}

// Compares one store with the model; reports up to a few mismatching runs,
// each with where it is and which op last wrote it in the model.
void ExpectStoreMatches(const Plan& plan, const Model& model, int store,
                        const std::vector<std::byte>& actual) {
  const std::vector<std::byte>& expected = model.stores[store];
  ASSERT_EQ(actual.size(), expected.size()) << StoreName(store) << " has the wrong size";
  if (actual == expected) return;
  uint64_t mismatched = 0;
  int reported = 0;
  for (uint64_t i = 0; i < actual.size(); ++i) {
    if (actual[i] == expected[i]) continue;
    ++mismatched;
    const bool starts_run = i == 0 || actual[i - 1] == expected[i - 1];
    if (!starts_run || reported >= 5) continue;
    ++reported;
    uint64_t end = i;
    while (end < actual.size() && actual[end] != expected[end]) ++end;
    const int64_t writer = model.writer[store][i];
    ADD_FAILURE() << StoreName(store) << " bytes [" << i << ", " << end << ") ("
                  << plan.layout.Where(i) << ") differ from the model: first is 0x" << std::hex
                  << static_cast<int>(actual[i]) << ", expected 0x"
                  << static_cast<int>(expected[i]) << std::dec << "; last written by "
                  << (writer < 0 ? std::string("nobody (initial contents)")
                                 : "plan op " + std::to_string(writer) + ": " +
                                       Describe(plan.ops[writer], plan.layout));
  }
  ADD_FAILURE() << StoreName(store) << ": " << mismatched << " of " << actual.size()
                << " bytes differ from the model";
}

struct StressCounts {
  int lanes;
  uint64_t ops_per_lane;
  int rounds;  // plans per test, each with its own seed
};

// Thousands of ops per plan; fewer under sanitizers (the whole binary takes
// about 10 s under TSan on 2 cores, 3 s under ASan, 4 s without). HALIO_STRESS_LANES,
// HALIO_STRESS_OPS_PER_LANE and HALIO_STRESS_ROUNDS override.
StressCounts Counts() {
  StressCounts counts{4, 1500, 8};
  if (testing::kThreadSanitizer) counts = {4, 600, 3};
  if (kAddressSanitizer) counts = {4, 1000, 3};
  counts.lanes =
      static_cast<int>(std::max<uint64_t>(1, EnvOr("HALIO_STRESS_LANES", counts.lanes)));
  counts.ops_per_lane =
      std::max<uint64_t>(1, EnvOr("HALIO_STRESS_OPS_PER_LANE", counts.ops_per_lane));
  counts.rounds =
      static_cast<int>(std::max<uint64_t>(1, EnvOr("HALIO_STRESS_ROUNDS", counts.rounds)));
  return counts;
}

class RandomDagStressTest : public ::testing::TestWithParam<testing::MatrixParam> {
 protected:
  void RunPlan(uint64_t seed, const StressCounts& counts, Watchdog& watchdog);
  void SetUp() override { HALIO_SKIP_IF_UNAVAILABLE(GetParam()); }
};

// One plan, start to end, on a fresh device.
void RandomDagStressTest::RunPlan(uint64_t seed, const StressCounts& counts,
                                  Watchdog& watchdog) {
  const testing::MatrixParam& param = GetParam();
  const bool async = !testing::RunsInline(param.device);
  watchdog.Stage("planning, " + SeedNote(seed));

  const Plan plan = MakePlan(seed, counts.lanes, counts.ops_per_lane);
  const Model model = RunModel(plan);

  // Where the file ops go; outlives the device (a memory file does not own
  // its memory).
  testing::TestFiles file(param.file_kind, param.backend);
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef stress_file,
                             file.Make(plan.initial[kFileStore], MemoryAccess::kReadWrite));
  DeviceOptions options;
  options.worker_count = 4;
  options.queue_depth = 2;
  options.chunk_size = kStressChunkSize;
  // local_discrete: staged file transfers of several chunks, two in flight.
  options.staging_buffer_size = kStressChunkSize;
  options.staging_buffer_count = 2;
  HALIO_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Device> device,
                             CreateDevice(param.device, options));
  Resources resources;
  resources.file = stress_file;
  for (int store = 0; store < kBufferCount; ++store) {
    // The device's own memory: device memory on local_discrete.
    HALIO_ASSERT_OK_AND_ASSIGN(
        resources.buffers[store],
        testing::AllocateDeviceBuffer(*device, plan.layout.store_bytes()));
    HALIO_ASSERT_OK(
        testing::WriteBufferBytes(*device, resources.buffers[store], plan.initial[store]));
  }
  for (int lane = 0; lane < counts.lanes; ++lane) {
    HALIO_ASSERT_OK_AND_ASSIGN(SemaphoreRef semaphore, Semaphore::Create(0));
    resources.lanes.push_back(std::move(semaphore));
  }

  watchdog.Stage("submitting, " + SeedNote(seed));
  FirstError submit_errors;
  if (async) {
    // One thread per lane, each submitting its lane in order; ops wait on
    // points of other lanes that may not have been submitted yet.
    std::vector<std::thread> threads;
    for (int lane = 0; lane < counts.lanes; ++lane) {
      threads.emplace_back([&, lane] {
        for (size_t index : plan.lane_ops[lane]) {
          submit_errors.Note(SubmitOp(*device, plan.ops[index], resources),
                             "submitting " + Describe(plan.ops[index], plan.layout));
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  } else {
    // Inline: in generation order every wait is already reached.
    for (const StressOp& op : plan.ops) {
      submit_errors.Note(SubmitOp(*device, op, resources),
                         "running " + Describe(op, plan.layout));
    }
  }
  EXPECT_EQ(submit_errors.count(), 0) << "first: " << submit_errors.message();

  watchdog.Stage("waiting for the lanes, " + SeedNote(seed));
  const Timeout deadline = Timeout::After(kWaitLimit);
  bool drained = true;
  for (int lane = 0; lane < counts.lanes; ++lane) {
    Semaphore& semaphore = *resources.lanes[lane];
    Status waited = semaphore.Wait(plan.ops_per_lane, deadline);
    if (!waited.ok()) {
      drained = false;
      auto value = semaphore.Query();
      std::string at = value.ok() ? std::to_string(*value) : "failed";
      std::string next = "none";
      if (value.ok() && *value < plan.ops_per_lane) {
        next = Describe(plan.ops[plan.lane_ops[lane][*value]], plan.layout);
      }
      ADD_FAILURE() << "lane " << lane << " did not reach " << plan.ops_per_lane << ": "
                    << waited.ToString() << "; it is at " << at << "; its next op: " << next;
    }
  }
  if (drained) {
    HALIO_EXPECT_OK(device->WaitIdle(deadline));
  }
  for (int lane = 0; lane < counts.lanes; ++lane) {
    EXPECT_THAT(resources.lanes[lane]->failure(), IsOk()) << "lane " << lane << " failed";
    auto value = resources.lanes[lane]->Query();
    if (value.ok()) {
      EXPECT_EQ(*value, plan.ops_per_lane) << "lane " << lane;
    }
  }
  if (!drained) return;  // the destructor cancels what still waits

  watchdog.Stage("comparing, " + SeedNote(seed));
  for (int store = 0; store < kBufferCount; ++store) {
    HALIO_ASSERT_OK_AND_ASSIGN(std::vector<std::byte> bytes,
                               testing::ReadBufferBytes(*device, resources.buffers[store]));
    ExpectStoreMatches(plan, model, store, bytes);
  }
  EXPECT_EQ(resources.file->length(), plan.layout.store_bytes());
  ExpectStoreMatches(plan, model, kFileStore, file.Contents());

  watchdog.Stage("destroying the device, " + SeedNote(seed));
  device.reset();
}

TEST_P(RandomDagStressTest, EveryByteAndSemaphoreMatchTheModel) {
  const uint64_t seed = StressSeed();
  const StressCounts counts = Counts();
  RecordProperty("seed", std::to_string(seed));
  Watchdog watchdog(std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()),
                    kWatchdogLimit);
  const auto started = Clock::now();
  // Each round a new plan; a failing round names its own seed.
  int round = 0;
  for (; round < counts.rounds; ++round) {
    const uint64_t round_seed = seed + round;
    SCOPED_TRACE(SeedNote(round_seed));
    RunPlan(round_seed, counts, watchdog);
    if (HasFailure()) break;
  }
  std::printf("[ stress   ] %d plans of %d lanes x %llu ops, seeds %llu.., %lld ms\n",
              HasFailure() ? round + 1 : round, counts.lanes,
              static_cast<unsigned long long>(counts.ops_per_lane),
              static_cast<unsigned long long>(seed),
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started)
                      .count()));
}

// local_async and local_discrete (device memory) on every backend and a
// memory file; local_sync, which runs every op inline on the submitting
// thread, on sync and a memory file.
std::vector<testing::MatrixParam> StressMatrix() {
  std::vector<testing::MatrixParam> params =
      testing::Matrix({FileKind::kFd, FileKind::kMemory}, testing::AllBackends(),
                      {"local_async", "local_discrete"});
  for (const testing::MatrixParam& param :
       testing::Matrix({FileKind::kFd, FileKind::kMemory}, {IoBackend::kSync}, {"local_sync"})) {
    params.push_back(param);
  }
  return params;
}

INSTANTIATE_TEST_SUITE_P(
    Devices, RandomDagStressTest,
    ::testing::ValuesIn(StressMatrix()), testing::MatrixParamName);

// ============================================================================
// Destroying local_async and local_discrete with work in flight.

// A discrete device's shutdown stops staged file transfers of its memory
// that are still running at their next chunk (device_memory.h, Cancel):
// their semaphores are failed with CANCELLED saying the device "was shut
// down" (the only ops that fail although their waits were reached).
bool CancelledWhileStaged(const Status& status) {
  return status.code() == StatusCode::kAborted &&
         status.message().find("CANCELLED") != std::string_view::npos &&
         status.message().find("was shut down") != std::string_view::npos;
}

class DeviceDestructionTest : public ::testing::TestWithParam<testing::MatrixParam> {
 protected:
  void SetUp() override { HALIO_SKIP_IF_UNAVAILABLE(GetParam()); }
};

TEST_P(DeviceDestructionTest, EveryOpEndsSignaledWithItsBytesOrFailedWithoutTouchingThem) {
  // Ops of kRegion bytes: file ops run as several chunks of kChunk bytes,
  // two in flight, so destruction finds some of them half done.
  // (Smaller under sanitizers, where checking every byte costs the most.)
  constexpr bool kSanitized = testing::kThreadSanitizer || kAddressSanitizer;
  constexpr uint64_t kRegion = kSanitized ? 12 * 1024 : 48 * 1024;
  constexpr uint64_t kChunk = kRegion / 3;
  constexpr size_t kOps = 24;
  const int rounds = static_cast<int>(EnvOr("HALIO_DESTRUCTION_ROUNDS", kSanitized ? 50 : 200));
  const uint64_t seed = StressSeed();
  SCOPED_TRACE(SeedNote(seed));
  RecordProperty("seed", std::to_string(seed));
  Watchdog watchdog(std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
                        " with " + SeedNote(seed),
                    kWatchdogLimit);
  Rng rng(seed);
  const std::string doomed_message = "failed by the test's signaling thread";

  int completed = 0, failed = 0, finished_during_destruction = 0, cancelled_while_running = 0;
  // Device memory the host cannot map: file transfers are staged.
  const bool discrete = !testing::DeviceLocalIsHostVisible(GetParam().device);
  enum class Kind { kRead, kWrite, kFill, kCopy };
  struct Planned {
    Kind kind;
    bool on_gate, on_doomed, on_never;
    int dep;  // index of an earlier op this one waits on, or -1
    uint32_t pattern, pattern_length;
  };

  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    watchdog.Stage("round " + std::to_string(round));
    // File: [0, kOps * kRegion) is read by reads; [kOps * kRegion, 2x) is
    // where writes go.
    const auto file_bytes = RandomBytes(2 * kOps * kRegion, rng.Next());
    const auto source_bytes = RandomBytes(kOps * kRegion, rng.Next());
    testing::TempFile temp(file_bytes);
    FdFileOptions file_options;
    file_options.backend = GetParam().backend;
    HALIO_ASSERT_OK_AND_ASSIGN(FileRef file,
                               FdFile::Open(temp.path(), OpenMode::kReadWrite, file_options));

    DeviceOptions options;
    options.worker_count = 2;
    options.queue_depth = 2;
    options.chunk_size = kChunk;
    options.staging_buffer_size = kChunk;
    options.staging_buffer_count = 2;
    HALIO_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Device> device,
                               CreateDevice(GetParam().device, options));
    // The device's own memory: device memory on local_discrete.
    HALIO_ASSERT_OK_AND_ASSIGN(BufferRef source,
                               testing::AllocateDeviceBuffer(*device, kOps * kRegion));
    HALIO_ASSERT_OK_AND_ASSIGN(BufferRef target,
                               testing::AllocateDeviceBuffer(*device, kOps * kRegion));
    HALIO_ASSERT_OK(testing::WriteBufferBytes(*device, source, source_bytes));
    HALIO_ASSERT_OK_AND_ASSIGN(SemaphoreRef gate, Semaphore::Create(0));
    HALIO_ASSERT_OK_AND_ASSIGN(SemaphoreRef doomed, Semaphore::Create(0));
    HALIO_ASSERT_OK_AND_ASSIGN(SemaphoreRef never, Semaphore::Create(0));
    std::vector<SemaphoreRef> done(kOps);
    for (auto& semaphore : done) semaphore = *Semaphore::Create(0);

    std::vector<Planned> planned(kOps);
    for (size_t k = 0; k < kOps; ++k) {
      Planned& op = planned[k];
      op.kind = static_cast<Kind>(rng.Uniform(0, 3));
      op.on_gate = rng.Percent(30);
      op.on_doomed = rng.Percent(10);
      op.on_never = rng.Percent(8);
      op.dep = k > 0 && rng.Percent(30) ? static_cast<int>(rng.Uniform(0, k - 1)) : -1;
      static constexpr uint32_t kPatternLengths[] = {1, 2, 4};
      op.pattern_length = kPatternLengths[rng.Uniform(0, 2)];
      op.pattern = static_cast<uint32_t>(rng.Next() | 1);  // never all zero bytes
      if (op.pattern_length < 4) op.pattern &= (1u << (8 * op.pattern_length)) - 1;
    }
    // Half the rounds destroy the device right after queueing (most work in
    // flight), the rest after up to 3 ms (some of it done).
    auto random_delay = [&] {
      const uint64_t roll = rng.Uniform(0, 3);
      return std::chrono::microseconds(roll < 2 ? 0 : rng.Uniform(0, roll == 2 ? 200 : 3000));
    };
    const auto signal_delay = random_delay();
    const auto destroy_delay = random_delay();
    const bool fail_first = rng.Percent(50);

    for (size_t k = 0; k < kOps; ++k) {
      const Planned& op = planned[k];
      std::vector<SemaphorePoint> wait;
      if (op.on_gate) wait.push_back({gate.get(), 1});
      if (op.on_doomed) wait.push_back({doomed.get(), 1});
      if (op.on_never) wait.push_back({never.get(), 1});
      if (op.dep >= 0) wait.push_back({done[op.dep].get(), 1});
      SemaphorePoint signal[] = {{done[k].get(), 1}};
      const uint64_t at = k * kRegion;
      switch (op.kind) {
        case Kind::kRead:
          HALIO_ASSERT_OK(device->QueueRead(wait, signal, file, at, target, at, kRegion));
          break;
        case Kind::kWrite:
          HALIO_ASSERT_OK(
              device->QueueWrite(wait, signal, source, at, file, kOps * kRegion + at, kRegion));
          break;
        case Kind::kFill:
          HALIO_ASSERT_OK(device->QueueFill(wait, signal, target, at, kRegion, op.pattern,
                                            op.pattern_length));
          break;
        case Kind::kCopy:
          HALIO_ASSERT_OK(device->QueueCopy(wait, signal, source, at, target, at, kRegion));
          break;
      }
    }
    // Mid-way, from another thread: the gate opens and `doomed` fails, racing
    // the destructor's cancellation.
    // Timepoint callbacks run inside Signal/Fail, so once these flags are
    // set, every op waiting only on that semaphore has resolved its wait.
    std::atomic<bool> gate_opened{false}, doomed_failed{false};
    std::thread signaler([&] {
      std::this_thread::sleep_for(signal_delay);
      if (fail_first) {
        doomed->Fail(DataLossError(doomed_message));
        doomed_failed = true;
      }
      EXPECT_THAT(gate->Signal(1), IsOk());
      gate_opened = true;
      if (!fail_first) {
        doomed->Fail(DataLossError(doomed_message));
        doomed_failed = true;
      }
    });
    std::this_thread::sleep_for(destroy_delay);
    std::vector<bool> pending_at_destruction(kOps);
    for (size_t k = 0; k < kOps; ++k) {
      auto value = done[k]->Query();
      pending_at_destruction[k] = value.ok() && *value == 0;
    }
    const bool gate_opened_before = gate_opened;
    const bool doomed_failed_before = doomed_failed;
    device.reset();
    signaler.join();

    // What the device left. Nothing may change after it is gone: signaling
    // the never-signaled semaphore now must run nothing.
    std::vector<Result<uint64_t>> ended;
    for (const auto& semaphore : done) ended.push_back(semaphore->Query());
    HALIO_EXPECT_OK(never->Signal(1));
    // The device is gone: device memory is read through its own copy
    // engine, which lives as long as the buffers do.
    HALIO_ASSERT_OK_AND_ASSIGN(
        const std::vector<std::byte> target_now,
        testing::ReadBufferBytesInline(target, HostAllocator::System()));
    file.reset();
    const std::vector<std::byte> file_now = testing::ReadFileBytes(temp.path());
    ASSERT_EQ(file_now.size(), file_bytes.size());

    for (size_t k = 0; k < kOps; ++k) {
      const Planned& op = planned[k];
      const Result<uint64_t>& result = ended[k];
      static constexpr const char* kKindNames[] = {"read", "write", "fill", "copy"};
      SCOPED_TRACE("op " + std::to_string(k) + " (" + kKindNames[static_cast<int>(op.kind)] +
                   ", gate " + std::to_string(op.on_gate) + ", doomed " +
                   std::to_string(op.on_doomed) + ", never " + std::to_string(op.on_never) +
                   ", after op " + std::to_string(op.dep) + ")");
      const Result<uint64_t> later = done[k]->Query();
      EXPECT_TRUE(later.ok() == result.ok() && (!later.ok() || *later == *result))
          << "the op's semaphore changed after the device was destroyed";
      const bool dep_failed = op.dep >= 0 && !ended[op.dep].ok();
      // The bytes the op writes, what they must hold if it ran, and what
      // they held before.
      const uint64_t at = k * kRegion;
      const std::byte* written = nullptr;
      std::vector<std::byte> if_ran;
      const std::byte* before = nullptr;
      switch (op.kind) {
        case Kind::kRead:
          written = target_now.data() + at;
          if_ran.assign(file_bytes.begin() + at, file_bytes.begin() + at + kRegion);
          before = nullptr;  // zeros
          break;
        case Kind::kWrite:
          written = file_now.data() + kOps * kRegion + at;
          if_ran.assign(source_bytes.begin() + at, source_bytes.begin() + at + kRegion);
          before = file_bytes.data() + kOps * kRegion + at;
          break;
        case Kind::kFill:
          written = target_now.data() + at;
          if_ran.resize(kRegion);
          for (uint64_t j = 0; j < kRegion; ++j) {
            if_ran[j] = static_cast<std::byte>(op.pattern >> (8 * (j % op.pattern_length)));
          }
          before = nullptr;
          break;
        case Kind::kCopy:
          written = target_now.data() + at;
          if_ran.assign(source_bytes.begin() + at, source_bytes.begin() + at + kRegion);
          before = nullptr;
          break;
      }
      if (result.ok()) {
        ++completed;
        if (pending_at_destruction[k] && *result == 1) ++finished_during_destruction;
        EXPECT_EQ(*result, 1u) << "the op neither signaled nor failed its semaphore";
        EXPECT_FALSE(op.on_never) << "ran although it waits on a semaphore never signaled";
        EXPECT_FALSE(op.on_doomed) << "ran although it waits on a failed semaphore";
        EXPECT_FALSE(dep_failed) << "ran although the op it waits on failed";
        if (*result == 1) {
          EXPECT_TRUE(std::equal(if_ran.begin(), if_ran.end(), written))
              << "signaled, but its bytes are not what it should have written";
        }
      } else if (discrete && !dep_failed && CancelledWhileStaged(result.status())) {
        // A staged file transfer of device memory that was running: it
        // stopped at a chunk boundary, so each byte is old or new.
        ++failed;
        ++cancelled_while_running;
        EXPECT_TRUE(op.kind == Kind::kRead || op.kind == Kind::kWrite)
            << "only staged file transfers stop part-way: " << result.status().ToString();
        for (uint64_t j = 0; j < kRegion; ++j) {
          const std::byte old_byte = before ? before[j] : std::byte{0};
          ASSERT_TRUE(written[j] == old_byte || written[j] == if_ran[j])
              << "cancelled part-way, yet byte " << j << " is neither old nor new";
        }
      } else {
        ++failed;
        EXPECT_TRUE(op.on_gate || op.on_doomed || op.on_never || op.dep >= 0)
            << "an op with nothing to wait for failed: " << result.status().ToString();
        EXPECT_FALSE(op.on_gate && gate_opened_before && !op.on_doomed && !op.on_never &&
                     op.dep < 0)
            << "its only wait was reached before the device was destroyed, yet it failed: "
            << result.status().ToString();
        if (op.on_doomed && doomed_failed_before) {
          EXPECT_THAT(result, StatusIs(StatusCode::kAborted, HasSubstr(doomed_message)))
              << "it waits on a semaphore that failed before the device was destroyed";
        }
        EXPECT_THAT(result, StatusIs(StatusCode::kAborted,
                                     ::testing::AnyOf(HasSubstr("CANCELLED"),
                                                      HasSubstr(doomed_message))));
        if (op.on_never && !op.on_doomed && !dep_failed) {
          EXPECT_THAT(result, StatusIs(StatusCode::kAborted,
                                       ::testing::AllOf(HasSubstr("CANCELLED"),
                                                        HasSubstr("device was destroyed"))));
        }
        const bool untouched =
            before ? std::equal(before, before + kRegion, written)
                   : std::all_of(written, written + kRegion,
                                 [](std::byte b) { return b == std::byte{0}; });
        EXPECT_TRUE(untouched) << "failed, yet its target bytes changed";
      }
    }
    if (HasFailure()) break;  // one failing round says enough
  }
  std::printf("[ stress   ] %d rounds, seed %llu: %d ops signaled (%d of them still pending "
              "just before destruction), %d failed (%d staged transfers cancelled part-way)\n",
              rounds, static_cast<unsigned long long>(seed), completed,
              finished_during_destruction, failed, cancelled_while_running);
}

INSTANTIATE_TEST_SUITE_P(Backends, DeviceDestructionTest,
                         ::testing::ValuesIn(testing::Matrix(
                             {FileKind::kFd}, testing::AllBackends(),
                             {"local_async", "local_discrete"})),
                         testing::MatrixParamName);

}  // namespace
}  // namespace halio
