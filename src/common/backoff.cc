#include "common/backoff.h"

#include <algorithm>
#include <cmath>

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

}  // namespace cesync
