#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "changelog/changelog_entry.h"
#include "common/clock.h"
#include "common/result.h"
#include "cql/session.h"

namespace cesync::changelog {

struct ReaderOptions {
  std::string keyspace = "cesync";
  std::string table = "changelog";
  /// Must be at least the trigger's shard count, and the bucket width equal to the trigger's.
  std::int32_t shards = 8;
  std::chrono::seconds bucket_width{60};
  /// The longest an entry may take to become readable after its id time (coordinator clock
  /// skew, slow batches). Entries later than this can be missed.
  std::chrono::milliseconds confidence_window{10'000};
  /// How often the window is read again for late entries.
  std::chrono::milliseconds sweep_interval{2'000};
  /// Every poll re-reads this much of the recent past: an entry's id time is taken before its
  /// write is applied, so it becomes readable a little after that time.
  std::chrono::milliseconds settle_time{1'000};
  std::int32_t page_size = 1000;
  /// Most new entries one poll returns (bounded memory while catching up): one stream cycle's
  /// work. 4,000 drained a backlog as fast as 10,000 with half the memory (BENCHMARKS.md),
  /// since the next cycle's rows are read while the last one's writes are in flight.
  std::size_t max_entries_per_poll = 4'000;
  cql::Consistency consistency = cql::Consistency::kLocalQuorum;
};

/// Reads the trigger's change log (docs/CHANGELOG.md) in time order, shard by shard.
///
/// Every poll reads forward from where the last one stopped (new entries, with low latency). Late
/// entries, whose id time is behind what was already read, are found by a sweep that re-reads
/// the trailing confidence window every `sweep_interval`. Entries are returned once within the
/// window (remembered by id); after a restart from safePosition() some are returned again, which
/// the sync makes harmless (versioned writes).
class ChangelogReader {
 public:
  /// Starts `confidence_window` before the clock's now; call resume() to start elsewhere.
  ChangelogReader(cql::Session& session, ReaderOptions options, const Clock& clock);

  /// Starts reading at `position_micros` (a value of safePosition() saved earlier).
  void resume(std::int64_t position_micros);

  /// Entries not returned before, at most max_entries_per_poll new ones plus late ones found by
  /// a sweep. Any error leaves the reader where it was, so the next poll retries.
  [[nodiscard]] Result<std::vector<ChangelogEntry>> poll();

  /// Every entry whose id time is before this has been returned by poll() (as long as entries
  /// become readable within the confidence window). The reader's checkpoint.
  [[nodiscard]] std::int64_t safePosition() const { return safe_micros_; }

  /// Where the forward reads stand: every entry readable at the last poll whose id time is
  /// before this has been returned. Ahead of safePosition() by about the confidence window; a
  /// late entry can still appear behind it (the sweep finds those).
  [[nodiscard]] std::int64_t readPosition() const;

  /// True when the last poll stopped at its entry budget: more is waiting.
  [[nodiscard]] bool behind() const { return behind_; }

  /// Timeuuid that sorts before every timeuuid of `micros` and later (Cassandra's minTimeuuid).
  static cql::UuidBytes minTimeuuid(std::int64_t micros);

 private:
  struct IdHash {
    std::size_t operator()(const cql::UuidBytes& id) const;
  };

  Status prepare();
  // poll() without its rollback: on an error, `out` holds the entries read before it.
  Status pollInto(std::vector<ChangelogEntry>& out);
  // One shard's read: from `from_micros` through the bucket of `to_micros` (only ids <= `until`
  // when set), at most `budget` entries not seen before.
  struct ShardQuery {
    std::int32_t shard = 0;
    std::int64_t from_micros = 0;
    std::int64_t to_micros = 0;
    std::optional<cql::UuidBytes> until;
    std::size_t budget = 0;
  };
  // What it found: the new entries in log order, whether the budget cut it short, and the time
  // of the last entry read (new or not; `from_micros` when none).
  struct ShardRead {
    std::vector<ChangelogEntry> entries;
    bool budget_hit = false;
    std::int64_t last_micros = 0;
  };
  // Reads the queries concurrently, up to 8 threads (the shards are independent partitions, and
  // a read mostly waits for the node); the first error wins. Only reads seen_.
  [[nodiscard]] Result<std::vector<ShardRead>> readShards(
      const std::vector<ShardQuery>& queries) const;
  Status readShard(const ShardQuery& query, ShardRead& read) const;
  // Remembers a read's entries as seen and appends them to `out`.
  void take(ShardRead& read, std::vector<ChangelogEntry>& out);
  Status sweep(std::int64_t now_micros, std::vector<ChangelogEntry>& out);
  [[nodiscard]] std::int64_t bucketOf(std::int64_t micros) const;

  cql::Session& session_;
  ReaderOptions options_;
  const Clock& clock_;
  cql::PreparedPtr forward_;
  cql::PreparedPtr bounded_;
  std::vector<std::int64_t> cursors_;  // per shard: forward reads start here (µs)
  std::int64_t safe_micros_ = 0;
  std::int64_t last_sweep_micros_ = 0;
  bool behind_ = false;
  std::unordered_set<cql::UuidBytes, IdHash> seen_;
};

}  // namespace cesync::changelog
