#include "util/progress_display.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"

namespace cesync::util {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Mode = ProgressDisplay::Mode;

TEST(FormatDurationTest, MinutesBelowAnHourHoursFromThenOn) {
  EXPECT_EQ(formatDuration(seconds(0)), "0:00");
  EXPECT_EQ(formatDuration(seconds(7)), "0:07");
  EXPECT_EQ(formatDuration(seconds(60)), "1:00");
  EXPECT_EQ(formatDuration(seconds(750)), "12:30");
  EXPECT_EQ(formatDuration(seconds(3599)), "59:59");
  EXPECT_EQ(formatDuration(seconds(3600)), "1:00:00");
  EXPECT_EQ(formatDuration(seconds(3723)), "1:02:03");
  EXPECT_EQ(formatDuration(seconds(100 * 3600 + 59)), "100:00:59");
  EXPECT_EQ(formatDuration(seconds(-5)), "0:00");
}

TEST(FormatCountTest, GroupsOfThree) {
  EXPECT_EQ(formatCount(0), "0");
  EXPECT_EQ(formatCount(999), "999");
  EXPECT_EQ(formatCount(1000), "1,000");
  EXPECT_EQ(formatCount(152340), "152,340");
  EXPECT_EQ(formatCount(1234567), "1,234,567");
  EXPECT_EQ(formatCount(UINT64_MAX), "18,446,744,073,709,551,615");
}

class ProgressDisplayTest : public ::testing::Test {
 protected:
  ProgressDisplay make(Mode mode, int width = 30) {
    ProgressDisplay::Options options;
    options.label = "snapshot ks.t";
    options.mode = mode;
    options.width = width;
    options.redraw_interval = milliseconds(100);
    options.line_interval = seconds(10);
    return makeWith(std::move(options));
  }
  ProgressDisplay makeWith(ProgressDisplay::Options options) {
    return {std::move(options), [this](std::string_view text) { writes_.emplace_back(text); },
            clock_};
  }

