#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/result.h"
#include "cql/protocol.h"
#include "cql/session.h"
#include "es/bulk_encoder.h"
#include "es/client.h"
#include "state/checkpoint_store.h"
#include "sync/table_schema.h"

namespace cesync::sync {

struct SnapshotOptions {
  std::string index;
  /// Each worker connects its own client with these (a client is used from one thread).
  es::ClientOptions search;
  es::BatchLimits limits;
  /// Token ranges to split the ring into; 0 = kDefaultSnapshotRanges. A resumed snapshot keeps
  /// the count it started with.
  std::size_t ranges = 0;
  /// Worker threads (at least 1), each reading one range at a time.
  std::size_t parallelism = 4;
  std::int32_t page_size = 1000;
  cql::Consistency consistency = cql::Consistency::kLocalQuorum;
  /// For a table synced both ways: its timestamp column. A document whose field of that name
  /// is newer than its row's value is an edit on the search side, not overwritten.
  std::string timestamp_column;
  /// Waits between attempts of a page whose read or write failed transiently (including bulk
  /// items still unacknowledged after the client's own budget). Forever by default: a transient
  /// fault never ends a snapshot, only `stop` does.
  BackoffPolicy retry{.initial = std::chrono::milliseconds(200),
                      .max = std::chrono::milliseconds(30'000),
                      .multiplier = 2.0,
                      .max_retries = std::nullopt};
  /// Told each fault before its retry, with what failed and the delay (called from the
  /// workers, possibly at once: it must be thread-safe). May be empty.
  std::function<void(const std::string&)> on_retry;
};

inline constexpr std::size_t kDefaultSnapshotRanges = 64;

/// Where a running snapshot is, after an acknowledged page.
struct SnapshotProgress {
  std::size_t ranges = 0;
  std::size_t ranges_done = 0;
  /// Rows read and acknowledged so far, earlier runs included.
  std::uint64_t rows = 0;
};

/// What one runSnapshot call did.
struct SnapshotReport {
  /// Rows read by this call (a resumed range re-reads the partition it stopped in).
  std::uint64_t rows = 0;
  std::uint64_t indexed = 0;
  std::uint64_t already_newer = 0;
  std::uint64_t dead_letters = 0;
  std::size_t ranges = 0;
  /// Ranges that had saved progress when the call began (finished ones are not read again,
  /// the others continue from their saved token).
  std::size_t ranges_resumed = 0;
};

enum class SnapshotState : std::uint8_t { kNone, kRunning, kDone };

/// A table's snapshot as the state store records it.
struct SnapshotStatus {
  SnapshotState state = SnapshotState::kNone;
  std::size_t ranges = 0;
  std::size_t ranges_done = 0;
  std::uint64_t rows = 0;
  std::int64_t started_micros = 0;
  std::int64_t finished_micros = 0;  // 0 until done
};

/// A range (start, end] of the Murmur3 token ring.
struct TokenRange {
  std::int64_t start = 0;
  std::int64_t end = 0;
};

/// The ring (INT64_MIN, INT64_MAX] cut into `count` (>= 1) contiguous ranges of equal width.
/// Murmur3 never yields INT64_MIN, so the ranges hold every token.
std::vector<TokenRange> splitTokenRing(std::size_t count);

/// "ks.t/snapshot": the scope of a table's snapshot cursors.
std::string snapshotScope(const TableSchema& schema);

/// The recorded state of the snapshot of `qualified_table` ("ks.t").
Result<SnapshotStatus> snapshotStatus(state::CheckpointStore& store,
                                      const std::string& qualified_table);

/// Forgets the snapshot progress of `qualified_table` ("ks.t"): the next run starts over.
Status resetSnapshot(state::CheckpointStore& store, const std::string& qualified_table);

/// Copies every row of a table into its index: the token ring is split into ranges that
/// `parallelism` workers take from a shared queue and page through, writing each page as
/// versioned index items (version = the row's newest cell write time, 0 for a row with no
/// non-key cell set, so any later change wins) and checking every item. After each acknowledged
/// page, the range's position, the row count and the page's dead letters (scope
/// "ks.t/to_search") are committed together; after the last range, the snapshot is marked done.
///
/// Starts a snapshot, or resumes an unfinished one (finished ranges are skipped, the others
/// continue from the partition they stopped in). A snapshot already done does nothing: reset it
/// first to run it again. Transient faults are retried (SnapshotOptions::retry) with progress
/// kept; other errors end the call with progress saved. When `*stop` (may be null) becomes
/// true, the workers finish their current page and the call returns kCancelled. `progress` (may
/// be empty) is called after every acknowledged page, from the worker threads, one call at a
/// time. Memory per worker: one page and one bulk batch.
Result<SnapshotReport> runSnapshot(cql::Session& session, state::CheckpointStore& store,
                                   const TableSchema& schema, const SnapshotOptions& options,
                                   const Clock& clock, const std::atomic<bool>* stop,
                                   const std::function<void(const SnapshotProgress&)>& progress);

}  // namespace cesync::sync
