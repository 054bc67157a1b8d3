#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "changelog/changelog_entry.h"
#include "common/clock.h"
#include "common/result.h"
#include "es/client.h"
#include "state/checkpoint_store.h"
#include "sync/echo_marks.h"
#include "sync/table_schema.h"
#include "sync/to_search/coalescer.h"
#include "sync/to_search/doc_builder.h"
#include "sync/to_search/row_fetcher.h"

namespace cesync::sync {

struct TableSyncOptions {
  std::string index;
  es::BatchLimits limits;
  /// How long after its entry a re-read that does not yet show the entry's change (write or
  /// delete) is repeated: an entry can be readable before its change, by as much as Cassandra's
  /// batchlog replay (a write timeout and a 10 s replay period).
  std::chrono::milliseconds settle{30'000};
  std::size_t max_in_flight = 64;
  /// Keys a row re-read lists, where the table's key allows (see RowFetcher).
  std::size_t keys_per_read = RowFetcher::kKeysPerRead;
  cql::Consistency consistency = cql::Consistency::kLocalQuorum;
  /// For a table that also takes documents back (direction both): rows just written from the
  /// search side, whose change would only index the same document again.
  EchoMarks* echoes = nullptr;
  /// Also for direction both: the table's timestamp column. A document whose field of that name
  /// is newer than the row's value is an edit on the search side not yet read back: it is not
  /// overwritten.
  std::string timestamp_column;
  /// Take the table's expiry timers (rows read again when their TTL runs out) into each flush.
  /// Off for a writer that is not the daemon's stream (verify's repair): the stream owns them.
  bool expiry_timers = true;
};

/// What one flush did.
struct FlushReport {
  std::size_t work = 0;
  std::size_t indexed = 0;
  std::size_t deleted = 0;
  std::size_t already_newer = 0;
  std::size_t dead_letters = 0;
  std::size_t rechecks = 0;  // work kept to read again
  std::size_t echo = 0;      // rows just written from the search side, not indexed back
};

/// One flush read from Cassandra and encoded, waiting for its writes: TableSync::prepare()
/// makes it, the caller writes its batches (on any thread, with its own client), and
/// TableSync::finish() takes the outcome. Until then its work is outstanding.
struct PreparedFlush {
  std::vector<KeyWork> work;          // what it writes; back to the table if the writes fail
  std::vector<KeyWork> recheck;       // re-reads that did not show their change yet
  std::vector<std::string> fired;     // expiry timers whose work it holds
  std::vector<state::Cursor> timers;  // expiry timers of the rows it read, saved once written
  std::vector<es::BulkEncoder> batches;
  std::vector<std::string> ids;        // every item's document id, in order across batches
  std::vector<std::size_t> item_work;  // every item's place in `work`, likewise
  std::vector<state::DeadLetter> dead_letters;
  FlushReport report;    // what is known before writing
  std::int64_t now = 0;  // when it was read (µs)

  /// The batches to write (the non-empty ones); the pointers live as long as this flush.
  [[nodiscard]] std::vector<const es::BulkEncoder*> toSend() const;
  /// The oldest entry time (µs) of its work; nullopt when it holds none.
  [[nodiscard]] std::optional<std::int64_t> oldestEntry() const;
};

/// An expiry timer (scope expiryScope(schema)): the row (or partition) is read again at
/// `due_micros`, and a document it no longer has is deleted at `version`, the version of the
/// document written when the timer was set.
state::Cursor expiryTimer(const TableSchema& schema, KeyWork::Scope scope,
                          const std::vector<cql::Bytes>& pk, const std::vector<cql::Bytes>& ck,
                          std::int64_t due_micros, std::int64_t version, std::int64_t now);
/// The timer of a fetched row with a TTL left on any cell (due when the least one runs out, plus
/// a second), carrying the version its document is written at; nullopt when it has none.
std::optional<state::Cursor> rowExpiryTimer(const RowFetcher& fetcher, const cql::Row& row,
                                            std::int64_t version, std::int64_t now);
/// "keyspace.table/expiry".
std::string expiryScope(const TableSchema& schema);
/// The serialized values of a fetched row's key columns `names` (partition key or clustering).
std::vector<cql::Bytes> keyPartsOf(const TableSchema& schema, const cql::Row& row,
                                   const std::vector<std::string>& names);

/// One table's way to its index: change-log entries are coalesced into re-reads, the rows as
/// they are now become versioned index and delete items (version = the newest write time, so
/// an older replay can never win), and every item's outcome is checked. Rejected documents are
/// dead-lettered with their id and reason in the state store; anything not acknowledged keeps
/// its work for the next flush, so nothing is lost.
class TableSync {
 public:
  TableSync(cql::Session& session, es::EsClient& search, state::CheckpointStore& store,
            TableSchema schema, TableSyncOptions options, const Clock& clock);

