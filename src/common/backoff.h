#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>

#include "common/result.h"

namespace cesync {

/// Settings for retrying a transient failure.
struct BackoffPolicy {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{10'000};
  double multiplier = 2.0;
  /// Attempts after the first; nullopt retries forever (the daemon never gives up on a
  /// transient fault).
  std::optional<std::uint32_t> max_retries = 8;
};

/// Exponential backoff with "full jitter": the n-th delay is uniform in [0, min(max, initial *
/// multiplier^n)], so that many clients retrying at once spread out instead of stampeding.
class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy, std::uint64_t seed = std::random_device{}());

  /// The delay before the next attempt, or nullopt when the retry budget is spent.
  [[nodiscard]] std::optional<std::chrono::milliseconds> next();
  /// next() after a failure that `what` describes: the delay, or kUnavailable "<what> (gave up
  /// after N attempts)" when the budget is spent.
  [[nodiscard]] Result<std::chrono::milliseconds> nextAfter(const std::string& what);
  /// Forget past failures (call after a success).
  void reset() { attempt_ = 0; }
  [[nodiscard]] std::uint32_t attempts() const { return attempt_; }

 private:
  BackoffPolicy policy_;
  std::uint32_t attempt_ = 0;
  std::mt19937_64 rng_;
};

/// Sleeps for `duration` in steps of at most 50 ms, so that a stop is honoured quickly: false as
/// soon as `stopping()` is true (it is asked before, between steps and after).
[[nodiscard]] bool sleepUnlessStopped(std::chrono::nanoseconds duration,
                                      const std::function<bool()>& stopping);

}  // namespace cesync
