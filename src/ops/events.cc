#include "ops/events.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cassert>

namespace cesync::ops {
namespace {

using enum MetricKind;

// The event table. Names follow Prometheus conventions: counters end in _total, durations are
// seconds. docs/OPERATIONS.md lists every metric (a unit test checks it).
const std::vector<EventSpec>& table() {
  static const std::vector<EventSpec> specs = {
      {Event::kChangelogEntries,
       "changelog_entries",
       kCounter,
       "cesync_changelog_entries_total",
       "Change-log entries read, per table.",
       {"table"},
       Severity::kNone},
      {Event::kDocumentsIndexed,
       "documents_indexed",
       kCounter,
       "cesync_documents_indexed_total",
       "Index writes the engine acknowledged, per table.",
       {"table"},
       Severity::kNone},
      {Event::kDocumentsDeleted,
       "documents_deleted",
       kCounter,
       "cesync_documents_deleted_total",
       "Document deletes the engine acknowledged, per table.",
       {"table"},
       Severity::kNone},
      {Event::kDocumentsAlreadyNewer,
       "documents_already_newer",
       kCounter,
       "cesync_documents_already_newer_total",
       "Writes left out because the index held a newer version, per table.",
       {"table"},
       Severity::kNone},
      {Event::kDocumentsEcho,
       "documents_echo",
       kCounter,
       "cesync_documents_echo_total",
       "Rows just written from the search side, not indexed back, per table.",
       {"table"},
       Severity::kNone},
      {Event::kDeadLetters,
       "dead_letters",
       kCounter,
       "cesync_dead_letters_total",
       "Rows the index refused for good, kept in the state file with their key and reason, per "
       "table.",
       {"table"},
       Severity::kWarn},
      {Event::kLag,
       "lag",
       kGauge,
       "cesync_lag_seconds",
       "Freshness: age of the oldest change-log entry not yet written to the index, per table.",
       {"table"},
       Severity::kNone},
      {Event::kStreamReport, "stream_report", kNone, "", "", {}, Severity::kInfo},
      {Event::kStreamFailed,
       "stream_failed",
       kCounter,
       "cesync_stream_failures_total",
       "Stream cycles that failed (and were retried with backoff).",
       {},
       Severity::kWarn},
      {Event::kCheckpoint,
       "checkpoint",
       kGauge,
       "cesync_checkpoint_timestamp_seconds",
       "The change-log position saved last (Unix time): a restart resumes from there.",
       {},
       Severity::kNone},
      {Event::kChangelogRetention,
       "changelog_retention",
       kGauge,
       "cesync_changelog_retention_used_ratio",
       "How far the saved change-log position trails now, as a share of changelog.ttl: at 1, "
       "entries not yet read start to expire.",
       {},
       Severity::kNone},
      {Event::kChangelogBehind,
       "changelog_behind",
       kCounter,
       "cesync_changelog_behind_warnings_total",
       "Warnings that the saved change-log position trails now by half of changelog.ttl, or by "
       "all of it.",
       {},
       Severity::kWarn},

      {Event::kSnapshotStarted, "snapshot_started", kNone, "", "", {"table"}, Severity::kInfo},
      {Event::kSnapshotProgress,
       "snapshot_progress",
       kGauge,
       "cesync_snapshot_progress_ratio",
       "How much of the table's token ring the running or last snapshot covered (0 to 1).",
       {"table"},
       Severity::kInfo},
      {Event::kSnapshotRows,
       "snapshot_rows",
       kCounter,
       "cesync_snapshot_rows_total",
       "Rows copied by snapshots, per table.",
       {"table"},
       Severity::kNone},
      {Event::kSnapshotDone,
       "snapshot_done",
       kCounter,
       "cesync_snapshots_total",
       "Snapshots finished, per table.",
       {"table"},
       Severity::kInfo},
      {Event::kSnapshotFailed,
       "snapshot_failed",
       kCounter,
       "cesync_snapshot_failures_total",
       "Snapshot attempts that failed (and were retried), per table.",
       {"table"},
       Severity::kWarn},

      {Event::kSearchDocumentsRead,
       "search_documents_read",
       kCounter,
       "cesync_search_documents_read_total",
       "Documents read from the index to bring back to Cassandra, per table.",
       {"table"},
       Severity::kNone},
      {Event::kSearchDocumentsWritten,
       "search_documents_written",
       kCounter,
       "cesync_search_documents_written_total",
       "Documents written to Cassandra (USING TIMESTAMP), per table.",
       {"table"},
       Severity::kNone},
      {Event::kSearchDocumentsDeleted,
       "search_documents_deleted",
       kCounter,
       "cesync_search_documents_deleted_total",
       "Rows deleted because their document carried the soft-delete field, per table.",
       {"table"},
       Severity::kNone},
      {Event::kSearchDocumentsNotNewer,
       "search_documents_not_newer",
       kCounter,
       "cesync_search_documents_not_newer_total",
       "Documents skipped as not newer than their row, per table.",
       {"table"},
       Severity::kNone},
      {Event::kSearchDocumentsEcho,
       "search_documents_echo",
       kCounter,
       "cesync_search_documents_echo_total",
       "Documents skipped as equal to their row (cesync's own writes), per table.",
       {"table"},
       Severity::kNone},
      {Event::kSearchDocumentsRepaired,
       "search_documents_repaired",
       kCounter,
       "cesync_search_documents_repaired_total",
       "Documents older than their row and different from it, given the row's content back, "
       "per table.",
       {"table"},
       Severity::kNone},
      {Event::kSearchDeadLetters,
       "search_dead_letters",
       kCounter,
       "cesync_search_dead_letters_total",
       "Documents that cannot become a row (wrong field types, ...), kept in the state file, per "
       "table.",
       {"table"},
       Severity::kWarn},
      {Event::kSearchPollFailed,
       "search_poll_failed",
       kCounter,
       "cesync_search_poll_failures_total",
       "Reads of an index for documents to bring back that failed (and were retried), per "
       "table.",
       {"table"},
       Severity::kWarn},
      {Event::kSearchPollAge,
       "search_poll_age",
       kGauge,
       "cesync_search_poll_age_seconds",
       "Seconds since the index was last read to the end for documents to bring back, per "
       "table.",
       {"table"},
       Severity::kNone},

      {Event::kCanaryWritten,
       "canary_written",
       kCounter,
       "cesync_canary_writes_total",
       "Canary writes made to the table, per table.",
       {"table"},
       Severity::kNone},
      {Event::kCanaryLatency,
       "canary_latency",
       kGauge,
       "cesync_canary_latency_seconds",
       "Time from the last canary write in Cassandra to its document in the index, per table.",
       {"table"},
       Severity::kDebug},
      {Event::kCanaryFailed,
       "canary_failed",
       kCounter,
       "cesync_canary_failures_total",
       "Canary writes that failed, or were not seen in the index within 2 minutes, per "
       "table.",
       {"table"},
       Severity::kWarn},

      {Event::kSideUp,
       "side_up",
       kGauge,
       "cesync_side_up",
       "1 when the health probe reaches the side (cassandra, search), else 0.",
       {"side"},
       Severity::kNone},
      {Event::kSideDown,
       "side_down",
       kCounter,
       "cesync_side_down_total",
       "Times a side became unreachable.",
       {"side"},
       Severity::kError},
      {Event::kSideBack, "side_back", kNone, "", "", {"side"}, Severity::kInfo},
      {Event::kCassandraRequests,
       "cassandra_requests",
       kCounter,
       "cesync_cassandra_requests_total",
       "CQL requests sent.",
       {},
       Severity::kNone},
      {Event::kCassandraRetries,
       "cassandra_retries",
       kCounter,
       "cesync_cassandra_retries_total",
       "CQL requests sent again by the retry policy.",
       {},
       Severity::kNone},
      {Event::kCassandraTimeouts,
       "cassandra_timeouts",
       kCounter,
       "cesync_cassandra_timeouts_total",
       "CQL requests that timed out.",
       {},
       Severity::kNone},
      {Event::kCassandraConnections,
       "cassandra_connections",
       kGauge,
       "cesync_cassandra_connections",
       "CQL connections open.",
       {},
       Severity::kNone},
      {Event::kSearchRequests,
       "search_requests",
       kCounter,
       "cesync_search_requests_total",
       "HTTP requests to the search engine that got an answer (any status).",
       {},
       Severity::kNone},
      {Event::kSearchRequestErrors,
       "search_request_errors",
       kCounter,
       "cesync_search_request_errors_total",
       "HTTP requests to the search engine that got no answer (refused, timed out, ...).",
       {},
       Severity::kNone},
      {Event::kSearchRequestRetries,
       "search_request_retries",
       kCounter,
       "cesync_search_request_retries_total",
       "Idempotent HTTP requests sent again after a fault or a 429/5xx.",
       {},
       Severity::kNone},
      {Event::kSearchBulkRequests,
       "search_bulk_requests",
       kCounter,
       "cesync_search_bulk_requests_total",
       "_bulk requests sent, retries included.",
       {},
       Severity::kNone},
      {Event::kSearchBulkRetries,
       "search_bulk_retries",
       kCounter,
       "cesync_search_bulk_retries_total",
       "_bulk requests sent again after a backoff.",
       {},
       Severity::kNone},
      {Event::kSearchBulkItemsRetried,
       "search_bulk_items_retried",
       kCounter,
       "cesync_search_bulk_items_retried_total",
       "Bulk items answered retryable (429, 5xx) and sent again.",
       {},
       Severity::kNone},
      {Event::kSearchBulkItemsRejected429,
       "search_bulk_items_rejected_429",
       kCounter,
       "cesync_search_bulk_items_rejected_429_total",
       "Bulk items the engine answered 429 (its write queue was full).",
       {},
       Severity::kNone},
      {Event::kSearchBulkInFlight,
       "search_bulk_in_flight",
       kGauge,
       "cesync_search_bulk_in_flight",
       "_bulk requests in flight now (at most bulk_max_in_flight).",
       {},
       Severity::kNone},

      {Event::kStarting, "starting", kNone, "", "", {}, Severity::kInfo},
      {Event::kAdminListening, "admin_listening", kNone, "", "", {}, Severity::kInfo},
      {Event::kStreaming, "streaming", kNone, "", "", {}, Severity::kInfo},
      {Event::kReady,
       "ready",
       kGauge,
       "cesync_ready",
       "1 when /readyz answers 200 (streaming, both sides reachable, every lag within bounds).",
       {},
       Severity::kNone},
      {Event::kConfigReloaded,
       "config_reloaded",
       kCounter,
       "cesync_config_reloads_total",
       "Table lists reloaded on SIGHUP.",
       {},
       Severity::kInfo},
      {Event::kConfigReloadFailed,
       "config_reload_failed",
       kCounter,
       "cesync_config_reload_failures_total",
       "SIGHUP reloads refused (the daemon keeps its tables).",
       {},
       Severity::kError},
      {Event::kStopping, "stopping", kNone, "", "", {}, Severity::kInfo},
      {Event::kStopped, "stopped", kNone, "", "", {}, Severity::kInfo},
      {Event::kFatal, "fatal", kNone, "", "", {}, Severity::kError},
      {Event::kBuildInfo,
       "build_info",
       kGauge,
       "cesync_build_info",
       "Always 1; the label is the running version.",
       {"version"},
       Severity::kNone},
      {Event::kStartTime,
       "start_time",
       kGauge,
       "process_start_time_seconds",
       "When the daemon started (Unix time).",
       {},
       Severity::kNone},
  };
  return specs;
}

std::vector<std::string> labelValues(Labels labels) {
  return {labels.begin(), labels.end()};
}

std::map<std::string, std::string> labelMap(const EventSpec& spec, Labels labels) {
  std::map<std::string, std::string> out;
  auto value = labels.begin();
  for (const auto& name : spec.labels) {
    out.emplace(std::string(name), value == labels.end() ? std::string() : std::string(*value++));
  }
  return out;
}

}  // namespace

std::span<const EventSpec> eventSpecs() {
  return table();
}

const EventSpec& specOf(Event event) {
  const auto& spec = table()[static_cast<std::size_t>(event)];
  assert(spec.event == event);  // the table is in the order of the enum (a unit test checks it)
  return spec;
}

Events::Events() : registry_(std::make_shared<prometheus::Registry>()) {
  counters_.resize(table().size(), nullptr);
  gauges_.resize(table().size(), nullptr);
  for (const auto& spec : table()) {
    const auto i = static_cast<std::size_t>(spec.event);
    if (spec.kind == MetricKind::kCounter) {
      counters_[i] = &prometheus::BuildCounter()
                          .Name(std::string(spec.metric))
                          .Help(std::string(spec.help))
                          .Register(*registry_);
    } else if (spec.kind == MetricKind::kGauge) {
      gauges_[i] = &prometheus::BuildGauge()
                        .Name(std::string(spec.metric))
                        .Help(std::string(spec.help))
                        .Register(*registry_);
    }
  }
}

Events::~Events() = default;

prometheus::Counter* Events::counter(Event event, Labels labels) {
  auto* family = counters_[static_cast<std::size_t>(event)];
  if (family == nullptr) {
    return nullptr;
  }
  const std::lock_guard lock(mutex_);
  auto& slot = counter_series_[{event, labelValues(labels)}];
  if (slot == nullptr) {
    slot = &family->Add(labelMap(specOf(event), labels));
  }
  return slot;
}

prometheus::Gauge* Events::gauge(Event event, Labels labels) {
  auto* family = gauges_[static_cast<std::size_t>(event)];
  if (family == nullptr) {
    return nullptr;
  }
  const std::lock_guard lock(mutex_);
  auto& slot = gauge_series_[{event, labelValues(labels)}];
  if (slot == nullptr) {
    slot = &family->Add(labelMap(specOf(event), labels));
  }
  return slot;
}

void Events::count(Event event, Labels labels, double n) {
  if (auto* c = counter(event, labels)) {
    c->Increment(std::max(0.0, n));
  } else if (auto* g = gauge(event, labels)) {
    g->Increment(n);
  }
}

void Events::set(Event event, Labels labels, double value) {
  if (auto* g = gauge(event, labels)) {
    g->Set(value);
  }
}

void Events::total(Event event, Labels labels, double total) {
  if (auto* c = counter(event, labels); c != nullptr && total > c->Value()) {
    c->Increment(total - c->Value());
  }
}

void Events::log(Event event, Labels labels, std::string_view message, double n) {
  const auto& spec = specOf(event);
  if (spec.level != Severity::kNone) {
    std::vector<LogField> fields;
    auto value = labels.begin();
    for (const auto& name : spec.labels) {
      if (value == labels.end()) {
        break;
      }
      fields.emplace_back(name, *value++);
    }
    logLine(spec.level, spec.name, fields, message);
  }
  if (spec.kind == MetricKind::kCounter) {
    count(event, labels, n);
  }
}

void Events::forget(std::string_view label, std::string_view value) {
  const std::lock_guard lock(mutex_);
  auto matches = [&](const Key& key) {
    const auto& spec = specOf(key.first);
    for (std::size_t i = 0; i < spec.labels.size() && i < key.second.size(); ++i) {
      if (spec.labels[i] == label && key.second[i] == value) {
        return true;
      }
    }
    return false;
  };
  std::erase_if(counter_series_, [&](const auto& entry) {
    if (!matches(entry.first)) {
      return false;
    }
    counters_[static_cast<std::size_t>(entry.first.first)]->Remove(entry.second);
    return true;
  });
  std::erase_if(gauge_series_, [&](const auto& entry) {
    if (!matches(entry.first)) {
      return false;
    }
    gauges_[static_cast<std::size_t>(entry.first.first)]->Remove(entry.second);
    return true;
  });
}

double Events::value(Event event, Labels labels) const {
  const std::lock_guard lock(mutex_);
  const Key key{event, labelValues(labels)};
  if (auto c = counter_series_.find(key); c != counter_series_.end()) {
    return c->second->Value();
  }
  if (auto g = gauge_series_.find(key); g != gauge_series_.end()) {
    return g->second->Value();
  }
  return 0;
}

std::string Events::prometheus() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace cesync::ops
