#include "common/backoff.h"

#include <algorithm>
#include <cmath>
#include <thread>

namespace cesync {

Backoff::Backoff(BackoffPolicy policy, std::uint64_t seed) : policy_(policy), rng_(seed) {}

std::optional<std::chrono::milliseconds> Backoff::next() {
  if (policy_.max_retries && attempt_ >= *policy_.max_retries) {
    return std::nullopt;
  }
  const double cap = static_cast<double>(policy_.max.count());
  // Past ~60 doublings the product overflows any useful cap; clamp the exponent first.
  const double exponent = std::min<double>(attempt_, 60.0);
  const double ceiling = std::min(
      cap, static_cast<double>(policy_.initial.count()) * std::pow(policy_.multiplier, exponent));
  ++attempt_;
  std::uniform_real_distribution<double> jitter(0.0, ceiling);
  return std::chrono::milliseconds(static_cast<std::int64_t>(jitter(rng_)));
}

Result<std::chrono::milliseconds> Backoff::nextAfter(const std::string& what) {
  const auto delay = next();
  if (!delay) {
    return fail(ErrorCode::kUnavailable,
                what + " (gave up after " + std::to_string(attempt_) + " attempts)");
  }
  return *delay;
}

bool sleepUnlessStopped(std::chrono::nanoseconds duration, const std::function<bool()>& stopping) {
  constexpr std::chrono::nanoseconds kStep = std::chrono::milliseconds(50);
  while (duration.count() > 0) {
    if (stopping()) {
      return false;
    }
    const auto step = std::min(duration, kStep);
    std::this_thread::sleep_for(step);
    duration -= step;
  }
  return !stopping();
}

}  // namespace cesync
