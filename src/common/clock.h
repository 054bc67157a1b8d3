#pragma once

#include <chrono>
#include <cstdint>

namespace cesync {

/// Time, injected so that backoff, windows and timeouts are tested without sleeping.
class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

  virtual ~Clock() = default;
  /// Monotonic time, for deadlines and intervals.
  [[nodiscard]] virtual TimePoint now() const = 0;
  /// Wall-clock time in microseconds since the Unix epoch (Cassandra's write-time unit).
  [[nodiscard]] virtual std::int64_t wallMicros() const = 0;
};

/// The real clocks.
class SystemClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const override { return std::chrono::steady_clock::now(); }
  [[nodiscard]] std::int64_t wallMicros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

/// A clock that moves only when told to; for tests.
class ManualClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const override { return now_; }
  [[nodiscard]] std::int64_t wallMicros() const override { return wall_micros_; }
  void advance(Duration d) {
    now_ += d;
    wall_micros_ += std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  }
  void setWallMicros(std::int64_t micros) { wall_micros_ = micros; }

 private:
  TimePoint now_{};
  std::int64_t wall_micros_ = 0;
};

}  // namespace cesync
