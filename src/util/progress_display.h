#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace cesync::util {

/// What one update reports.
struct Progress {
  /// Share of the work done, 0..1 (e.g. token-ring coverage); negative or NaN = unknown.
  double fraction = -1;
  /// Items (rows) done so far, in total over all workers.
  std::uint64_t items = 0;
};

/// `d` as m:ss below an hour, h:mm:ss from an hour on (e.g. "0:07", "12:30", "1:02:03").
/// Negative durations are shown as 0:00.
[[nodiscard]] std::string formatDuration(std::chrono::seconds d);

/// `n` in decimal with ',' between groups of three digits (e.g. "152,340").
[[nodiscard]] std::string formatCount(std::uint64_t n);

/// Shows the progress of one long task (snapshot, verify): on a terminal a bar redrawn in place,
/// otherwise a plain line every so often, fit for a log. Both show the share done, the item count,
/// the rate since construction and the time left, estimated from the share: elapsed * (1 - f) / f.
///
/// On a terminal:
///
///   snapshot ks.t [#########.....................]  31%  152,340 rows  48,201 rows/s  ETA 0:07
///
/// As lines:
///
///   snapshot ks.t: 31% (152340 rows, 48201 rows/s, ETA 0:07)
///
/// The shown share and count never go backwards, so workers racing to report may call update()
/// out of order. update() and finish() may be called from any thread; `write` is called under an
/// internal lock (one call at a time, in order) and must not call back into the display.
class ProgressDisplay {
 public:
  enum class Mode {
    /// Redraws one line in place with '\r'; ends it with '\n' on finish().
    kTerminal,
    /// Whole lines, no '\r' and no trailing '\n', at most one per `line_interval`.
    kLines,
  };

  struct Options {
    /// What is being done, shown first (e.g. "snapshot ks.t").
    std::string label;
    /// What the items are, after the count and in the rate.
    std::string unit = "rows";
    Mode mode = Mode::kLines;
    /// kLines: the first update at least this long after the previous line (or after
    /// construction, for the first line) writes one line; others write nothing.
    std::chrono::milliseconds line_interval{10'000};
    /// kTerminal: redraw at most this often, and only when the text changed.
    std::chrono::milliseconds redraw_interval{100};
    /// kTerminal: characters between the brackets of the bar; at least 1.
    int width = 30;
  };

  /// Receives the text to show. kTerminal: "\r" + line + padding over a longer previous line, and
  /// a final "\n" from finish(); kLines: one whole line per call, without '\n'.
  using Writer = std::function<void(std::string_view)>;

  /// Starts the elapsed time at `clock.now()`. `clock` must outlive the display.
  ProgressDisplay(Options options, Writer write, const Clock& clock);

  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  /// Reports progress; writes when the mode's interval has passed (and, on a terminal, the text
  /// changed). Ignored after finish().
  void update(const Progress& progress);

  /// Reports the final state and writes it whatever the intervals, with the total time taken in
  /// place of the ETA. kTerminal: the bar followed by '\n'; kLines: one last line. Only the first
  /// call writes; later update() and finish() calls are ignored.
  void finish(const Progress& progress);

  /// kTerminal when `fd` is a terminal and $TERM is not "dumb", else kLines.
  [[nodiscard]] static Mode detect(int fd);

  /// The rule behind detect(), without the environment: `term` is $TERM, or null when unset.
  [[nodiscard]] static Mode modeFor(bool is_terminal, const char* term);

 private:
  /// The text for the current state, `done` choosing the time taken over the ETA.
  [[nodiscard]] std::string render(Clock::TimePoint now, bool done) const;
  void absorb(const Progress& progress);
  void draw(const std::string& text);

  const Options options_;
  const Writer write_;
  const Clock& clock_;
  const Clock::TimePoint start_;

  std::mutex mutex_;
  std::optional<double> fraction_;  // the largest known fraction so far
  std::uint64_t items_ = 0;         // the largest count so far
  std::optional<Clock::TimePoint> last_write_;
  std::string last_text_;       // kTerminal: the line on screen
  std::size_t last_width_ = 0;  // kTerminal: its width, to blank out after a shorter one
  bool finished_ = false;
};

}  // namespace cesync::util
