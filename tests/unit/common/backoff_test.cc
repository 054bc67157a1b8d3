#include "common/backoff.h"

#include <gtest/gtest.h>

namespace cesync {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, DelaysStayUnderTheGrowingCeiling) {
  Backoff backoff({.initial = milliseconds(100),
                   .max = milliseconds(1000),
                   .multiplier = 2.0,
                   .max_retries = 10},
                  42);
  const std::int64_t ceilings[] = {100, 200, 400, 800, 1000, 1000, 1000, 1000, 1000, 1000};
  for (std::int64_t ceiling : ceilings) {
    auto delay = backoff.next();
    ASSERT_TRUE(delay.has_value());
    EXPECT_GE(delay->count(), 0);
    EXPECT_LE(delay->count(), ceiling);
  }
  EXPECT_FALSE(backoff.next().has_value()) << "budget of 10 retries is spent";
}

TEST(BackoffTest, ResetStartsOver) {
  Backoff backoff({.initial = milliseconds(10),
                   .max = milliseconds(10'000),
                   .multiplier = 10.0,
                   .max_retries = 2},
                  7);
  ASSERT_TRUE(backoff.next());
  ASSERT_TRUE(backoff.next());
  ASSERT_FALSE(backoff.next());
  backoff.reset();
  auto delay = backoff.next();
  ASSERT_TRUE(delay);
  EXPECT_LE(delay->count(), 10);
}

TEST(BackoffTest, UnlimitedNeverRunsOutAndStaysCapped) {
  Backoff backoff({.initial = milliseconds(1),
                   .max = milliseconds(50),
                   .multiplier = 3.0,
                   .max_retries = std::nullopt},
                  1);
  for (int i = 0; i < 1000; ++i) {
    auto delay = backoff.next();
    ASSERT_TRUE(delay);
    ASSERT_LE(delay->count(), 50);
  }
}

TEST(BackoffTest, JitterSpreadsDelays) {
  Backoff a({.initial = milliseconds(1000), .max = milliseconds(1000)}, 1);
  Backoff b({.initial = milliseconds(1000), .max = milliseconds(1000)}, 2);
  int differ = 0;
  for (int i = 0; i < 8; ++i) {
    differ += (*a.next() != *b.next()) ? 1 : 0;
  }
  EXPECT_GT(differ, 4);
}

TEST(BackoffTest, NextAfterNamesWhatFailedOnceTheBudgetIsSpent) {
  Backoff backoff({.initial = milliseconds(1), .max = milliseconds(1), .max_retries = 2}, 1);
  EXPECT_TRUE(backoff.nextAfter("reading range 3 failed"));
  EXPECT_TRUE(backoff.nextAfter("reading range 3 failed"));
  auto spent = backoff.nextAfter("reading range 3 failed");
  ASSERT_FALSE(spent);
  EXPECT_EQ(spent.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(spent.error().message, "reading range 3 failed (gave up after 2 attempts)");
}

TEST(BackoffTest, SleepUnlessStoppedEndsAtTheStop) {
  int asked = 0;
  // Stopped at the third question: two 50 ms steps of a 10 s sleep.
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(sleepUnlessStopped(std::chrono::seconds(10), [&] { return ++asked >= 3; }));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_EQ(asked, 3);
  EXPECT_TRUE(sleepUnlessStopped(milliseconds(1), [] { return false; }));
}

}  // namespace
}  // namespace cesync
