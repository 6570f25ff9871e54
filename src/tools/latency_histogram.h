// A latency histogram in the HdrHistogram style: log-linear buckets (each
// power of two split into 2^kSubBucketBits equal steps), so every recorded
// value lands within 1/128 (0.8 %) of its bucket's lower edge, from 1 ns to
// about 2^63 ns. A fixed array: recording allocates nothing and costs a few
// instructions, so it can run for every request of a benchmark.
//
// Thread-safety: none; one thread records (merge per-thread copies).
#ifndef HALIO_SRC_TOOLS_LATENCY_HISTOGRAM_H_
#define HALIO_SRC_TOOLS_LATENCY_HISTOGRAM_H_

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

namespace halio::tools {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;

  void Record(uint64_t nanoseconds) {
    ++counts_[IndexOf(nanoseconds)];
    ++count_;
    max_ = std::max(max_, nanoseconds);
  }
  void Merge(const LatencyHistogram& other) {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    max_ = std::max(max_, other.max_);
  }

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }

  // The smallest bucket value v such that at least `percent` % of the
  // recorded values are <= v (the bucket's lower edge, within 0.8 % of the
  // values in it); percent 100 gives max(). 0 when nothing was recorded.
  uint64_t Percentile(double percent) const {
    if (count_ == 0) return 0;
    if (percent >= 100) return max_;
    // The rank of the value wanted, 1-based; the epsilon keeps 99.9 % of
    // 1000 at rank 999 despite 0.999 * 1000 rounding above it.
    const double exact = percent / 100.0 * static_cast<double>(count_);
    const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(exact - 1e-9)));
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(LowerEdge(i), max_);
    }
    return max_;
  }

  // Calls visit(value, cumulative_fraction) for each non-empty bucket in
  // increasing order: the points of the latency CDF.
  template <typename Visit>
  void ForEachBucket(Visit visit) const {
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      if (counts_[i] == 0) continue;
      seen += counts_[i];
      visit(LowerEdge(i), static_cast<double>(seen) / static_cast<double>(count_));
    }
  }

  // Bucket arithmetic, public for the tests.
  static size_t IndexOf(uint64_t value) {
    if (value < kSubBuckets) return static_cast<size_t>(value);  // exact below 128 ns
    const int magnitude = std::bit_width(value) - 1 - kSubBucketBits;  // >= 0
    const uint64_t step = value >> magnitude;  // in [kSubBuckets, 2 * kSubBuckets)
    return static_cast<size_t>((magnitude + 1) * kSubBuckets + (step - kSubBuckets));
  }
  static uint64_t LowerEdge(size_t index) {
    if (index < kSubBuckets) return index;
    const uint64_t magnitude = index / kSubBuckets - 1;
    const uint64_t step = index % kSubBuckets + kSubBuckets;
    return step << magnitude;
  }

 private:
  static constexpr size_t kBuckets = (64 - kSubBucketBits + 1) * kSubBuckets;
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

}  // namespace halio::tools

#endif  // HALIO_SRC_TOOLS_LATENCY_HISTOGRAM_H_
