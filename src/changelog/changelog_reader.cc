#include "changelog/changelog_reader.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <future>
#include <limits>

namespace cesync::changelog {
namespace {

constexpr std::int64_t kUuidEpochOffset = 0x01B21DD213814000LL;

// Entries of one large write share the bucket of the first, so an entry's id time can be a
// little past its bucket's end: reads start this much before a cursor's bucket.
constexpr std::int64_t kBucketStragglerMicros = 1'000'000;

// Shards read at once, at most (each by a thread of its own).
constexpr std::size_t kMaxConcurrentShardReads = 8;

}  // namespace

std::size_t ChangelogReader::IdHash::operator()(const cql::UuidBytes& id) const {
  // The clock sequence and node bytes vary most between coordinators; the low time bytes
  // between entries of one coordinator.
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  std::memcpy(&a, id.data(), 8);
  std::memcpy(&b, id.data() + 8, 8);
  return static_cast<std::size_t>(a * 0x9E3779B97F4A7C15ULL ^ b);
}

cql::UuidBytes ChangelogReader::minTimeuuid(std::int64_t micros) {
  const auto ticks = static_cast<std::uint64_t>(micros * 10 + kUuidEpochOffset);
  cql::UuidBytes u{};
  u[0] = static_cast<std::uint8_t>(ticks >> 24);
  u[1] = static_cast<std::uint8_t>(ticks >> 16);
  u[2] = static_cast<std::uint8_t>(ticks >> 8);
  u[3] = static_cast<std::uint8_t>(ticks);
  u[4] = static_cast<std::uint8_t>(ticks >> 40);
  u[5] = static_cast<std::uint8_t>(ticks >> 32);
  u[6] = static_cast<std::uint8_t>(0x10 | ((ticks >> 56) & 0x0F));  // version 1
  u[7] = static_cast<std::uint8_t>(ticks >> 48);
  // Cassandra compares the clock-sequence/node half as signed bytes; 0x80 is the smallest.
  for (std::size_t i = 8; i < 16; ++i) {
    u[i] = 0x80;
  }
  return u;
}

ChangelogReader::ChangelogReader(cql::Session& session, ReaderOptions options, const Clock& clock)
    : session_(session), options_(std::move(options)), clock_(clock) {
  resume(clock_.wallMicros() -
         std::chrono::duration_cast<std::chrono::microseconds>(options_.confidence_window).count());
}

void ChangelogReader::resume(std::int64_t position_micros) {
  cursors_.assign(static_cast<std::size_t>(options_.shards), position_micros);
  safe_micros_ = position_micros;
  last_sweep_micros_ = clock_.wallMicros();
  seen_.clear();
  behind_ = false;
}

std::int64_t ChangelogReader::bucketOf(std::int64_t micros) const {
  const std::int64_t width =
      std::chrono::duration_cast<std::chrono::microseconds>(options_.bucket_width).count();
  const std::int64_t floored = micros / width * width;
  return floored > micros ? floored - width : floored;
}

Status ChangelogReader::prepare() {
  if (forward_) {
    return {};
  }
  const std::string base = "SELECT " + std::string(kEntryColumns) + " FROM " + options_.keyspace +
                           "." + options_.table + " WHERE bucket = ? AND shard = ? AND id > ?";
  CESYNC_ASSIGN_OR_RETURN(forward, session_.prepare(base));
  CESYNC_ASSIGN_OR_RETURN(bounded, session_.prepare(base + " AND id <= ?"));
  forward_ = forward;
  bounded_ = bounded;
  return {};
}

Status ChangelogReader::readShard(const ShardQuery& query, ShardRead& read) const {
  const std::int64_t width =
      std::chrono::duration_cast<std::chrono::microseconds>(options_.bucket_width).count();
  const cql::UuidBytes after = minTimeuuid(query.from_micros);
  read.last_micros = query.from_micros;
  for (std::int64_t bucket = bucketOf(query.from_micros - kBucketStragglerMicros);
       bucket <= bucketOf(query.to_micros); bucket += width) {
    std::vector<cql::Value> values{cql::Value::timestamp(bucket / 1000),
                                   cql::Value::integer(query.shard), cql::Value::timeuuid(after)};
    if (query.until) {
      values.push_back(cql::Value::timeuuid(*query.until));
    }
    cql::Statement statement = cql::Statement::of(query.until ? bounded_ : forward_, values);
    statement.page_size = options_.page_size;
    statement.consistency = options_.consistency;
    statement.idempotent = true;
    cql::Pager pager = session_.pages(statement);
    while (true) {
      CESYNC_ASSIGN_OR_RETURN(page, pager.next());
      if (!page) {
        break;
      }
      for (const auto row : page->rows) {
        CESYNC_ASSIGN_OR_RETURN(entry, parseEntry(row));
        read.last_micros = std::max(read.last_micros, entry.id_micros);
        if (!seen_.contains(entry.id)) {
          read.entries.push_back(std::move(entry));
          if (read.entries.size() >= query.budget) {
            read.budget_hit = true;
            return {};
          }
        }
      }
    }
  }
  return {};
}

Result<std::vector<ChangelogReader::ShardRead>> ChangelogReader::readShards(
    const std::vector<ShardQuery>& queries) const {
  std::vector<ShardRead> reads(queries.size());
  std::vector<Status> done(queries.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < queries.size(); i = next++) {
      done[i] = readShard(queries[i], reads[i]);
    }
  };
  std::vector<std::future<void>> running;
  const std::size_t threads = std::min(queries.size(), kMaxConcurrentShardReads);
  for (std::size_t t = 0; t < threads; ++t) {
    running.push_back(std::async(std::launch::async, work));
  }
  for (auto& r : running) {
    r.get();
  }
  for (auto& d : done) {
    if (!d) {
      return fail(d.error());
    }
  }
  return reads;
}

