#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/result.h"
#include "cql/protocol.h"
#include "cql/session.h"
#include "es/client.h"
#include "state/checkpoint_store.h"
#include "sync/table_schema.h"
#include "sync/verify/verify_merge.h"

namespace cesync::sync {

/// How `cesync verify --repair` writes: through TableSync, the stream's own versioned path.
struct RepairOptions {
  /// Where rows the index rejects are dead-lettered (the daemon's state file, so that they are
  /// counted with the stream's). Required.
  state::CheckpointStore* store = nullptr;
  es::BatchLimits limits;
  /// For a table synced both ways: its timestamp column (documents edited on the search side
  /// after the verify began are left alone).
  std::string timestamp_column;
};

struct VerifyOptions {
  std::string index;
  /// Each worker connects its own client with these (a client is used from one thread).
  es::ClientOptions search;
  /// Token ranges to split the ring into (at least 1).
  std::size_t ranges = 64;
  /// Worker threads (at least 1), each comparing one range at a time.
  std::size_t parallelism = 4;
  /// Rows per CQL page, and documents per search page (1..10000).
  std::int32_t page_size = 1000;
  cql::Consistency consistency = cql::Consistency::kLocalQuorum;
  /// False for tables synced both ways (internal versions): only content is compared.
  bool compare_versions = true;
  /// Rows read per second over all workers; 0 = no limit.
  double max_rows_per_second = 0;
  /// Differences of each kind kept as examples in the report.
  std::size_t examples = 10;
  /// A difference is read again (row by key, document by id) this long after it was found, and
  /// reported only if it is still there: a row written during the walk is not reported while
  /// the daemon is still indexing it.
  std::chrono::milliseconds recheck_after{5'000};
  /// Waits between attempts after a transient fault (a range is taken up again after its last
  /// compared token).
  BackoffPolicy retry{.initial = std::chrono::milliseconds(200),
                      .max = std::chrono::milliseconds(10'000),
                      .multiplier = 2.0,
                      .max_retries = 12};
  /// Told each fault before its retry (from the workers, possibly at once). May be empty.
  std::function<void(const std::string&)> on_retry;
  /// Set: every difference that is still there when read again is repaired.
  std::optional<RepairOptions> repair;
};

/// Where a running verify is.
struct VerifyProgress {
  std::size_t ranges = 0;
  std::size_t ranges_done = 0;
  std::uint64_t rows = 0;
};

/// What a repair wrote.
struct RepairReport {
  /// Documents written from their rows (missing or stale ones).
  std::uint64_t indexed = 0;
  /// Documents deleted (extra ones).
  std::uint64_t deleted = 0;
  /// Not written because the document had changed since it was read (by the daemon, or by an
  /// edit on the search side): to be looked at by the next verify.
  std::uint64_t skipped = 0;
  /// Rows the index refused, dead-lettered with their id and reason.
  std::uint64_t dead_letters = 0;
};

/// What a verify found for one table.
struct VerifyReport {
  std::uint64_t rows = 0;
  std::uint64_t documents = 0;
  std::uint64_t missing = 0;
  std::uint64_t extra = 0;
  std::uint64_t stale = 0;
  /// Differences seen during the walk that were gone when read again (writes in flight).
  std::uint64_t settled = 0;
  /// The first VerifyOptions::examples differences of each kind (in the order found).
  std::vector<Difference> examples;
  /// Set when the verify repaired what it found.
  std::optional<RepairReport> repair;

  [[nodiscard]] bool inSync() const { return missing == 0 && extra == 0 && stale == 0; }
  /// In sync, or every difference repaired.
  [[nodiscard]] bool clean() const {
    return inSync() || (repair && repair->skipped == 0 && repair->dead_letters == 0);
  }
};

/// Compares a table with its index, and with VerifyOptions::repair fixes what differs. The
/// token ring is cut into ranges that workers take from a shared queue; each pages through its
/// range of the table (`token(pk) > start AND token(pk) <= end`, rows built into documents as
/// the snapshot builds them) and through the index's documents whose `cesync_token` is in the
/// range, sorted by (cesync_token, the engine's tiebreaker) in a point in time, and merges the
/// two streams token by token (mergeStreams()). Last, documents with no `cesync_token` are
/// scanned. The index is refreshed first, so that recent writes are searchable.
///
/// Every difference is read again later (VerifyOptions::recheck_after): the row by the key its
/// id names and the document by id (real-time), compared as the walk compares them. Only what is
/// still different is counted, so a write in flight is not reported. A document found outside
/// its key's token place (another or no `cesync_token`) counts only when its row does not exist:
/// when it does, that row's walk finds the document missing from its place and the re-check
/// counts it stale, once.
///
/// A repair writes each confirmed difference through TableSync, as the stream would write a
/// change of that key: the row as it is now, versioned by its write time, or a delete when it
/// is gone (docs/OPERATIONS.md). It can run while the daemon streams.
///
/// A transient fault is retried (VerifyOptions::retry); a range is taken up after its last
/// compared token, so nothing is counted twice. Memory per worker: one CQL page, one search page,
/// one token's entries per side, and a bounded queue of differences waiting to be read again.
class Verifier {
 public:
  Verifier(cql::Session& session, TableSchema schema, VerifyOptions options, const Clock& clock);

  /// Runs the comparison. When `*stop` (may be null) becomes true the workers end after their
  /// current page and the call returns kCancelled. `progress` (may be empty) is called after
  /// each page and range from the worker threads, one call at a time.
  [[nodiscard]] Result<VerifyReport> run(
      const std::atomic<bool>* stop, const std::function<void(const VerifyProgress&)>& progress);

 private:
  cql::Session& session_;
  TableSchema schema_;
  VerifyOptions options_;
  const Clock& clock_;
};

/// The key a document id names (docs/TYPES.md), serialized as the table's key columns: false
/// when `id` is not the canonical id of any key of the table.
[[nodiscard]] bool keyOfDocumentId(const TableSchema& schema, std::string_view id,
                                   std::vector<cql::Bytes>& pk, std::vector<cql::Bytes>& ck);

}  // namespace cesync::sync
