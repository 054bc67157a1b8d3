#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "cql/session.h"
#include "es/client.h"
#include "ops/events.h"

namespace cesync::sync {

/// What the probe last saw of one side.
struct SideState {
  bool up = true;
  std::string error;              // why it is down (empty when up)
  std::int64_t since_micros = 0;  // when it went down or came back
};

/// Asks both sides whether they answer, every `interval`, from a thread of its own: the
/// pipelines may be deep in their retries while a side is down, the probe is not. A side is down
/// after `failures_to_down` failed probes in a row, and up again after one answer. The probe
/// sets cesync_side_up and logs each change (side_down, side_back).
class SideProbe {
 public:
  struct Options {
    std::chrono::milliseconds interval{2'000};
    std::chrono::milliseconds timeout{5'000};
    int failures_to_down = 2;
  };

  /// `session`, `events` and `clock` must outlive the probe; `search` is the probe's own client
  /// (clients are used from one thread).
  SideProbe(cql::Session& session, std::unique_ptr<es::EsClient> search, ops::Events& events,
            const Clock& clock, Options options);
  ~SideProbe();
  SideProbe(const SideProbe&) = delete;
  SideProbe& operator=(const SideProbe&) = delete;

  void start();
  /// Stops the thread and waits for it. Idempotent.
  void stop();

  [[nodiscard]] SideState cassandra() const;
  [[nodiscard]] SideState search() const;
  /// How many times a side came back: a change tells the pipelines to retry now instead of
  /// waiting out their backoff.
  [[nodiscard]] std::uint64_t comebacks() const { return comebacks_.load(); }

 private:
  struct Side {
    const char* name = "";   // the metric's label
    const char* title = "";  // for people
    SideState state;
    int failures = 0;
  };
  void loop();
  void record(Side& side, const Status& answer);
  Status probeCassandra();
  Status probeSearch();

  cql::Session& session_;
  std::unique_ptr<es::EsClient> search_client_;
  ops::Events& events_;
  const Clock& clock_;
  Options options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  Side cassandra_{"cassandra", "Cassandra", {}, 0};
  Side search_{"search", "the search engine", {}, 0};
  std::atomic<std::uint64_t> comebacks_{0};
  std::thread thread_;
};

}  // namespace cesync::sync
