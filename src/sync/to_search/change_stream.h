#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "changelog/changelog_reader.h"
#include "common/clock.h"
#include "common/result.h"
#include "es/client.h"
#include "state/checkpoint_store.h"
#include "sync/table_schema.h"
#include "sync/to_search/table_sync.h"

namespace cesync::sync {

/// Cumulative counts of one table's stream, saved with the checkpoint (`cesync status`).
struct StreamCounts {
  std::uint64_t entries = 0;
  std::uint64_t indexed = 0;
  std::uint64_t deleted = 0;
  std::uint64_t already_newer = 0;
  std::uint64_t echo = 0;  // rows written from the search side, not indexed back
};

/// One table's stream as the metrics and the log show it.
struct TableProgress {
  std::string table;  // keyspace.table
  StreamCounts counts;
  /// Every change of the table read before this time (µs) is written: now minus this is the
  /// table's lag.
  std::int64_t applied_micros = 0;
};

/// What one cycle of the stream did.
struct CycleReport {
  std::size_t entries = 0;    // change-log entries read
  std::size_t untracked = 0;  // of them, entries of tables not streamed here
  FlushReport flushed;        // summed over the tables
};

/// The pause before the next cycle: none while the log is read behind, else what is left of
/// `poll_interval` after a cycle that took `took`. Polls start at most once per interval, and a
/// cycle that took longer (writing many changes) is followed at once: its wait is over.
[[nodiscard]] std::chrono::milliseconds pauseAfterCycle(std::chrono::milliseconds poll_interval,
                                                        std::chrono::steady_clock::duration took,
                                                        bool behind);

/// A table the stream sends to its index.
struct StreamTable {
  TableSchema schema;
  TableSyncOptions options;
};

/// The state-store names the stream uses. The change-log position is one cursor for the whole
/// log; each table has its counts and the time up to which its changes are applied.
struct StreamCursors {
  /// "changelog/<keyspace>.<table>": the position ("position") the reader resumes from.
  static std::string logScope(const changelog::ReaderOptions& reader);
  /// "<keyspace>.<table>/to_search": "applied", "entries", "indexed", "deleted", "already_newer".
  static std::string tableScope(const std::string& qualified_table);
  /// A cursor holding a number (every cursor above); nullopt when never saved.
  static Result<std::optional<std::int64_t>> readNumber(state::CheckpointStore& store,
                                                        const std::string& scope,
                                                        const std::string& name);
  /// The table's saved counts (zero when never saved).
  static Result<StreamCounts> readCounts(state::CheckpointStore& store,
                                         const std::string& qualified_table);
};

/// The Cassandra-to-search stream of every tracked table: the change-log reader feeds each
/// table's TableSync, and the checkpoint moves only over entries whose every write the index
/// acknowledged. One cycle = one poll and one flush of every table; the caller loops, sleeps
/// and handles errors (a failed cycle keeps its work for the next).
///
/// With a `writer` client, a cycle's writes are sent from a thread of their own and land
/// during the next cycle, which meanwhile polls the log and re-reads its rows: reading and
/// writing overlap. One cycle's writes are in flight at a time, and they land before the next
/// cycle's are sent or anything reads the index (TableSync::readsIndex), so writes to one key
/// still go out in order. Without a writer, each cycle writes before it returns.
class ChangeStream {
 public:
  ChangeStream(cql::Session& session, es::EsClient& search, state::CheckpointStore& store,
               changelog::ReaderOptions reader, std::vector<StreamTable> tables,
               std::chrono::milliseconds checkpoint_interval, const Clock& clock,
               es::EsClient* writer = nullptr);
  ChangeStream(const ChangeStream&) = delete;
  ChangeStream& operator=(const ChangeStream&) = delete;
  /// Waits for writes in flight (their outcome is dropped: the work stays unacknowledged).
  ~ChangeStream();

  /// Resumes from the saved position. With none (a first run), saves `now - confidence window`
  /// as the position before anything else happens, so that a snapshot taken after this call
  /// and the stream together miss nothing. Returns the position.
  [[nodiscard]] Result<std::int64_t> start();

  /// Reads new change-log entries and writes what they name. Every table is flushed even when
  /// one fails; the first error is returned, and the failed work is kept.
  [[nodiscard]] Result<CycleReport> cycle();

  /// Waits for the writes in flight and takes their outcome (before a stop or a --once end).
  [[nodiscard]] Result<CycleReport> drain();

  /// Saves the checkpoint and the tables' counts when they changed, at most once per
  /// checkpoint interval unless `force`.
  [[nodiscard]] Status saveCheckpoint(bool force);

  /// True when every entry logged before `micros` has been read and written for good.
  [[nodiscard]] bool caughtUpTo(std::int64_t micros) const;
  /// True when the last poll left entries to read (no pause before the next cycle).
  [[nodiscard]] bool behind() const { return reader_.behind(); }
  /// True when work is waiting to be read again (rows that did not show their change yet).
  [[nodiscard]] bool hasOutstanding() const;
  /// The oldest change not yet written, or the read position when everything read is written:
  /// now minus this is the stream's lag.
  [[nodiscard]] std::int64_t appliedThrough() const;
  [[nodiscard]] std::size_t tableCount() const { return tables_.size(); }
  /// The change-log position saved last (µs).
  [[nodiscard]] std::int64_t savedPosition() const { return saved_position_; }
  /// Every table's counts and applied time.
  [[nodiscard]] std::vector<TableProgress> progress() const;

 private:
  struct Table {
    std::unique_ptr<TableSync> sync;
    std::string name;  // keyspace.table
    StreamCounts counts;
  };

  // One cycle's writes, sent by a thread with the writer client.
  struct InFlight {
    std::vector<std::pair<std::size_t, PreparedFlush>> flushes;     // tables_ index, flush
    std::vector<std::vector<Result<es::BulkWriteResult>>> results;  // per flush, once done
    std::future<void> done;  // declared last: destroyed (joined) first
  };

  [[nodiscard]] std::int64_t tableApplied(std::size_t table) const;
  // The oldest entry of a table's writes in flight.
  [[nodiscard]] std::optional<std::int64_t> inFlightOldest(std::size_t table) const;
  // The oldest entry of a table's work not written for good, in flight included.
  [[nodiscard]] std::optional<std::int64_t> tableOutstanding(std::size_t table) const;
  // Sends the flushes: in a thread when there is a writer, else at once.
  void send(std::vector<std::pair<std::size_t, PreparedFlush>>&& flushes, CycleReport& report,
            std::optional<Error>& first_error);
  // Waits for the writes in flight, if any, and takes their outcome.
  void land(CycleReport& report, std::optional<Error>& first_error);
  // Takes one flush's outcome into the table's counts and the report.
  void finish(std::size_t table, PreparedFlush flush,
              const std::vector<Result<es::BulkWriteResult>>& results, CycleReport& report,
              std::optional<Error>& first_error);

  es::EsClient& search_;
  es::EsClient* writer_;

  state::CheckpointStore& store_;
  changelog::ReaderOptions reader_options_;
  changelog::ChangelogReader reader_;
  std::chrono::milliseconds checkpoint_interval_;
  const Clock& clock_;
  std::vector<Table> tables_;
  std::unordered_map<std::string, std::size_t> by_name_;  // keyspace.table -> tables_ index
  std::int64_t saved_position_ = 0;
  std::int64_t saved_at_micros_ = 0;
  bool counts_changed_ = false;
  std::unique_ptr<InFlight> in_flight_;
};

}  // namespace cesync::sync
