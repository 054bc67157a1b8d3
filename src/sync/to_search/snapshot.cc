#include "sync/to_search/snapshot.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "common/worker_pool.h"
#include "sync/search_side_edits.h"
#include "sync/to_search/doc_builder.h"
#include "sync/to_search/row_fetcher.h"
#include "sync/to_search/table_sync.h"

namespace cesync::sync {
namespace {

// Cursors of scope "ks.t/snapshot". Each range's cursor holds the token of the last row whose
// page was acknowledged (a resume re-reads from that token inclusive: a page may end inside a
// partition), or "done".
constexpr const char* kRangesCursor = "ranges";
constexpr const char* kStartedCursor = "started";
constexpr const char* kFinishedCursor = "finished";
constexpr const char* kRowsCursor = "rows";
constexpr const char* kRangePrefix = "range-";
constexpr const char* kRangeDone = "done";
// Range cursor names carry five digits, so that the store lists them in range order.
constexpr std::size_t kMaxRanges = 65'536;

std::string rangeCursor(std::size_t index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%05zu", kRangePrefix, index);
  return buf;
}

template <typename T>
std::optional<T> parseNumber(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::string qualifiedName(const TableSchema& schema) {
  return schema.keyspace + "." + schema.table;
}

std::string scopeOf(const std::string& qualified_table) {
  return qualified_table + "/snapshot";
}

// What the store holds about one snapshot.
struct Saved {
  std::size_t ranges = 0;  // 0: never started
  std::int64_t started_micros = 0;
  std::int64_t finished_micros = 0;
  std::uint64_t rows = 0;
  // Range index -> the token to resume from (inclusive), or nullopt when the range is done.
  std::map<std::size_t, std::optional<std::int64_t>> positions;

  [[nodiscard]] std::size_t rangesDone() const {
    return static_cast<std::size_t>(std::count_if(
        positions.begin(), positions.end(), [](const auto& p) { return !p.second.has_value(); }));
  }
};

Result<Saved> loadSaved(state::CheckpointStore& store, const std::string& scope) {
  CESYNC_ASSIGN_OR_RETURN(cursors, store.list(scope));
  Saved saved;
  auto unreadable = [&](const state::Cursor& c) {
    return fail(ErrorCode::kInternal, "snapshot state " + scope + " has an unreadable cursor " +
                                          c.name + " = '" + c.value +
                                          "'; reset the snapshot to start over");
  };
  for (const auto& c : cursors) {
    if (c.name == kRangesCursor) {
      const auto n = parseNumber<std::size_t>(c.value);
      if (!n || *n == 0 || *n > kMaxRanges) {
        return unreadable(c);
      }
      saved.ranges = *n;
    } else if (c.name == kStartedCursor || c.name == kFinishedCursor) {
      const auto t = parseNumber<std::int64_t>(c.value);
      if (!t) {
        return unreadable(c);
      }
      (c.name == kStartedCursor ? saved.started_micros : saved.finished_micros) = *t;
    } else if (c.name == kRowsCursor) {
      const auto n = parseNumber<std::uint64_t>(c.value);
      if (!n) {
        return unreadable(c);
      }
      saved.rows = *n;
    } else if (c.name.starts_with(kRangePrefix)) {
      const auto index = parseNumber<std::size_t>(
          std::string_view(c.name).substr(std::string_view(kRangePrefix).size()));
      if (!index) {
        return unreadable(c);
      }
      if (c.value == kRangeDone) {
        saved.positions[*index] = std::nullopt;
      } else if (const auto token = parseNumber<std::int64_t>(c.value)) {
        saved.positions[*index] = *token;
      } else {
        return unreadable(c);
      }
    }
  }
  for (const auto& [index, position] : saved.positions) {
    if (index >= saved.ranges) {
      return fail(ErrorCode::kInternal,
                  "snapshot state " + scope + " names range " + std::to_string(index) + " of " +
                      std::to_string(saved.ranges) + "; reset the snapshot to start over");
    }
  }
  return saved;
}

state::Cursor cursor(const std::string& scope, const std::string& name, std::string value,
                     std::int64_t now) {
  return {scope, name, std::move(value), now};
}

// A range still to read: its bounds and where a previous run stopped.
struct PendingRange {
  std::size_t index = 0;
  TokenRange range;
  std::optional<std::int64_t> resume_from;  // inclusive
};

// What the workers share: the queue of ranges, the running totals, the first error.
class SnapshotRun {
 public:
  SnapshotRun(cql::Session& session, state::CheckpointStore& store, const TableSchema& schema,
              const SnapshotOptions& options, const Clock& clock, const std::atomic<bool>* stop,
              const std::function<void(const SnapshotProgress&)>& progress, const Saved& saved)
      : session_(session),
        store_(store),
        options_(options),
        clock_(clock),
        pool_(stop),
        progress_(progress),
        fetcher_(session, schema, options.consistency, 1),
        builder_(documentBuilderFor(schema)),
        scope_(snapshotScope(schema)),
        dead_letter_scope_(qualifiedName(schema) + "/to_search"),
        ranges_(saved.ranges),
        ranges_done_(saved.rangesDone()),
        rows_(saved.rows) {}

  Status prepare() {
    const std::string task = "the snapshot of " + qualifiedName(fetcher_.schema());
    CESYNC_ASSIGN_OR_RETURN(after, fetcher_.prepareTokenRange(/*inclusive_start=*/false, task));
    CESYNC_ASSIGN_OR_RETURN(from, fetcher_.prepareTokenRange(/*inclusive_start=*/true, task));
    after_ = std::move(after);
    from_ = std::move(from);
    return {};
  }

  void add(PendingRange range) { pool_.add(range); }

  /// Runs the workers until the queue is empty, an error or a stop.
  Status run() {
    reportProgress();
    CESYNC_TRY(pool_.run(options_.parallelism, [this] { return work(); }));
    const std::lock_guard guard(mutex_);
    if (ranges_done_ < ranges_) {
      return fail(ErrorCode::kCancelled, "snapshot of " + qualifiedName(fetcher_.schema()) +
                                             " stopped with " + std::to_string(ranges_done_) +
                                             " of " + std::to_string(ranges_) + " ranges done");
    }
    return {};
  }

  [[nodiscard]] const SnapshotReport& report() const { return report_; }
  [[nodiscard]] std::uint64_t rows() const { return rows_; }

 private:
  // One worker's tallies for the page in hand.
  struct PageTally {
    std::uint64_t indexed = 0;
    std::uint64_t already_newer = 0;
    std::vector<state::DeadLetter> dead_letters;
    std::vector<state::Cursor> timers;  // expiry timers of the page's rows
  };

  [[nodiscard]] bool stopping() const { return pool_.stopping(); }

  Status cancelled() const {
    return fail(ErrorCode::kCancelled,
                "snapshot of " + qualifiedName(fetcher_.schema()) + " stopped");
  }

  // Waits the backoff's next delay, in short steps so that a stop is honoured quickly.
  Status pause(Backoff& backoff, const std::string& what) {
    CESYNC_ASSIGN_OR_RETURN(delay, backoff.nextAfter(what));
    if (options_.on_retry) {
      options_.on_retry("snapshot of " + qualifiedName(fetcher_.schema()) + ": " + what +
                        "; retrying in " + std::to_string(delay.count()) + " ms");
    }
    return sleepUnlessStopped(delay, [this] { return stopping(); }) ? Status{} : cancelled();
  }

  // One worker: its own search client, then ranges until none is left.
  Status work() {
    std::unique_ptr<es::EsClient> client;
    Backoff backoff(options_.retry);
    while (client == nullptr) {
      if (stopping()) {
        return cancelled();
      }
      auto connected = es::EsClient::connect(options_.search, clock_);
      if (connected) {
        client = std::move(*connected);
      } else if (isTransient(connected.error().code)) {
        CESYNC_TRY(
            pause(backoff, "cannot reach the search engine: " + connected.error().toString()));
      } else {
        return fail(connected.error());
      }
    }
    while (auto range = pool_.take()) {
      CESYNC_TRY(readRange(*client, *range));
    }
    return {};
  }

  Status readRange(es::EsClient& client, const PendingRange& pending) {
    const bool resuming = pending.resume_from.has_value();
    cql::Statement statement =
        cql::Statement::of(resuming ? from_ : after_,
                           {cql::Value::bigint(pending.resume_from.value_or(pending.range.start)),
                            cql::Value::bigint(pending.range.end)});
    statement.page_size = options_.page_size;
    statement.consistency = options_.consistency;
    statement.idempotent = true;
    cql::Pager pager = session_.pages(std::move(statement));
    Backoff backoff(options_.retry);
    while (true) {
      if (stopping()) {
        return cancelled();
      }
      // A failed page leaves the pager where it was: the same page is asked for again.
      auto page = pager.next();
      if (!page) {
        if (!isTransient(page.error().code)) {
          return fail(page.error());
        }
        CESYNC_TRY(pause(backoff, "reading token range " + std::to_string(pending.index) +
                                      " failed: " + page.error().toString()));
        continue;
      }
      backoff.reset();
      const bool last = !*page || !(*page)->hasMorePages();
      if (*page) {
        CESYNC_TRY(writePage(client, pending.index, (*page)->rows, last));
      } else {
        CESYNC_TRY(writePage(client, pending.index, cql::Rows(), true));
      }
      if (last) {
        return {};
      }
    }
  }

  // Indexes one page, then commits the range's position with the page's dead letters.
  Status writePage(es::EsClient& client, std::size_t range, const cql::Rows& rows, bool last) {
    const std::int64_t now = clock_.wallMicros();
    PageTally tally;
    es::BulkEncoder batch;
    std::vector<std::string> ids;  // per item of `batch`
    std::string doc;
    std::optional<std::int64_t> last_token;
    // A table synced both ways: documents edited in the index after their row's timestamp are
    // left alone (they are on their way to Cassandra).
    std::unordered_map<std::string, SearchSideEdits::Document> in_index;
    const int ts_column = options_.timestamp_column.empty()
                              ? -1
                              : fetcher_.schema().columnIndex(options_.timestamp_column);
    if (ts_column >= 0) {
      std::vector<std::string> page_ids;
      for (const auto row : rows) {
        if (auto id = builder_.documentId(row)) {
          page_ids.push_back(std::move(*id));
        }
      }
      CESYNC_ASSIGN_OR_RETURN(found, SearchSideEdits::read(client, options_.index,
                                                           options_.timestamp_column, page_ids));
      in_index = std::move(found);
    }
    for (const auto row : rows) {
      CESYNC_ASSIGN_OR_RETURN(token, row.get<std::int64_t>(fetcher_.tokenColumn()));
      last_token = token;
      auto id = builder_.documentId(row);
      if (!id) {
        tally.dead_letters.push_back({dead_letter_scope_, "token " + std::to_string(token),
                                      "no document id: " + id.error().toString(), now});
        continue;
      }
      if (auto usable = checkDocumentId(*id); !usable) {
        tally.dead_letters.push_back({dead_letter_scope_, *id, usable.error().message, now});
        continue;
      }
      // A row with no non-key cell has no write time to read: version 0 lets any change that
      // the stream carries win over it.
      es::BulkTarget target{options_.index, *id, fetcher_.rowWriteTime(row), {}};
      if (ts_column >= 0) {
        // Both ways: written only if the document is still as read (compare-and-set), or
        // created only if there is none, and never over a newer edit of the search side.
        const auto found = in_index.find(*id);
        if (found == in_index.end()) {
          target.create_only = true;
        } else {
          const auto& edited = found->second.timestamp_ms;
          if (edited && !row.isNull(static_cast<std::size_t>(ts_column))) {
            CESYNC_ASSIGN_OR_RETURN(ts, row.value(static_cast<std::size_t>(ts_column)));
            if (*edited > ts.asInt()) {
              ++tally.already_newer;
              continue;
            }
          }
          target.if_seq_no = found->second.seq_no;
          target.if_primary_term = found->second.primary_term;
        }
      }
      doc.clear();
      if (auto built = builder_.appendDocument(doc, row, fetcher_.schema().columns, token, *id);
          !built) {
        tally.dead_letters.push_back({dead_letter_scope_, *id, built.error().toString(), now});
        continue;
      }
      // A cell with a TTL: the stream reads the row again when it runs out.
      if (auto timer = rowExpiryTimer(fetcher_, row, target.version, now)) {
        tally.timers.push_back(std::move(*timer));
      }
      batch.index(target, doc);
      ids.push_back(std::move(*id));
      if (batch.full(options_.limits)) {
        CESYNC_TRY(send(client, batch, ids, tally, now));
        batch.clear();
        ids.clear();
      }
    }
    if (!batch.empty()) {
      CESYNC_TRY(send(client, batch, ids, tally, now));
    }
    if (!last && !last_token) {
      return {};  // an empty page in the middle: nothing moved
    }
    return commitPage(range, rows.size(), last ? std::nullopt : last_token, tally, now);
  }

  // Sends one batch until every item is acknowledged or dead-lettered.
  Status send(es::EsClient& client, const es::BulkEncoder& batch,
              const std::vector<std::string>& ids, PageTally& tally, std::int64_t now) {
    Backoff backoff(options_.retry);
    while (true) {
      if (stopping()) {
        return cancelled();
      }
      auto written = client.bulk(batch);
      if (!written) {
        if (!isTransient(written.error().code)) {
          return fail(written.error());
        }
        CESYNC_TRY(pause(
            backoff, "writing to " + options_.index + " failed: " + written.error().toString()));
        continue;
      }
      if (written->unacknowledged > 0) {
        // The whole batch again: items already written are accepted again at the same
        // version, so this is harmless and keeps one outcome per item.
        CESYNC_TRY(pause(backoff, std::to_string(written->unacknowledged) + " items of " +
                                      options_.index +
                                      " not acknowledged: " + written->last_retry_reason));
        continue;
      }
      for (std::size_t i = 0; i < written->items.size(); ++i) {
        const auto& item = written->items[i];
        switch (item.outcome) {
          case es::ItemOutcome::kOk:
            ++tally.indexed;
            break;
          case es::ItemOutcome::kAlreadyNewer:
            ++tally.already_newer;
            break;
          case es::ItemOutcome::kDeadLetter:
            tally.dead_letters.push_back(
                {dead_letter_scope_, ids[i], item.error_type + ": " + item.reason, now});
            break;
          case es::ItemOutcome::kRetry:
            return fail(ErrorCode::kInternal,
                        "bulk item of " + ids[i] + " unacknowledged after an acknowledged batch");
        }
      }
      return {};
    }
  }

  // One commit per acknowledged page: the range's position (nullopt: done), the row count and
  // the page's dead letters, together.
  Status commitPage(std::size_t range, std::size_t rows, std::optional<std::int64_t> position,
                    const PageTally& tally, std::int64_t now) {
    std::lock_guard guard(mutex_);
    const std::uint64_t total = rows_ + rows;
    state::Commit commit;
    commit.cursors.push_back(
        cursor(scope_, rangeCursor(range), position ? std::to_string(*position) : kRangeDone, now));
    commit.cursors.push_back(cursor(scope_, kRowsCursor, std::to_string(total), now));
    commit.dead_letters = tally.dead_letters;
    commit.cursors.insert(commit.cursors.end(), tally.timers.begin(), tally.timers.end());
    CESYNC_TRY(store_.commit(commit));
    rows_ = total;
    if (!position) {
      ++ranges_done_;
    }
    report_.rows += rows;
    report_.indexed += tally.indexed;
    report_.already_newer += tally.already_newer;
    report_.dead_letters += tally.dead_letters.size();
    reportProgressLocked();
    return {};
  }

  void reportProgress() {
    std::lock_guard guard(mutex_);
    reportProgressLocked();
  }
  void reportProgressLocked() {
    if (progress_) {
      progress_(SnapshotProgress{ranges_, ranges_done_, rows_});
    }
  }

  cql::Session& session_;
  state::CheckpointStore& store_;
  const SnapshotOptions& options_;
  const Clock& clock_;
  WorkerPool<PendingRange> pool_;  // the ranges still to read; the workers' first error
  const std::function<void(const SnapshotProgress&)>& progress_;
  RowFetcher fetcher_;  // for its SELECT and row accessors only (const, shared by the workers)
  DocBuilder builder_;
  std::string scope_;
  std::string dead_letter_scope_;
  cql::PreparedPtr after_;  // token > ? AND token <= ?
  cql::PreparedPtr from_;   // token >= ? AND token <= ?

  std::mutex mutex_;  // guards everything below
  std::size_t ranges_;
  std::size_t ranges_done_;
  std::uint64_t rows_;
  SnapshotReport report_;
};

}  // namespace

std::vector<TokenRange> splitTokenRing(std::size_t count) {
  count = std::max<std::size_t>(1, count);
  constexpr std::uint64_t kTokens = std::numeric_limits<std::uint64_t>::max();  // in (MIN, MAX]
  const std::uint64_t n = count;
  const std::uint64_t step = kTokens / n;
  const std::uint64_t remainder = kTokens % n;
  // The i-th boundary as an offset from INT64_MIN; the last one is kTokens, i.e. INT64_MAX.
  auto boundary = [&](std::uint64_t i) {
    const std::uint64_t offset = i * step + std::min(i, remainder);
    return static_cast<std::int64_t>(
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::min()) + offset);
  };
  std::vector<TokenRange> out;
  out.reserve(count);
  for (std::uint64_t i = 0; i < n; ++i) {
    out.push_back({boundary(i), boundary(i + 1)});
  }
  return out;
}

std::string snapshotScope(const TableSchema& schema) {
  return scopeOf(qualifiedName(schema));
}

Result<SnapshotStatus> snapshotStatus(state::CheckpointStore& store,
                                      const std::string& qualified_table) {
  CESYNC_ASSIGN_OR_RETURN(saved, loadSaved(store, scopeOf(qualified_table)));
  SnapshotStatus status;
  if (saved.ranges == 0) {
    return status;
  }
  status.state = saved.finished_micros != 0 ? SnapshotState::kDone : SnapshotState::kRunning;
  status.ranges = saved.ranges;
  status.ranges_done = saved.rangesDone();
  status.rows = saved.rows;
  status.started_micros = saved.started_micros;
  status.finished_micros = saved.finished_micros;
  return status;
}

Status resetSnapshot(state::CheckpointStore& store, const std::string& qualified_table) {
  return store.clearScope(scopeOf(qualified_table));
}

Result<SnapshotReport> runSnapshot(cql::Session& session, state::CheckpointStore& store,
                                   const TableSchema& schema, const SnapshotOptions& options,
                                   const Clock& clock, const std::atomic<bool>* stop,
                                   const std::function<void(const SnapshotProgress&)>& progress) {
  const std::string table = qualifiedName(schema);
  if (options.index.empty()) {
    return fail(ErrorCode::kInvalidArgument, "snapshot of " + table + ": no index given");
  }
  if (options.page_size <= 0) {
    return fail(ErrorCode::kInvalidArgument, "snapshot of " + table + ": page size must be > 0");
  }
  if (options.ranges > kMaxRanges) {
    return fail(ErrorCode::kInvalidArgument, "snapshot of " + table + ": at most " +
                                                 std::to_string(kMaxRanges) + " token ranges");
  }
  const std::string scope = snapshotScope(schema);
  CESYNC_ASSIGN_OR_RETURN(saved, loadSaved(store, scope));
  SnapshotReport report;
  if (saved.finished_micros != 0) {
    report.ranges = saved.ranges;
    report.ranges_resumed = saved.ranges;
    return report;
  }
  if (saved.ranges == 0) {
    // A new snapshot. Its start time is recorded before any row is read: the change stream
    // must carry every write from (about) then on.
    CESYNC_TRY(store.clearScope(scope));
    saved = Saved{};
    saved.ranges = options.ranges == 0 ? kDefaultSnapshotRanges : options.ranges;
    saved.started_micros = clock.wallMicros();
    const std::int64_t now = saved.started_micros;
    CESYNC_TRY(store.commit(
        {.cursors = {cursor(scope, kRangesCursor, std::to_string(saved.ranges), now),
                     cursor(scope, kStartedCursor, std::to_string(saved.started_micros), now),
                     cursor(scope, kRowsCursor, "0", now)},
         .dead_letters = {}}));
  }

  SnapshotRun run(session, store, schema, options, clock, stop, progress, saved);
  CESYNC_TRY(run.prepare());
  const auto ranges = splitTokenRing(saved.ranges);
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const auto position = saved.positions.find(i);
    if (position == saved.positions.end()) {
      run.add({i, ranges[i], std::nullopt});
    } else if (position->second) {
      run.add({i, ranges[i], position->second});
    }
  }
  const Status ran = run.run();
  report = run.report();
  report.ranges = saved.ranges;
  report.ranges_resumed = saved.positions.size();
  if (!ran) {
    return fail(ran.error());
  }
  const std::int64_t now = clock.wallMicros();
  CESYNC_TRY(store.commit({.cursors = {cursor(scope, kFinishedCursor,
                                              std::to_string(std::max<std::int64_t>(now, 1)), now),
                                       cursor(scope, kRowsCursor, std::to_string(run.rows()), now)},
                           .dead_letters = {}}));
  return report;
}

}  // namespace cesync::sync
