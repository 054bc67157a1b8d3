#include <gtest/gtest.h>

#include <chrono>

#include "sync/to_search/change_stream.h"

namespace cesync::sync {
namespace {

using std::chrono::milliseconds;

TEST(PauseAfterCycleTest, AQuickCycleWaitsOutTheRestOfTheInterval) {
  EXPECT_EQ(pauseAfterCycle(milliseconds(250), milliseconds(0), false), milliseconds(250));
  EXPECT_EQ(pauseAfterCycle(milliseconds(250), milliseconds(40), false), milliseconds(210));
  EXPECT_EQ(pauseAfterCycle(milliseconds(250), std::chrono::microseconds(40'500), false),
            milliseconds(210));
}

TEST(PauseAfterCycleTest, ACycleLongerThanTheIntervalIsFollowedAtOnce) {
  // Writing a steady load's changes takes most of a cycle; pausing a whole interval after each
  // one held every change back by that much and let the backlog grow.
  EXPECT_EQ(pauseAfterCycle(milliseconds(250), milliseconds(250), false), milliseconds(0));
  EXPECT_EQ(pauseAfterCycle(milliseconds(250), milliseconds(900), false), milliseconds(0));
}

TEST(PauseAfterCycleTest, NoPauseWhileTheLogIsReadBehind) {
  EXPECT_EQ(pauseAfterCycle(milliseconds(250), milliseconds(1), true), milliseconds(0));
}

}  // namespace
}  // namespace cesync::sync