void ChangelogReader::take(ShardRead& read, std::vector<ChangelogEntry>& out) {
  for (auto& entry : read.entries) {
    // Shards are distinct partitions, and one shard's read returns an id once.
    seen_.insert(entry.id);
    out.push_back(std::move(entry));
  }
}

Status ChangelogReader::sweep(std::int64_t now_micros, std::vector<ChangelogEntry>& out) {
  const std::int64_t window =
      std::chrono::duration_cast<std::chrono::microseconds>(options_.confidence_window).count();
  std::int64_t lowest_cursor = now_micros;
  std::vector<ShardQuery> queries;
  queries.reserve(static_cast<std::size_t>(options_.shards));
  for (std::int32_t shard = 0; shard < options_.shards; ++shard) {
    const std::int64_t cursor = cursors_[static_cast<std::size_t>(shard)];
    // Up to the forward cursor; later entries are the forward reads' business.
    queries.push_back({.shard = shard,
                       .from_micros = safe_micros_,
                       .to_micros = cursor,
                       .until = minTimeuuid(cursor),
                       .budget = std::numeric_limits<std::size_t>::max()});
    lowest_cursor = std::min(lowest_cursor, cursor);
  }
  CESYNC_ASSIGN_OR_RETURN(reads, readShards(queries));
  for (auto& read : reads) {
    take(read, out);
  }
  // Everything older than the window had appeared when the sweep began, and everything up to
  // each shard's cursor has been read: below both, nothing new can come.
  const std::int64_t safe = std::min(now_micros - window, lowest_cursor);
  if (safe > safe_micros_) {
    safe_micros_ = safe;
    std::erase_if(seen_,
                  [this](const cql::UuidBytes& id) { return timeuuidMicros(id) < safe_micros_; });
  }
  last_sweep_micros_ = now_micros;
  return {};
}

std::int64_t ChangelogReader::readPosition() const {
  return cursors_.empty() ? safe_micros_ : *std::min_element(cursors_.begin(), cursors_.end());
}

Result<std::vector<ChangelogEntry>> ChangelogReader::poll() {
  const std::vector<std::int64_t> cursors = cursors_;
  std::vector<ChangelogEntry> out;
  if (auto read = pollInto(out); !read) {
    // Nothing of a failed poll reaches the caller: forget that its entries were seen and put the
    // cursors back, so that the next poll returns them (a read of one shard can fail after
    // others succeeded, e.g. while a node shuts down).
    for (const auto& e : out) {
      seen_.erase(e.id);
    }
    cursors_ = cursors;
    return tl::unexpected(read.error());
  }
  return out;
}

Status ChangelogReader::pollInto(std::vector<ChangelogEntry>& out) {
  CESYNC_TRY(prepare());
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  const std::int64_t now = clock_.wallMicros();
  // Coordinators' clocks may run ahead of ours: read buckets up to a window past our now.
  const std::int64_t horizon =
      now + duration_cast<microseconds>(options_.confidence_window).count();
  const std::int64_t settled = now - duration_cast<microseconds>(options_.settle_time).count();
  std::vector<std::int64_t> cursors = cursors_;
  behind_ = false;
  // Each shard gets an equal share of the budget, so that one shard's backlog cannot hold the
  // others back.
  const std::size_t share = std::max<std::size_t>(
      1, options_.max_entries_per_poll / static_cast<std::size_t>(options_.shards));
  std::vector<ShardQuery> queries;
  queries.reserve(static_cast<std::size_t>(options_.shards));
  for (std::int32_t shard = 0; shard < options_.shards; ++shard) {
    queries.push_back({.shard = shard,
                       .from_micros = cursors[static_cast<std::size_t>(shard)],
                       .to_micros = horizon,
                       .until = std::nullopt,
                       .budget = share});
  }
  CESYNC_ASSIGN_OR_RETURN(reads, readShards(queries));
  for (std::size_t shard = 0; shard < reads.size(); ++shard) {
    auto& cursor = cursors[shard];
    ShardRead& read = reads[shard];
    // Caught up: the next read starts `settle_time` back, so that entries still being applied
    // are found by the next poll. Cut short by the budget: it resumes at the last entry read.
    cursor = read.budget_hit ? std::max(cursor, read.last_micros) : std::max(cursor, settled);
    behind_ = behind_ || read.budget_hit;
    take(read, out);
  }
  cursors_ = std::move(cursors);
  if (now - last_sweep_micros_ >= duration_cast<microseconds>(options_.sweep_interval).count()) {
    CESYNC_TRY(sweep(now, out));
  }
  return {};
}

}  // namespace cesync::changelog
