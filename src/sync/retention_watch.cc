#include "sync/retention_watch.h"

#include <algorithm>

namespace cesync::sync {
namespace {

// Falling this far below a threshold arms its warning again.
constexpr double kHysteresis = 0.1;

}  // namespace

RetentionWatch::Reading RetentionWatch::observe(std::int64_t checkpoint_micros,
                                                std::int64_t now_micros) {
  const auto ttl_micros = std::chrono::duration_cast<std::chrono::microseconds>(ttl_).count();
  if (ttl_micros <= 0) {
    return {};
  }
  const double share =
      static_cast<double>(std::max<std::int64_t>(0, now_micros - checkpoint_micros)) /
      static_cast<double>(ttl_micros);
  const int level = share >= 1.0 ? 2 : share >= kWarnShare ? 1 : 0;
  Reading r{.share = share, .warn = level > level_};
  if (level > level_) {
    level_ = level;
  } else if (level_ == 2 && share < 1.0 - kHysteresis) {
    level_ = share >= kWarnShare ? 1 : 0;
  } else if (level_ == 1 && share < kWarnShare - kHysteresis) {
    level_ = 0;
  }
  return r;
}

}  // namespace cesync::sync
