#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/logging.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
template <typename T>
class Family;
}  // namespace prometheus

namespace cesync::ops {

/// Everything the daemon reports: each event has one row in eventSpecs() (events.cc) that names
/// its metric, its labels and the level it logs at. Nothing logs or counts any other way.
enum class Event : std::uint8_t {
  // The change log to the search side, per table.
  kChangelogEntries,
  kDocumentsIndexed,
  kDocumentsDeleted,
  kDocumentsAlreadyNewer,
  kDocumentsEcho,
  kDeadLetters,
  kLag,
  kStreamReport,
  kStreamFailed,
  kCheckpoint,
  kChangelogRetention,
  kChangelogBehind,
  // Snapshots, per table.
  kSnapshotStarted,
  kSnapshotProgress,
  kSnapshotRows,
  kSnapshotDone,
  kSnapshotFailed,
  // The search side back to Cassandra, per table.
  kSearchDocumentsRead,
  kSearchDocumentsWritten,
  kSearchDocumentsDeleted,
  kSearchDocumentsNotNewer,
  kSearchDocumentsEcho,
  kSearchDocumentsRepaired,
  kSearchDeadLetters,
  kSearchPollFailed,
  kSearchPollAge,
  // The canary row, per table.
  kCanaryWritten,
  kCanaryLatency,
  kCanaryFailed,
  // The two sides, as the health probe sees them, and their clients' own counters.
  kSideUp,
  kSideDown,
  kSideBack,
  kCassandraRequests,
  kCassandraRetries,
  kCassandraTimeouts,
  kCassandraConnections,
  kSearchRequests,
  kSearchRequestErrors,
  kSearchRequestRetries,
  kSearchBulkRequests,
  kSearchBulkRetries,
  kSearchBulkItemsRetried,
  kSearchBulkItemsRejected429,
  kSearchBulkInFlight,
  // The process.
  kStarting,
  kAdminListening,
  kStreaming,
  kReady,
  kConfigReloaded,
  kConfigReloadFailed,
  kStopping,
  kStopped,
  kFatal,
  kBuildInfo,
  kStartTime,
};

/// Where an event goes: a counter (only ever grows), a gauge (set to a value) or no metric.
enum class MetricKind : std::uint8_t { kNone, kCounter, kGauge };

/// One row of the event table.
struct EventSpec {
  Event event;
  std::string_view name;  // the event's name in JSON logs
  MetricKind kind;
  std::string_view metric;  // Prometheus name; empty for kNone
  std::string_view help;
  std::vector<std::string_view> labels;  // label names; values are given in this order
  Severity level;  // kNone: counted only (events that happen per row or per request)
};

/// Every event, in the order of the enum.
std::span<const EventSpec> eventSpecs();
const EventSpec& specOf(Event event);

/// Label values, in the order of the event's label names.
using Labels = std::initializer_list<std::string_view>;

/// The one place that logs and counts. Thread-safe: the pipelines emit, the admin server reads.
/// Logging goes to the process logger (common/logging.h), with secrets redacted.
class Events {
 public:
  Events();
  ~Events();
  Events(const Events&) = delete;
  Events& operator=(const Events&) = delete;

  /// Adds `n` to a counter event (or to a gauge event).
  void count(Event event, Labels labels, double n = 1);
  /// Sets a gauge event to `value`.
  void set(Event event, Labels labels, double value);
  /// Raises a counter event to `total` (a running total kept elsewhere, like a client's own
  /// counters); a smaller total is ignored.
  void total(Event event, Labels labels, double total);
  /// Logs `message` at the event's level and counts it (`n` for counters, 1 by default).
  void log(Event event, Labels labels, std::string_view message, double n = 1);
  /// Drops every series of `label` = `value` (a table removed by a reload).
  void forget(std::string_view label, std::string_view value);

  /// The current value of one series (0 if never emitted): for tests and /status.
  [[nodiscard]] double value(Event event, Labels labels) const;
  /// Prometheus text exposition of every metric.
  [[nodiscard]] std::string prometheus() const;

 private:
  using Key = std::pair<Event, std::vector<std::string>>;
  prometheus::Counter* counter(Event event, Labels labels);
  prometheus::Gauge* gauge(Event event, Labels labels);

  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<prometheus::Family<prometheus::Counter>*> counters_;  // per event, or null
  std::vector<prometheus::Family<prometheus::Gauge>*> gauges_;      // per event, or null
  mutable std::mutex mutex_;  // guards the maps below (the families guard themselves)
  std::map<Key, prometheus::Counter*> counter_series_;
  std::map<Key, prometheus::Gauge*> gauge_series_;
};

}  // namespace cesync::ops
