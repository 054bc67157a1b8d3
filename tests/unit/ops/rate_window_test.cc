#include "ops/rate_window.h"

#include <gtest/gtest.h>

namespace cesync::ops {
namespace {

TEST(RateWindowTest, GrowthPerSecondOverTheWindow) {
  RateWindow r(10'000'000, 1'000'000);
  EXPECT_EQ(r.rate(), 0);
  r.record(0, 0);
  EXPECT_EQ(r.rate(), 0);
  for (int s = 1; s <= 5; ++s) {
    r.record(s * 1'000'000LL, static_cast<std::uint64_t>(s) * 100);
  }
  EXPECT_DOUBLE_EQ(r.rate(), 100);
}

TEST(RateWindowTest, OldSamplesLeaveTheWindow) {
  RateWindow r(10'000'000, 1'000'000);
  r.record(0, 0);
  r.record(1'000'000, 1000);  // a burst, then a steady 10/s
  for (int s = 2; s <= 30; ++s) {
    r.record(s * 1'000'000LL, 1000 + static_cast<std::uint64_t>(s - 1) * 10);
  }
  EXPECT_NEAR(r.rate(), 10, 0.01);
}

TEST(RateWindowTest, SamplesCloserThanTheResolutionReplaceTheNewest) {
  RateWindow r(10'000'000, 1'000'000);
  r.record(0, 0);
  r.record(1'000'000, 10);
  for (int i = 1; i <= 100; ++i) {
    r.record(1'000'000 + i * 1000LL, 10 + static_cast<std::uint64_t>(i));
  }
  EXPECT_NEAR(r.rate(), 110.0 / 1.1, 0.01);
}

TEST(RateWindowTest, ASmallerTotalStartsOver) {
  RateWindow r;
  r.record(0, 500);
  r.record(1'000'000, 600);
  r.record(2'000'000, 10);
  EXPECT_EQ(r.rate(), 0);
  r.record(3'000'000, 20);
  EXPECT_DOUBLE_EQ(r.rate(), 10);
}

}  // namespace
}  // namespace cesync::ops