  void add(const changelog::ChangelogEntry& entry) { coalescer_.add(entry); }
  /// Work named otherwise than by the change log (verify's repair), written at the next flush.
  void addWork(KeyWork work);

  /// Re-reads and writes everything added since the last flush, and the re-reads still
  /// settling. On an error the work is kept and the next flush tries again. The same as
  /// stage(), prepare(), writing the batches with the table's client, finish().
  [[nodiscard]] Result<FlushReport> flush();

  /// A flush in three steps, so that a stream can read the next rows while the writes of the
  /// last are in flight. stage() takes in what is due: new entries, expiry timers, re-reads
  /// whose wait is over.
  [[nodiscard]] Status stage();
  /// True when preparing the staged work reads the index (a table synced both ways, or a
  /// partition that may hold several documents): writes still in flight must land first.
  [[nodiscard]] bool readsIndex() const;
  /// Re-reads the staged rows and encodes their writes. On an error the work stays staged.
  [[nodiscard]] Result<PreparedFlush> prepare();
  /// Takes the outcome of writing `flush`'s batches (one result per toSend() batch): dead
  /// letters and timers are saved, and settling re-reads wait for their turn. On an error
  /// (a batch or an item not written) the flush's work is staged again for the next one.
  [[nodiscard]] Result<FlushReport> finish(PreparedFlush flush,
                                           const std::vector<Result<es::BulkWriteResult>>& results);

  /// The oldest entry time (µs) of work not yet written for good, apart from prepared flushes
  /// (their holder adds them); the checkpoint must not pass it. nullopt when nothing is
  /// outstanding.
  [[nodiscard]] std::optional<std::int64_t> oldestOutstanding() const;
  /// Like oldestOutstanding(), without the re-reads that are settling: their rows are written
  /// as they are now and only checked again. The stream's lag is measured from this.
  [[nodiscard]] std::optional<std::int64_t> oldestUnwritten() const;

  /// "keyspace.table/to_search": the dead letters' scope.
  [[nodiscard]] std::string scope() const;
  /// "keyspace.table/expiry": timers that read rows again when their TTL runs out.
  [[nodiscard]] std::string timerScope() const;

 private:
  es::EsClient& search_;
  state::CheckpointStore& store_;
  TableSchema schema_;
  TableSyncOptions options_;
  const Clock& clock_;
  Coalescer coalescer_;
  RowFetcher fetcher_;
  DocBuilder builder_;
  std::string table_name_;                 // keyspace.table
  int timestamp_column_;                   // -1: not synced both ways
  std::vector<KeyWork> work_;              // to read and write at the next flush
  std::vector<KeyWork> waiting_;           // re-reads still settling, until their recheck time
  std::vector<std::string> fired_;         // timers taken and not yet erased (staged or prepared)
  std::vector<std::string> fired_staged_;  // of them, those whose work is in work_

  Status takeDueTimers(std::int64_t now);
  /// A row of a partition that holds only static values (null clustering values).
  [[nodiscard]] bool staticOnly(const cql::Row& row) const;
  [[nodiscard]] state::Cursor timerFor(const KeyWork& w, std::int64_t now) const;
};

}  // namespace cesync::sync