  ManualClock clock_;
  std::vector<std::string> writes_;
};

TEST_F(ProgressDisplayTest, TerminalLineLayout) {
  auto display = make(Mode::kTerminal);
  clock_.advance(seconds(10));
  display.update({0.25, 482010});
  ASSERT_EQ(writes_.size(), 1U);
  EXPECT_EQ(writes_[0],
            "\rsnapshot ks.t [#######.......................]  25%  482,010 rows  48,201 rows/s  "
            "ETA 0:30");
}

TEST_F(ProgressDisplayTest, TerminalDoesNotRedrawUnchangedText) {
  auto display = make(Mode::kTerminal);
  display.update({});
  ASSERT_EQ(writes_.size(), 1U);
  EXPECT_EQ(writes_[0],
            "\rsnapshot ks.t [..............................]   ?%  0 rows  0 rows/s  ETA --");
  clock_.advance(seconds(1));
  display.update({});
  clock_.advance(seconds(1));
  display.update({});
  EXPECT_EQ(writes_.size(), 1U);
  display.update({-1, 10});
  EXPECT_EQ(writes_.size(), 2U);
}

TEST_F(ProgressDisplayTest, TerminalRedrawsAtMostOncePerInterval) {
  auto display = make(Mode::kTerminal);
  display.update({0.1, 1});
  ASSERT_EQ(writes_.size(), 1U);
  clock_.advance(milliseconds(50));
  display.update({0.2, 2});
  display.update({0.3, 3});
  EXPECT_EQ(writes_.size(), 1U);
  clock_.advance(milliseconds(50));
  display.update({0.4, 4});
  ASSERT_EQ(writes_.size(), 2U);
  EXPECT_NE(writes_[1].find(" 40%  4 rows"), std::string::npos) << writes_[1];
}

TEST_F(ProgressDisplayTest, TerminalBlanksOutALongerPreviousLine) {
  auto display = make(Mode::kTerminal);
  clock_.advance(seconds(1));
  display.update({-1, 1'000'000});
  clock_.advance(seconds(1));
  display.update({-1, 1'000'000});
  ASSERT_EQ(writes_.size(), 2U);
  EXPECT_NE(writes_[0].find("1,000,000 rows/s  ETA --"), std::string::npos) << writes_[0];
  // "500,000" is two characters shorter than "1,000,000".
  EXPECT_EQ(writes_[1].size(), writes_[0].size());
  EXPECT_NE(writes_[1].find("500,000 rows/s  ETA --  "), std::string::npos) << writes_[1];
}

TEST_F(ProgressDisplayTest, EtaFromTheFraction) {
  ProgressDisplay::Options options;
  options.label = "t";
  options.line_interval = milliseconds(0);
  auto display = makeWith(std::move(options));
  clock_.advance(seconds(10));
  display.update({0.5, 0});
  clock_.advance(seconds(3590));
  display.update({0.5, 0});
  display.update({0.9, 0});
  display.update({1.0, 0});
  ASSERT_EQ(writes_.size(), 4U);
  EXPECT_EQ(writes_[0], "t: 50% (0 rows, 0 rows/s, ETA 0:10)");
  EXPECT_EQ(writes_[1], "t: 50% (0 rows, 0 rows/s, ETA 1:00:00)");
  EXPECT_EQ(writes_[2], "t: 90% (0 rows, 0 rows/s, ETA 6:40)");
  EXPECT_EQ(writes_[3], "t: 100% (0 rows, 0 rows/s, ETA 0:00)");
}

TEST_F(ProgressDisplayTest, NoEtaWithoutProgress) {
  ProgressDisplay::Options options;
  options.label = "t";
  options.line_interval = milliseconds(0);
  auto display = makeWith(std::move(options));
  clock_.advance(seconds(10));
  display.update({0, 100});
  EXPECT_EQ(writes_.back(), "t: 0% (100 rows, 10 rows/s, ETA --)");
  // So little done that the estimate would be meaningless.
  display.update({1e-12, 100});
  EXPECT_EQ(writes_.back(), "t: 0% (100 rows, 10 rows/s, ETA --)");
}

TEST_F(ProgressDisplayTest, PercentAndBarAreFloored) {
  auto display = make(Mode::kTerminal, 100);
  display.update({0.29, 0});
  clock_.advance(milliseconds(100));
  display.update({0.999, 0});
  ASSERT_EQ(writes_.size(), 2U);
  // 0.29 * 100 is 28.999999999999996 in doubles; it is still 29%.
  EXPECT_NE(writes_[0].find("[" + std::string(29, '#') + std::string(71, '.') + "]  29%"),
            std::string::npos)
      << writes_[0];
  // 100% only when all is done.
  EXPECT_NE(writes_[1].find("[" + std::string(99, '#') + ".]  99%"), std::string::npos)
      << writes_[1];
}

TEST_F(ProgressDisplayTest, UnknownFraction) {
  ProgressDisplay::Options options;
  options.label = "t";
  options.line_interval = milliseconds(0);
  auto display = makeWith(std::move(options));
  clock_.advance(seconds(2));
  display.update({-1, 100});
  display.update({std::nan(""), 200});
  ASSERT_EQ(writes_.size(), 2U);
  EXPECT_EQ(writes_[0], "t: ?% (100 rows, 50 rows/s, ETA --)");
  EXPECT_EQ(writes_[1], "t: ?% (200 rows, 100 rows/s, ETA --)");

  auto terminal = make(Mode::kTerminal, 5);
  terminal.update({-1, 100});
  EXPECT_EQ(writes_.back(), "\rsnapshot ks.t [.....]   ?%  100 rows  0 rows/s  ETA --");
}

TEST_F(ProgressDisplayTest, ShownProgressNeverGoesBackwards) {
  ProgressDisplay::Options options;
  options.label = "t";
  options.line_interval = milliseconds(0);
  auto display = makeWith(std::move(options));
  clock_.advance(seconds(1));
  display.update({0.5, 100});
  display.update({0.3, 50});
  display.update({-1, 60});
  display.update({7, 60});
  ASSERT_EQ(writes_.size(), 4U);
  EXPECT_EQ(writes_[1], "t: 50% (100 rows, 100 rows/s, ETA 0:01)");
  EXPECT_EQ(writes_[2], "t: 50% (100 rows, 100 rows/s, ETA 0:01)");
  EXPECT_EQ(writes_[3], "t: 100% (100 rows, 100 rows/s, ETA 0:00)");
}

TEST_F(ProgressDisplayTest, LinesAtMostOncePerInterval) {
  auto display = make(Mode::kLines);
  display.update({0.1, 10'000});
  clock_.advance(seconds(5));
  display.update({0.2, 50'000});
  EXPECT_TRUE(writes_.empty());
  clock_.advance(seconds(5));
  display.update({0.5, 100'000});
  ASSERT_EQ(writes_.size(), 1U);
  EXPECT_EQ(writes_[0], "snapshot ks.t: 50% (100000 rows, 10000 rows/s, ETA 0:10)");
  clock_.advance(seconds(9));
  display.update({0.6, 120'000});
  EXPECT_EQ(writes_.size(), 1U);
  clock_.advance(seconds(2));
  display.update({0.7, 140'000});
  ASSERT_EQ(writes_.size(), 2U);
  EXPECT_EQ(writes_[1], "snapshot ks.t: 70% (140000 rows, 6667 rows/s, ETA 0:09)");
}

TEST_F(ProgressDisplayTest, TerminalFinishDrawsTheWholeBarAndEndsTheLine) {
  auto display = make(Mode::kTerminal, 10);
  clock_.advance(seconds(19));
  display.update({0.9, 900'000});
  clock_.advance(seconds(1) - milliseconds(1));
  // Within the redraw interval, but the final state is always shown.
  display.finish({1.0, 1'000'000});
  ASSERT_EQ(writes_.size(), 3U);
  EXPECT_EQ(writes_[1],
            "\rsnapshot ks.t [##########] 100%  1,000,000 rows  50,003 rows/s  took 0:20");
  EXPECT_EQ(writes_[2], "\n");
  clock_.advance(seconds(1));
  display.update({1.0, 2'000'000});
  display.finish({1.0, 2'000'000});
  EXPECT_EQ(writes_.size(), 3U);
}

TEST_F(ProgressDisplayTest, LinesFinishWritesALastLine) {
  auto display = make(Mode::kLines);
  clock_.advance(seconds(20));
  display.update({0.9, 900'000});
  clock_.advance(seconds(1));
  display.finish({1.0, 1'050'000});
  ASSERT_EQ(writes_.size(), 2U);
  EXPECT_EQ(writes_[1], "snapshot ks.t: 100% (1050000 rows, 50000 rows/s, took 0:21)");
  display.update({1.0, 2'000'000});
  display.finish({1.0, 2'000'000});
  EXPECT_EQ(writes_.size(), 2U);
}

TEST_F(ProgressDisplayTest, FinishBeforeAnyUpdate) {
  auto display = make(Mode::kTerminal, 4);
  display.finish({0.5, 3});
  ASSERT_EQ(writes_.size(), 2U);
  EXPECT_EQ(writes_[0], "\rsnapshot ks.t [##..]  50%  3 rows  0 rows/s  took 0:00");
}

TEST(ProgressDisplayModeTest, TerminalOnlyOnANonDumbTerminal) {
  EXPECT_EQ(ProgressDisplay::modeFor(true, "xterm-256color"), Mode::kTerminal);
  EXPECT_EQ(ProgressDisplay::modeFor(true, nullptr), Mode::kTerminal);
  EXPECT_EQ(ProgressDisplay::modeFor(true, "dumb"), Mode::kLines);
  EXPECT_EQ(ProgressDisplay::modeFor(false, "xterm"), Mode::kLines);
  EXPECT_EQ(ProgressDisplay::detect(-1), Mode::kLines);
}

TEST_F(ProgressDisplayTest, TwoThreadsUpdating) {
  ProgressDisplay::Options options;
  options.label = "t";
  options.mode = Mode::kTerminal;
  options.redraw_interval = milliseconds(0);
  auto display = makeWith(std::move(options));
  clock_.advance(seconds(1));
  constexpr std::uint64_t kPerThread = 5000;
  auto work = [&display](std::uint64_t offset) {
    for (std::uint64_t i = 1; i <= kPerThread; ++i) {
      const std::uint64_t items = 2 * i + offset;
      display.update({static_cast<double>(items) / (2 * kPerThread), items});
    }
  };
  std::thread a(work, 0);
  std::thread b(work, 1);
  a.join();
  b.join();
  display.finish({1.0, 2 * kPerThread + 1});
  ASSERT_GE(writes_.size(), 3U);
  EXPECT_LE(writes_.size(), 2 * kPerThread + 2);
  for (std::size_t i = 0; i + 1 < writes_.size(); ++i) {
    ASSERT_EQ(writes_[i].front(), '\r');
    ASSERT_NE(writes_[i], writes_[i + 1]);
  }
  EXPECT_NE(writes_[writes_.size() - 2].find("100%  10,001 rows  10,001 rows/s  took 0:01"),
            std::string::npos)
      << writes_[writes_.size() - 2];
  EXPECT_EQ(writes_.back(), "\n");
}

}  // namespace
}  // namespace cesync::util
