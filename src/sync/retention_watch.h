#pragma once

#include <chrono>
#include <cstdint>

namespace cesync::sync {

/// How far the change-log checkpoint trails behind now, as a share of the log's lifetime
/// (`changelog.ttl`): entries older than the TTL expire unread, so a daemon that falls that far
/// behind loses changes. The share is a gauge; crossing kWarnShare, and again crossing 1, calls
/// for a warning. Pure: the caller passes the times in.
class RetentionWatch {
 public:
  /// The share of the TTL at which the daemon warns.
  static constexpr double kWarnShare = 0.5;

  /// What one observation found.
  struct Reading {
    double share = 0;   // (now - checkpoint) / ttl; 0 when the TTL is not positive
    bool warn = false;  // the share just crossed kWarnShare, or 1, upwards
  };

  explicit RetentionWatch(std::chrono::milliseconds ttl) : ttl_(ttl) {}

  /// `checkpoint_micros` and `now_micros` are wall-clock µs. A warning is due once per upward
  /// crossing: falling back below a threshold (by a tenth of the TTL, so a checkpoint hovering
  /// at it does not warn every cycle) arms it again.
  Reading observe(std::int64_t checkpoint_micros, std::int64_t now_micros);

 private:
  std::chrono::milliseconds ttl_;
  int level_ = 0;  // 0 below kWarnShare, 1 from kWarnShare, 2 from the whole TTL
};

}  // namespace cesync::sync
