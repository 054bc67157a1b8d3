#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "cql/session.h"
#include "es/bulk_encoder.h"
#include "es/client.h"
#include "state/checkpoint_store.h"
#include "sync/echo_marks.h"
#include "sync/table_schema.h"
#include "sync/to_cassandra/doc_values.h"
#include "sync/to_search/doc_builder.h"
#include "sync/to_search/row_fetcher.h"

namespace simdjson::dom {
class parser;
}

namespace cesync::sync {

struct IndexSyncOptions {
  std::string index;
  /// A `timestamp` column of the table; documents carry it as a field, and it orders edits.
  std::string timestamp_column;
  /// A document whose field of this name is true deletes its row.
  std::string soft_delete_field = "cesync_deleted";
  /// Each poll reads again this far behind its checkpoint: documents can become visible after
  /// later ones (refresh interval, writes in flight, writers' clock skew).
  std::chrono::milliseconds overlap{30'000};
  std::size_t page_size = 500;
  std::size_t max_in_flight = 64;
  cql::Consistency consistency = cql::Consistency::kLocalQuorum;
};

/// Cumulative counts of one index's way back to its table, saved with its checkpoint.
struct IndexCounts {
  std::uint64_t read = 0;       // documents read (repeats within the overlap not counted)
  std::uint64_t written = 0;    // rows written
  std::uint64_t deleted = 0;    // rows deleted by a soft delete
  std::uint64_t not_newer = 0;  // skipped: the row was as new or newer
  std::uint64_t echo = 0;       // skipped: the row already held the document's content
  std::uint64_t repaired = 0;   // documents older than their row, given the row's content back
};

/// One table's documents back into Cassandra (docs/ARCHITECTURE.md, "Search to Cassandra"): each
/// poll scans the index with a point in time sorted by (timestamp field, tiebreaker) from the
/// checkpoint minus the overlap, reads the rows the documents name, and writes each document
/// that is newer than its row `USING TIMESTAMP` its timestamp (µs), so that Cassandra's
/// last-write-wins makes repeats and races harmless. The checkpoint (the newest timestamp
/// written, in ms) moves after each page, with the page's dead letters.
class IndexSync {
 public:
  IndexSync(cql::Session& session, es::EsClient& search, state::CheckpointStore& store,
            TableSchema schema, IndexSyncOptions options, EchoMarks& echoes, const Clock& clock);
  ~IndexSync();
  IndexSync(const IndexSync&) = delete;
  IndexSync& operator=(const IndexSync&) = delete;

  /// kConfig (naming the table and column) when the timestamp column is missing, not of type
  /// `timestamp`, or the table cannot take writes from documents (counter columns).
  static Status checkTable(const TableSchema& schema, const std::string& timestamp_column);

  /// Loads the checkpoint and counts.
  [[nodiscard]] Status start();
  /// Reads every document from the checkpoint minus the overlap and writes what is newer. A
  /// failure keeps the checkpoint of the last page done, so the next poll repeats the rest.
  [[nodiscard]] Status poll(const std::atomic<bool>& stop);

  /// "keyspace.table/to_cassandra": the scope of the checkpoint, counts and dead letters.
  [[nodiscard]] std::string scope() const;
  [[nodiscard]] const IndexCounts& counts() const { return counts_; }
  /// The newest document timestamp written (ms since the epoch); 0 before the first.
  [[nodiscard]] std::int64_t position() const { return position_ms_; }

  /// Reads the saved counts and checkpoint of `qualified_table` ("ks.t").
  static Result<IndexCounts> readCounts(state::CheckpointStore& store,
                                        const std::string& qualified_table);
  static Result<std::optional<std::int64_t>> readPosition(state::CheckpointStore& store,
                                                          const std::string& qualified_table);

 private:
  struct Pending;
  struct Repairs {
    es::BulkEncoder batch;
    std::vector<std::string> ids;
  };
  Status addRepair(Repairs& repairs, const Pending& p, const cql::Row& row);
  Status sendRepairs(Repairs& repairs, std::vector<state::DeadLetter>& dead_letters);

  Status handlePage(const std::vector<es::SearchHit>& hits);
  Status writeAll(std::vector<Pending>& pending, std::vector<state::DeadLetter>& dead_letters);
  [[nodiscard]] bool sameAsRow(const std::vector<cql::Value>& values, const cql::Row& row) const;
  Result<bool> softDeleted(std::string_view source);
  [[nodiscard]] std::string sortJson() const;
  [[nodiscard]] std::string queryJson(std::int64_t from_ms) const;

  cql::Session& session_;
  es::EsClient& search_;
  state::CheckpointStore& store_;
  TableSchema schema_;
  IndexSyncOptions options_;
  EchoMarks& echoes_;
  const Clock& clock_;
  RowFetcher fetcher_;
  DocValues values_;
  DocBuilder builder_;
  std::unique_ptr<simdjson::dom::parser>
      soft_delete_parser_;  // reused from one document to the next
  std::size_t timestamp_index_ = 0;
  cql::PreparedPtr insert_;
  cql::PreparedPtr delete_;
  std::int64_t position_ms_ = 0;
  IndexCounts counts_;
  /// Documents handled within the overlap, by id: a hash of the source handled, and when (the
  /// document's timestamp or the checkpoint then, ms). Forgotten once behind the overlap.
  struct Handled {
    std::size_t fingerprint = 0;
    std::int64_t seen_at_ms = 0;
  };
  std::map<std::string, Handled> handled_;
};

}  // namespace cesync::sync
