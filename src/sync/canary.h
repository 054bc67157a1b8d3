#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "config/config.h"
#include "cql/session.h"
#include "es/client.h"
#include "ops/events.h"
#include "sync/table_schema.h"

namespace cesync::sync {

/// A table's canary row (`canary_key`): written every interval through the normal write path
/// (so the trigger logs it like any write), then looked for in the index until its document
/// shows that write. The time between the two is the table's freshness measured end to end:
/// cesync_canary_latency_seconds. Only the key columns are written (and, for a table synced
/// both ways, its timestamp column), so the row's other values stay as they are.
class Canary {
 public:
  /// Checks `table.canary_key` against the schema (one value per key column, in text form).
  static Result<std::unique_ptr<Canary>> make(cql::Session& session, const TableSchema& schema,
                                              const config::TableConfig& table,
                                              std::chrono::milliseconds interval,
                                              std::chrono::milliseconds timeout,
                                              const Clock& clock);

  /// Looks for the pending write in the index, and writes the next one when it is due. Faults
  /// are logged and counted (canary_failed), never returned: the canary only observes.
  void tick(es::EsClient& search, ops::Events& events);

  /// The last latency measured (s), if any.
  [[nodiscard]] std::optional<double> lastLatency() const { return latency_; }
  [[nodiscard]] const std::string& table() const { return name_; }

 private:
  Canary(cql::Session& session, const Clock& clock) : session_(session), clock_(clock) {}
  Result<bool> seen(es::EsClient& search) const;

  cql::Session& session_;
  const Clock& clock_;
  std::string name_;  // keyspace.table
  std::string index_;
  std::string id_;               // the canary's document id
  std::string timestamp_field_;  // both ways: compare this field, since versions are internal
  cql::PreparedPtr insert_;
  std::vector<cql::Value> key_;
  std::chrono::milliseconds interval_{};
  std::chrono::milliseconds timeout_{};
  std::int64_t written_micros_ = 0;  // the pending write's timestamp; 0 = none pending
  std::int64_t next_micros_ = 0;     // when the next write is due
  std::optional<double> latency_;
};

}  // namespace cesync::sync
