// The bench's latency histogram: every value lands in a bucket whose lower
// edge is within 1/128 below it, percentiles walk the counts as defined, and
// merging adds histograms.
#include "latency_histogram.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <memory>

namespace halio::tools {
namespace {

TEST(LatencyHistogramTest, EveryValueIsWithinOneStepAboveItsBucketsLowerEdge) {
  for (uint64_t value : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{129},
                         uint64_t{255}, uint64_t{256}, uint64_t{1000}, uint64_t{4'095'999},
                         uint64_t{123'456'789}, uint64_t{1} << 62,
                         std::numeric_limits<uint64_t>::max()}) {
    const size_t index = LatencyHistogram::IndexOf(value);
    const uint64_t edge = LatencyHistogram::LowerEdge(index);
    EXPECT_LE(edge, value) << value;
    // Exact below 128 ns, then within one step of 1/128 of the value.
    EXPECT_LE(value - edge, value / LatencyHistogram::kSubBuckets) << value;
    EXPECT_EQ(LatencyHistogram::IndexOf(edge), index) << value;
  }
  // Buckets are ordered: a larger value never lands in an earlier bucket.
  size_t previous = 0;
  for (uint64_t value = 1; value < (uint64_t{1} << 40); value = value * 3 / 2 + 1) {
    const size_t index = LatencyHistogram::IndexOf(value);
    EXPECT_GE(index, previous) << value;
    previous = index;
  }
}

TEST(LatencyHistogramTest, PercentilesOfAKnownDistribution) {
  auto histogram = std::make_unique<LatencyHistogram>();
  EXPECT_EQ(histogram->Percentile(50), 0u) << "empty";
  for (uint64_t i = 1; i <= 1000; ++i) histogram->Record(i * 1000);  // 1 us .. 1 ms
  EXPECT_EQ(histogram->count(), 1000u);
  EXPECT_EQ(histogram->max(), 1'000'000u);
  EXPECT_EQ(histogram->Percentile(100), 1'000'000u);
  for (double percent : {50.0, 90.0, 99.0, 99.9}) {
    const double want = percent * 10'000;  // the value at that rank, ns
    const double got = static_cast<double>(histogram->Percentile(percent));
    EXPECT_LE(got, want) << percent;
    EXPECT_GE(got, want * (1 - 1.0 / 128) - 1000) << percent;
  }
  double last_fraction = 0;
  histogram->ForEachBucket([&](uint64_t, double fraction) {
    EXPECT_GT(fraction, last_fraction);
    last_fraction = fraction;
  });
  EXPECT_DOUBLE_EQ(last_fraction, 1.0);
}

TEST(LatencyHistogramTest, MergeAddsCountsAndKeepsTheLargerMax) {
  auto a = std::make_unique<LatencyHistogram>();
  auto b = std::make_unique<LatencyHistogram>();
  for (int i = 0; i < 10; ++i) a->Record(100);
  for (int i = 0; i < 30; ++i) b->Record(5000);
  a->Merge(*b);
  EXPECT_EQ(a->count(), 40u);
  EXPECT_EQ(a->max(), 5000u);
  EXPECT_EQ(a->Percentile(25), 100u);
  EXPECT_LE(a->Percentile(26), 5000u);
  EXPECT_GT(a->Percentile(26), 4900u);
}

}  // namespace
}  // namespace halio::tools
