#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "config/config.h"
#include "state/checkpoint_store.h"
#include "sync/to_cassandra/index_sync.h"
#include "sync/to_search/change_stream.h"
#include "sync/to_search/snapshot.h"

namespace cesync::sync {

/// The way back of a table that takes documents from its index (direction both or
/// to_cassandra).
struct BackStatus {
  /// The newest document timestamp written (ms); nullopt before the first.
  std::optional<std::int64_t> checkpoint_ms;
  IndexCounts counts;
  std::uint64_t dead_letter_count = 0;
  std::vector<state::DeadLetter> dead_letters;  // newest first
};

/// One table's state as the state store holds it.
struct TableStatus {
  config::TableConfig config;
  SnapshotStatus snapshot;
  /// Where the change-log reader resumes (shared by every table); nullopt before the first run.
  std::optional<std::int64_t> checkpoint_micros;
  /// Every change of the table logged before this was written when the checkpoint was saved.
  std::optional<std::int64_t> applied_micros;
  StreamCounts counts;
  std::uint64_t dead_letter_count = 0;
  std::vector<state::DeadLetter> dead_letters;  // newest first
  std::optional<BackStatus> back;
};

/// `cesync status`: every configured table's snapshot, checkpoint, lag and counts, read from the
/// state store alone (it works while the daemon runs, and when the servers are down).
struct StatusReport {
  std::int64_t now_micros = 0;
  std::vector<TableStatus> tables;
  /// A running daemon's live view (a JSON object), shown as "daemon"; empty from the CLI.
  std::string daemon_json;

  /// Reads the status of every table of `config`, with at most `dead_letter_limit` dead letters
  /// each.
  static Result<StatusReport> read(const config::Config& config, state::CheckpointStore& store,
                                   const Clock& clock, std::uint32_t dead_letter_limit = 10);

  /// One JSON object: {"now","tables":[{"table","index","direction","snapshot":{...},
  /// "checkpoint","lag_seconds","counts":{...},"dead_letters":[...], and for tables that take
  /// documents back "to_cassandra":{"checkpoint","counts":{...},"dead_letters":[...]}}]}
  /// (README.md).
  [[nodiscard]] std::string json() const;
  /// Lines for a person.
  [[nodiscard]] std::string text() const;
};

}  // namespace cesync::sync
