#include "sync/retention_watch.h"

#include <gtest/gtest.h>

namespace cesync::sync {
namespace {

constexpr std::int64_t kSecond = 1'000'000;
constexpr std::int64_t kNow = 1'800'000'000 * kSecond;

TEST(RetentionWatchTest, SharesOfTheTtlAndOneWarningPerCrossing) {
  RetentionWatch watch(std::chrono::seconds(100));
  auto behind = [&](std::int64_t seconds) { return watch.observe(kNow - seconds * kSecond, kNow); };

  EXPECT_DOUBLE_EQ(behind(10).share, 0.1);
  EXPECT_FALSE(behind(49).warn);
  EXPECT_TRUE(behind(50).warn) << "half the TTL behind";
  EXPECT_FALSE(behind(60).warn) << "once per crossing";
  EXPECT_FALSE(behind(45).warn) << "hovering just below does not arm it again";
  EXPECT_FALSE(behind(55).warn);
  const auto over = behind(120);
  EXPECT_TRUE(over.warn) << "past the whole TTL: entries expire unread";
  EXPECT_DOUBLE_EQ(over.share, 1.2);
  EXPECT_FALSE(behind(150).warn);
  EXPECT_FALSE(behind(95).warn) << "just under the TTL";
  EXPECT_FALSE(behind(120).warn) << "only falling under 0.9 of the TTL re-arms the warning";
  EXPECT_FALSE(behind(70).warn) << "back under the TTL, still over half of it";
  EXPECT_TRUE(behind(100).warn) << "past the TTL again";
  EXPECT_FALSE(behind(20).warn);
  EXPECT_TRUE(behind(80).warn) << "caught up, then behind again";
}

TEST(RetentionWatchTest, ACheckpointAheadOfTheClockOrNoTtlIsNeverBehind) {
  RetentionWatch watch(std::chrono::seconds(100));
  EXPECT_DOUBLE_EQ(watch.observe(kNow + 5 * kSecond, kNow).share, 0);
  RetentionWatch none(std::chrono::milliseconds(0));
  const auto r = none.observe(0, kNow);
  EXPECT_DOUBLE_EQ(r.share, 0);
  EXPECT_FALSE(r.warn);
}

}  // namespace
}  // namespace cesync::sync
