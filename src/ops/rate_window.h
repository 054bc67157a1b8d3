#pragma once

#include <cstdint>
#include <deque>
#include <utility>

namespace cesync::ops {

/// The rate of a running total over a sliding window: totals are recorded as they come (at most
/// one sample per `resolution`), and rate() is the growth per second between the oldest sample
/// kept and the newest.
class RateWindow {
 public:
  explicit RateWindow(std::int64_t window_micros = 60'000'000,
                      std::int64_t resolution_micros = 1'000'000)
      : window_(window_micros), resolution_(resolution_micros) {}

  /// Records `total` at `now` (µs). A total smaller than the last one starts over.
  void record(std::int64_t now, std::uint64_t total) {
    if (!samples_.empty() && total < samples_.back().second) {
      samples_.clear();
    }
    if (samples_.size() >= 2 && now - samples_[samples_.size() - 2].first < resolution_) {
      samples_.back() = {now, total};
    } else {
      samples_.emplace_back(now, total);
    }
    while (samples_.size() > 2 && now - samples_.front().first > window_) {
      samples_.pop_front();
    }
  }

  /// Growth per second over the window; 0 with fewer than two samples.
  [[nodiscard]] double rate() const {
    if (samples_.size() < 2 || samples_.back().first <= samples_.front().first) {
      return 0;
    }
    return static_cast<double>(samples_.back().second - samples_.front().second) * 1e6 /
           static_cast<double>(samples_.back().first - samples_.front().first);
  }

 private:
  std::int64_t window_;
  std::int64_t resolution_;
  std::deque<std::pair<std::int64_t, std::uint64_t>> samples_;  // (µs, total), oldest first
};

}  // namespace cesync::ops
