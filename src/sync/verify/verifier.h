#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "cql/protocol.h"
#include "cql/session.h"
#include "es/client.h"
#include "sync/table_schema.h"
#include "sync/verify/verify_merge.h"

namespace cesync::sync {

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
};

/// Where a running verify is.
struct VerifyProgress {
  std::size_t ranges = 0;
  std::size_t ranges_done = 0;
  std::uint64_t rows = 0;
};

/// What a verify found for one table.
struct VerifyReport {
  std::uint64_t rows = 0;
  std::uint64_t documents = 0;
  std::uint64_t missing = 0;
  std::uint64_t extra = 0;
  std::uint64_t stale = 0;
  /// The first VerifyOptions::examples differences of each kind (in the order found).
  std::vector<Difference> examples;

  [[nodiscard]] bool inSync() const { return missing == 0 && extra == 0 && stale == 0; }
};

/// Compares a table with its index, read-only (besides a refresh of the index, so that recent
/// writes are searchable). The token ring is cut into ranges that workers
/// take from a shared queue; each pages through its range of the table (`token(pk) > start AND
/// token(pk) <= end`, rows built into documents as the snapshot builds them) and through the
/// index's documents whose `cesync_token` is in the range, sorted by (cesync_token, the engine's
/// tiebreaker) in a point in time, and merges the two streams token by token (mergeStreams()).
///
/// A row whose document is not in its token's place is looked up by id (`_mget`): found (a
/// document with no or another `cesync_token`), it is stale; else missing. A document with no
/// row in its token's place is extra, unless its id names a key of another token whose row
/// exists (then that row's walk counted it stale). Last, documents with no `cesync_token` are
/// scanned and each looked up in the table by the key its id names: those with no row are extra
/// (those with one were counted stale by the walk). So each document is counted once.
///
/// Memory per worker: one CQL page, one search page, one token's entries per side, and a
/// bounded batch of ids to look up.
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
