#include "sync/verify/verifier.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "common/worker_pool.h"
#include "cql/token_map.h"
#include "cql/types/value_codec.h"
#include "es/bulk_encoder.h"
#include "es/index_admin.h"
#include "es/search_scanner.h"
#include "sync/doc_fields.h"
#include "sync/search_side_edits.h"
#include "sync/to_cassandra/doc_values.h"
#include "sync/to_search/doc_builder.h"
#include "sync/to_search/partition_documents.h"
#include "sync/to_search/row_fetcher.h"
#include "sync/to_search/snapshot.h"
#include "sync/to_search/table_sync.h"
#include "util/json_writer.h"
#include "util/murmur3.h"

namespace cesync::sync {
namespace {

// Writes one batch; items the client's own retries could not get answered make it a
// transient fault, for the caller's retry of the whole batch.
Result<std::vector<es::ItemResult>> writeInFull(es::EsClient& client,
                                                const es::BulkEncoder& batch) {
  CESYNC_ASSIGN_OR_RETURN(written, client.bulk(batch));
  if (written.unacknowledged > 0) {
    return fail(ErrorCode::kUnavailable, written.last_retry_reason);
  }
  return std::move(written.items);
}

std::string qualifiedName(const TableSchema& schema) {
  return schema.keyspace + "." + schema.table;
}

std::string rangeSort(const es::EsClient& client) {
  std::string out;
  util::JsonWriter w(out);
  w.beginArray();
  w.beginObject();
  w.key(kTokenField);
  w.value("asc");
  w.endObject();
  w.beginObject();
  w.key(client.server().tiebreaker());
  w.value("asc");
  w.endObject();
  w.endArray();
  return out;
}

// Documents whose token is in `range`; the first range also takes its start (INT64_MIN), which
// no row has, so that a document carrying it is not skipped.
std::string rangeQuery(const TokenRange& range, bool first) {
  std::string out;
  util::JsonWriter w(out);
  w.beginObject();
  w.key("range");
  w.beginObject();
  w.key(kTokenField);
  w.beginObject();
  w.key(first ? "gte" : "gt");
  w.value(range.start);
  w.key("lte");
  w.value(range.end);
  w.endObject();
  w.endObject();
  w.endObject();
  return out;
}

// The token of a hit sorted by (cesync_token, tiebreaker): the first sort value.
std::optional<std::int64_t> sortToken(std::string_view sort) {
  const auto open = sort.find('[');
  if (open == std::string_view::npos) {
    return std::nullopt;
  }
  std::size_t start = open + 1;
  while (start < sort.size() && sort[start] == ' ') {
    ++start;
  }
  std::int64_t token = 0;
  const auto [end, ec] = std::from_chars(sort.data() + start, sort.data() + sort.size(), token);
  if (ec != std::errc() || end == sort.data() + start) {
    return std::nullopt;
  }
  return token;
}

// A row as verify compares it: id, document and write time as the snapshot builds them.
Result<VerifyEntry> rowEntry(const RowFetcher& fetcher, const DocBuilder& builder,
                             const cql::Row& row) {
  VerifyEntry entry;
  CESYNC_ASSIGN_OR_RETURN(token, row.get<std::int64_t>(fetcher.tokenColumn()));
  entry.token = token;
  CESYNC_ASSIGN_OR_RETURN(id, builder.documentId(row));
  entry.id = std::move(id);
  entry.version = fetcher.rowWriteTime(row);
  // A row whose document cannot be built has an empty source: its document, if any, differs.
  if (!builder.appendDocument(entry.source, row, fetcher.schema().columns, token, entry.id)) {
    entry.source.clear();
  }
  return entry;
}

// The rows of one token range, as entries.
class RowStream final : public EntryStream {
 public:
  RowStream(cql::Pager pager, const RowFetcher& fetcher, const DocBuilder& builder,
            std::function<Status(std::size_t)> on_page)
      : pager_(std::move(pager)),
        fetcher_(fetcher),
        builder_(builder),
        on_page_(std::move(on_page)) {}

  Result<std::optional<VerifyEntry>> next() override {
    while (at_ >= rows_.size()) {
      if (ended_) {
        return std::optional<VerifyEntry>();
      }
      CESYNC_ASSIGN_OR_RETURN(page, pager_.next());
      if (!page) {
        ended_ = true;
        rows_ = cql::Rows();
      } else {
        ended_ = !page->hasMorePages();
        rows_ = std::move(page->rows);
      }
      at_ = 0;
      CESYNC_TRY(on_page_(rows_.size()));
    }
    CESYNC_ASSIGN_OR_RETURN(entry, rowEntry(fetcher_, builder_, rows_[at_++]));
    return std::optional<VerifyEntry>(std::move(entry));
  }

 private:
  cql::Pager pager_;
  const RowFetcher& fetcher_;
  const DocBuilder& builder_;
  std::function<Status(std::size_t)> on_page_;
  cql::Rows rows_;
  std::size_t at_ = 0;
  bool ended_ = false;
};

// The documents of one token range, sorted by token.
class DocumentStream final : public EntryStream {
 public:
  DocumentStream(std::unique_ptr<es::SearchScanner> scanner, std::function<Status()> on_page)
      : scanner_(std::move(scanner)), on_page_(std::move(on_page)) {}
  ~DocumentStream() override { (void)scanner_->close(); }
  DocumentStream(const DocumentStream&) = delete;
  DocumentStream& operator=(const DocumentStream&) = delete;

  Result<std::optional<VerifyEntry>> next() override {
    while (at_ >= page_.size()) {
      if (ended_) {
        return std::optional<VerifyEntry>();
      }
      CESYNC_TRY(on_page_());
      CESYNC_ASSIGN_OR_RETURN(more, scanner_->next(page_));
      ended_ = !more;
      at_ = 0;
    }
    es::SearchHit& hit = page_[at_++];
    const auto token = sortToken(hit.sort);
    if (!token) {
      return fail(ErrorCode::kProtocol, "a document sorted by " + std::string(kTokenField) +
                                            " has no token in its sort values: " + hit.sort);
    }
    return std::optional<VerifyEntry>(
        VerifyEntry{*token, std::move(hit.id), hit.version, std::move(hit.source)});
  }

 private:
  std::unique_ptr<es::SearchScanner> scanner_;
  std::function<Status()> on_page_;
  std::vector<es::SearchHit> page_;
  std::size_t at_ = 0;
  bool ended_ = false;
};

// Those of `ids` that exist in `index`, read in real time, whole.
using CurrentDocument = SearchSideEdits::Document;
Result<std::unordered_map<std::string, CurrentDocument>> currentDocuments(
    es::EsClient& client, const std::string& index, const std::vector<std::string>& ids) {
  return SearchSideEdits::read(client, index, "", ids, /*whole=*/true);
}

// Differences waiting to be read again, per worker, found at most this many ahead: past it, the
// walk waits for the oldest to be due.
constexpr std::size_t kMaxWaiting = 10'000;
// Differences read again (and repaired) per round trip.
constexpr std::size_t kRecheckBatch = 500;

// A difference found by the walk, until it is read again.
struct Pending {
  Difference difference;
  // The key its id names (when `keyed`): the row to read again, and to repair.
  KeyWork key;
  bool keyed = false;
  // A document outside its key's token place (another or no cesync_token): counted only when
  // its row does not exist, else that row's own walk counts it.
  bool foreign = false;
  Clock::TimePoint found{};
};

// What one worker thread owns: its search client, its row reads, its repair writer, its
// queue of differences to read again and its reader of documents as column values.
struct Worker {
  std::unique_ptr<es::EsClient> client;
  std::unique_ptr<RowFetcher> lookups;
  std::unique_ptr<TableSync> repairer;
  std::deque<Pending> waiting;
  std::unique_ptr<DocValues> values;
};

// Tables synced both ways: a document edited on the search side keeps its writer's form (a
// timestamp in epoch milliseconds, no cesync fields, a column left out). It matches its row when
// taking it back would change nothing: each column it has converts to the row's value.
bool sameColumnValues(DocValues& values, std::string_view row_source,
                      std::string_view document_source) {
  auto row = values.row(row_source);
  if (!row) {
    return false;
  }
  auto document = values.row(document_source);
  if (!document) {
    return false;
  }
  cql::Bytes a;
  cql::Bytes b;
  for (std::size_t i = 0; i < document->size(); ++i) {
    const cql::Value& mine = (*document)[i];
    const cql::Value& theirs = (*row)[i];
    if (mine.isUnset()) {
      continue;
    }
    if (mine.isNull() || theirs.isNull() || theirs.isUnset()) {
      if (mine.isNull() != theirs.isNull()) {
        return false;
      }
      continue;
    }
    a.clear();
    b.clear();
    const auto& type = *values.schema().columns[i].type;
    if (!cql::encodeValue(type, mine, a) || !cql::encodeValue(type, theirs, b) || a != b) {
      return false;
    }
  }
  return true;
}

// What the workers share: the queue of ranges, the report, the pace, the first error.
class VerifyRun {
 public:
  VerifyRun(cql::Session& session, const TableSchema& schema, const VerifyOptions& options,
            const Clock& clock, const std::atomic<bool>* stop,
            const std::function<void(const VerifyProgress&)>& progress)
      : session_(session),
        options_(options),
        clock_(clock),
        pool_(stop),
        progress_(progress),
        fetcher_(session, schema, options.consistency, 1),
        builder_(documentBuilderFor(schema)),
        started_(clock.now()),
        started_micros_(clock.wallMicros()) {
    if (options_.repair) {
      report_.repair = RepairReport{};
    }
  }

  Status prepare() {
    CESYNC_ASSIGN_OR_RETURN(
        after, fetcher_.prepareTokenRange(/*inclusive_start=*/false,
                                          "verifying " + qualifiedName(fetcher_.schema())));
    after_ = std::move(after);
    return {};
  }

  Status run() {
    {
      // Documents written moments ago must be searchable, or they would be reported missing.
      Worker main;
      CESYNC_TRY(connect(main));
      CESYNC_TRY(retrying("refreshing " + options_.index,
                          [&] { return main.client->admin().refresh(options_.index); }));
    }
    const auto ranges = splitTokenRing(options_.ranges);
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      pool_.add({i, ranges[i]});
    }
    ranges_ = ranges.size();
    reportProgress(0);
    CESYNC_TRY(pool_.run(options_.parallelism, [this] { return work(); }));
    if (stopping()) {
      return cancelled();
    }
    return strays();
  }

  [[nodiscard]] const VerifyReport& report() const { return report_; }

 private:
  struct Range {
    std::size_t index = 0;
    TokenRange range;
  };

  [[nodiscard]] bool stopping() const { return pool_.stopping(); }

  [[nodiscard]] Status cancelled() const {
    return fail(ErrorCode::kCancelled,
                "verify of " + qualifiedName(fetcher_.schema()) + " stopped");
  }

  // Waits the backoff's next delay, in short steps so that a stop is honoured quickly.
  Status pause(Backoff& backoff, const std::string& what) {
    CESYNC_ASSIGN_OR_RETURN(delay, backoff.nextAfter(what));
    if (options_.on_retry) {
      options_.on_retry("verify of " + qualifiedName(fetcher_.schema()) + ": " + what +
                        "; retrying in " + std::to_string(delay.count()) + " ms");
    }
    return sleepFor(delay);
  }

  Status sleepFor(Clock::Duration duration) {
    return sleepUnlessStopped(duration, [this] { return stopping(); }) ? Status{} : cancelled();
  }

  // Runs `attempt` until it succeeds, retrying transient faults.
  Status retrying(const std::string& what, const std::function<Status()>& attempt) {
    Backoff backoff(options_.retry);
    while (true) {
      auto done = attempt();
      if (done || !isTransient(done.error().code) || stopping()) {
        return done;
      }
      CESYNC_TRY(pause(backoff, what + " failed: " + done.error().toString()));
    }
  }

  // How this worker compares a row with its document.
  MergeOptions mergeOptions(Worker& w) const {
    MergeOptions merge{options_.compare_versions, {}};
    if (!options_.compare_versions) {
      merge.same_content = [&w](std::string_view row, std::string_view document) {
        return sameJson(row, document) || sameColumnValues(*w.values, row, document);
      };
    }
    return merge;
  }

  Status connect(Worker& w) {
    auto connectOnce = [&]() -> Status {
      CESYNC_ASSIGN_OR_RETURN(client, es::EsClient::connect(options_.search, clock_));
      w.client = std::move(client);
      return {};
    };
    if (auto connected = retrying("connecting to the search engine", connectOnce); !connected) {
      return connected;
    }
    w.values = std::make_unique<DocValues>(fetcher_.schema());
    // For reading rows again by key (its prepared statements are this worker's own).
    w.lookups = std::make_unique<RowFetcher>(session_, fetcher_.schema(), options_.consistency, 32,
                                             RowFetcher::kKeysPerRead);
    if (options_.repair) {
      TableSyncOptions sync;
      sync.index = options_.index;
      sync.limits = options_.repair->limits;
      sync.settle = std::chrono::milliseconds(0);  // the rows were just read: write what is there
      sync.consistency = options_.consistency;
      sync.timestamp_column = options_.repair->timestamp_column;
      sync.expiry_timers = false;  // the daemon's stream owns them
      w.repairer = std::make_unique<TableSync>(session_, *w.client, *options_.repair->store,
                                               fetcher_.schema(), std::move(sync), clock_);
    }
    return {};
  }

  // One worker: its own clients, then ranges until none is left, then its last re-reads.
  Status work() {
    Worker w;
    CESYNC_TRY(connect(w));
    while (auto range = pool_.take()) {
      CESYNC_TRY(verifyRange(w, *range));
    }
    return settle(w, /*drain=*/true);
  }

  // Waits until reading `rows` more keeps the rate under the limit (a shared schedule: each
  // page's rows are due at start + rows so far / rate).
  Status pace(std::size_t rows) {
    if (stopping()) {
      return cancelled();
    }
    if (options_.max_rows_per_second <= 0 || rows == 0) {
      return {};
    }
    Clock::TimePoint due;
    {
      std::lock_guard guard(mutex_);
      paced_rows_ += rows;
      due = started_ + std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double>(
                           static_cast<double>(paced_rows_) / options_.max_rows_per_second));
    }
    const auto now = clock_.now();
    return now < due ? sleepFor(due - now) : Status{};
  }

  // Compares one range, taken up after its last compared token when a transient fault ends an
  // attempt.
  Status verifyRange(Worker& w, const Range& range) {
    MergeCounts counts;
    CESYNC_TRY(retrying("comparing token range " + std::to_string(range.index),
                        [&] { return walk(w, range, counts); }));
    std::lock_guard guard(mutex_);
    report_.rows += counts.rows;
    report_.documents += counts.documents;
    ++ranges_done_;
    reportProgressLocked();
    return {};
  }

  // One attempt at a range, from after `counts.last_token` (or its start).
  Status walk(Worker& w, const Range& range, MergeCounts& counts) {
    TokenRange rest = range.range;
    if (counts.last_token) {
      rest.start = *counts.last_token;
    }
    cql::Statement statement =
        cql::Statement::of(after_, {cql::Value::bigint(rest.start), cql::Value::bigint(rest.end)});
    statement.page_size = options_.page_size;
    statement.consistency = options_.consistency;
    statement.idempotent = true;
    RowStream rows(session_.pages(std::move(statement)), fetcher_, builder_,
                   [this](std::size_t n) -> Status {
                     CESYNC_TRY(pace(n));
                     reportProgress(n);
                     return Status{};
                   });
    es::ScanOptions scan;
    scan.index = options_.index;
    scan.query = rangeQuery(rest, range.index == 0 && !counts.last_token);
    scan.sort = rangeSort(*w.client);
    scan.page_size = static_cast<std::size_t>(std::clamp(options_.page_size, 1, 10'000));
    scan.mode = es::ScanMode::kPointInTime;
    DocumentStream documents(w.client->scan(std::move(scan)),
                             [this] { return stopping() ? cancelled() : Status{}; });
    auto onGroup = [&](std::vector<Difference>& group) -> Status {
      // Read again what is due first: a failure then leaves this token to the next attempt.
      CESYNC_TRY(settle(w, /*drain=*/false));
      for (auto& d : group) {
        Pending p{std::move(d), {}, false, false, clock_.now()};
        p.keyed = keyOfDocumentId(fetcher_.schema(), p.difference.id, p.key.pk, p.key.ck);
        // A document whose id names a key of another token may be that row's document with a
        // wrong token.
        p.foreign = p.keyed && p.difference.kind == DifferenceKind::kExtra &&
                    util::murmur3Token(cql::TokenMap::routingKey(p.key.pk)) != p.difference.token;
        w.waiting.push_back(std::move(p));
      }
      return Status{};
    };
    return mergeStreams(rows, documents, mergeOptions(w), onGroup, counts);
  }

  // Reads again the differences that are due: in batches once enough are, all of them (waiting
  // for the last to be due) with `drain`, and the oldest as soon as too many wait.
  Status settle(Worker& w, bool drain) {
    while (!w.waiting.empty()) {
      const auto now = clock_.now();
      std::size_t due = 0;
      while (due < w.waiting.size() && due < kRecheckBatch &&
             w.waiting[due].found + options_.recheck_after <= now) {
        ++due;
      }
      const bool full = w.waiting.size() >= kMaxWaiting;
      if (due == 0) {
        if (!drain && !full) {
          return {};
        }
        CESYNC_TRY(sleepFor(w.waiting.front().found + options_.recheck_after - now));
        continue;
      }
      if (due < kRecheckBatch && !drain && !full) {
        return {};
      }
      std::vector<Pending> batch;
      batch.reserve(due);
      for (std::size_t i = 0; i < due; ++i) {
        batch.push_back(w.waiting[i]);
      }
      std::vector<Pending> confirmed;
      CESYNC_TRY(retrying("reading differences of " + options_.index + " again",
                          [&] { return recheck(w, batch, confirmed); }));
      w.waiting.erase(w.waiting.begin(), w.waiting.begin() + static_cast<std::ptrdiff_t>(due));
      if (options_.repair) {
        CESYNC_TRY(repair(w, confirmed));
      }
    }
    return {};
  }

  // Reads each difference's row (by the key its id names) and document (by id) again and
  // compares them as the walk did: what still differs is recorded and put in `confirmed`.
  Status recheck(Worker& w, const std::vector<Pending>& batch, std::vector<Pending>& confirmed) {
    confirmed.clear();
    std::vector<KeyWork> keys;
    std::vector<std::size_t> key_of(batch.size(), 0);
    std::vector<std::string> ids;
    ids.reserve(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].keyed) {
        key_of[i] = keys.size();
        keys.push_back(batch[i].key);
      }
      ids.push_back(batch[i].difference.id);
    }
    CESYNC_ASSIGN_OR_RETURN(fetched, w.lookups->fetch(keys));
    CESYNC_ASSIGN_OR_RETURN(documents, currentDocuments(*w.client, options_.index, ids));
    std::uint64_t settled = 0;
    std::vector<Difference> found;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const Pending& p = batch[i];
      std::vector<VerifyEntry> rows;
      if (p.keyed) {
        for (const auto& page : fetched[key_of[i]].pages) {
          for (const auto row : page) {
            CESYNC_ASSIGN_OR_RETURN(entry, rowEntry(*w.lookups, builder_, row));
            rows.push_back(std::move(entry));
          }
        }
      } else if (p.difference.kind != DifferenceKind::kExtra) {
        // A row whose id names no key (a static-only partition): it cannot be read again.
        confirmed.push_back(p);
        found.push_back(p.difference);
        continue;
      }
      if (p.foreign && !rows.empty()) {
        continue;  // its row's own walk counted this document
      }
      std::vector<VerifyEntry> docs;
      if (const auto at = documents.find(p.difference.id); at != documents.end()) {
        docs.push_back(
            {p.difference.token, p.difference.id, at->second.version, at->second.source});
      }
      std::vector<Difference> now;
      compareGroup(rows, docs, mergeOptions(w), now);
      if (now.empty()) {
        ++settled;
      }
      for (auto& d : now) {
        Pending still = p;
        still.difference = std::move(d);
        found.push_back(still.difference);
        confirmed.push_back(std::move(still));
      }
    }
    record(found);
    std::lock_guard guard(mutex_);
    report_.settled += settled;
    return {};
  }

  // Writes each confirmed difference through the stream's path: the key's row as it is now (or
  // a delete when it is gone), versioned so that a newer write by the daemon always wins.
  Status repair(Worker& w, const std::vector<Pending>& confirmed) {
    RepairReport done;
    std::unordered_map<std::string, std::int64_t> above_deletes;
    std::unordered_set<std::string> written_since;
    if (options_.compare_versions) {
      CESYNC_TRY(versionsAboveDeletes(w, confirmed, above_deletes, written_since));
    }
    std::vector<const Difference*> strays;  // documents whose id names no key of the table
    for (const auto& p : confirmed) {
      const Difference& d = p.difference;
      if (written_since.contains(d.id)) {
        ++done.skipped;
        continue;
      }
      if (!p.keyed) {
        if (d.kind == DifferenceKind::kExtra) {
          strays.push_back(&d);
        } else {
          ++done.skipped;
        }
        continue;
      }
      KeyWork work = p.key;
      work.scope = KeyWork::Scope::kRow;
      work.entries = 1;
      work.oldest_entry_micros = clock_.wallMicros();
      if (d.kind == DifferenceKind::kExtra) {
        work.newest_is_delete = true;
        // External versions: a delete at the document's own version goes through only while
        // the document is unchanged. Both ways: documents edited after the verify began are
        // edits on their way to Cassandra, left alone.
        work.write_time = options_.compare_versions ? d.document_version : started_micros_;
      } else {
        // Above the document's version, which an overwrite behind cesync's back may have raised
        // past the row's write time.
        work.write_time = std::max(d.row_version, d.document_version + 1);
        if (const auto at = above_deletes.find(d.id); at != above_deletes.end()) {
          work.write_time = std::max(work.write_time, at->second);
        }
      }
      w.repairer->addWork(std::move(work));
    }
    auto flushOnce = [&]() -> Status {
      // A failed flush keeps its work for the next.
      CESYNC_ASSIGN_OR_RETURN(flushed, w.repairer->flush());
      done.indexed += flushed.indexed;
      done.deleted += flushed.deleted;
      done.skipped += flushed.already_newer;
      done.dead_letters += flushed.dead_letters;
      return Status{};
    };
    if (auto flushed = retrying("repairing " + options_.index, flushOnce); !flushed) {
      return flushed;
    }
    if (!strays.empty()) {
      es::BulkEncoder deletes;
      for (const auto* d : strays) {
        // At the version read: gone through only while the document is unchanged.
        deletes.remove({options_.index, d->id, d->document_version, {}});
      }
      CESYNC_TRY(retrying("deleting documents of " + options_.index, [&]() -> Status {
        CESYNC_ASSIGN_OR_RETURN(items, writeInFull(*w.client, deletes));
        for (const auto& item : items) {
          ++(item.outcome == es::ItemOutcome::kOk ? done.deleted : done.skipped);
        }
        return Status{};
      }));
    }
    std::lock_guard guard(mutex_);
    report_.repair->indexed += done.indexed;
    report_.repair->deleted += done.deleted;
    report_.repair->skipped += done.skipped;
    report_.repair->dead_letters += done.dead_letters;
    return {};
  }

  // A document deleted by hand leaves its version behind for a while (`index.gc_deletes`), one
  // above the row's write time, and a write at the row's version would be refused. So each
  // missing document is first deleted at its row's version (a no-op where nothing newer is
  // there); where the index holds a newer version and the document is still absent, the repair
  // writes one above it (`above`); where a document appeared meanwhile, the daemon wrote it
  // (`written_since`): it is left alone.
  Status versionsAboveDeletes(Worker& w, const std::vector<Pending>& confirmed,
                              std::unordered_map<std::string, std::int64_t>& above,
                              std::unordered_set<std::string>& written_since) {
    es::BulkEncoder probes;
    std::vector<const Difference*> probed;
    for (const auto& p : confirmed) {
      if (p.keyed && p.difference.kind == DifferenceKind::kMissing) {
        probes.remove({options_.index, p.difference.id, p.difference.row_version, {}});
        probed.push_back(&p.difference);
      }
    }
    if (probed.empty()) {
      return {};
    }
    std::unordered_map<std::string, std::int64_t> held;  // id -> the version the index holds
    auto probeOnce = [&]() -> Status {
      CESYNC_ASSIGN_OR_RETURN(items, writeInFull(*w.client, probes));
      for (std::size_t i = 0; i < items.size() && i < probed.size(); ++i) {
        if (items[i].outcome != es::ItemOutcome::kAlreadyNewer) {
          continue;
        }
        if (const auto version = es::conflictCurrentVersion(items[i].reason)) {
          held[probed[i]->id] = *version;
        }
      }
      return Status{};
    };
    if (auto probed_ok = retrying("repairing " + options_.index, probeOnce); !probed_ok) {
      return probed_ok;
    }
    if (held.empty()) {
      return {};
    }
    std::vector<std::string> ids;
    ids.reserve(held.size());
    for (const auto& [id, version] : held) {
      ids.push_back(id);
    }
    std::unordered_map<std::string, CurrentDocument> now;
    CESYNC_TRY(retrying("reading documents of " + options_.index + " again", [&]() -> Status {
      CESYNC_ASSIGN_OR_RETURN(found, currentDocuments(*w.client, options_.index, ids));
      now = std::move(found);
      return Status{};
    }));
    for (const auto& [id, version] : held) {
      if (now.contains(id)) {
        written_since.insert(id);
      } else {
        above[id] = version + 1;
      }
    }
    return {};
  }

  // Documents with no token: each is read again with the row its id names. A fault starts the
  // scan over; the ids already taken are not taken twice.
  Status strays() {
    Worker w;
    CESYNC_TRY(connect(w));
    std::unordered_set<std::string> taken;
    std::uint64_t documents = 0;
    auto scanOnce = [&]() -> Status {
      es::ScanOptions scan;
      scan.index = options_.index;
      scan.query =
          std::string(R"({"bool":{"must_not":{"exists":{"field":")") + kTokenField + R"("}}}})";
      scan.sort = std::string(R"([{")") + w.client->server().tiebreaker() + R"(":"asc"}])";
      scan.page_size = static_cast<std::size_t>(std::clamp(options_.page_size, 1, 10'000));
      scan.mode = es::ScanMode::kPointInTime;
      auto scanner = w.client->scan(std::move(scan));
      std::vector<es::SearchHit> page;
      bool more = true;
      while (more) {
        if (stopping()) {
          return cancelled();
        }
        CESYNC_TRY(settle(w, /*drain=*/false));
        CESYNC_ASSIGN_OR_RETURN(next, scanner->next(page));
        more = next;
        for (auto& hit : page) {
          if (!taken.insert(hit.id).second) {
            continue;
          }
          ++documents;
          Pending p{{DifferenceKind::kExtra, 0, hit.id, -1, hit.version, {}},
                    {},
                    false,
                    /*foreign=*/true,
                    clock_.now()};
          p.keyed = keyOfDocumentId(fetcher_.schema(), hit.id, p.key.pk, p.key.ck);
          w.waiting.push_back(std::move(p));
        }
      }
      (void)scanner->close();
      return Status{};
    };
    auto scanned =
        retrying("scanning " + options_.index + " for documents without a token", scanOnce);
    if (!scanned) {
      return scanned;
    }
    CESYNC_TRY(settle(w, /*drain=*/true));
    std::lock_guard guard(mutex_);
    report_.documents += documents;
    return {};
  }

  void record(const std::vector<Difference>& differences) {
    if (differences.empty()) {
      return;
    }
    std::lock_guard guard(mutex_);
    for (const auto& d : differences) {
      std::uint64_t& count = d.kind == DifferenceKind::kMissing ? report_.missing
                             : d.kind == DifferenceKind::kExtra ? report_.extra
                                                                : report_.stale;
      if (count < options_.examples) {
        report_.examples.push_back(d);
      }
      ++count;
    }
  }

  void reportProgress(std::size_t rows) {
    std::lock_guard guard(mutex_);
    rows_read_ += rows;
    reportProgressLocked();
  }
  void reportProgressLocked() {
    if (progress_) {
      progress_(VerifyProgress{ranges_, ranges_done_, rows_read_});
    }
  }

  cql::Session& session_;
  const VerifyOptions& options_;
  const Clock& clock_;
  WorkerPool<Range> pool_;  // the ranges still to compare; the workers' first error
  const std::function<void(const VerifyProgress&)>& progress_;
  RowFetcher fetcher_;  // for its SELECT and row accessors only (const, shared by the workers)
  DocBuilder builder_;
  Clock::TimePoint started_;
  std::int64_t started_micros_;
  cql::PreparedPtr after_;

  std::mutex mutex_;  // guards everything below
  std::size_t ranges_ = 0;
  std::size_t ranges_done_ = 0;
  std::uint64_t rows_read_ = 0;
  std::uint64_t paced_rows_ = 0;
  VerifyReport report_;
};

}  // namespace

bool keyOfDocumentId(const TableSchema& schema, std::string_view id, std::vector<cql::Bytes>& pk,
                     std::vector<cql::Bytes>& ck) {
  pk.clear();
  ck.clear();
  const auto key = schema.primaryKey();
  std::vector<cql::Value> values;
  if (key.size() == 1) {
    const auto& column = schema.columns[static_cast<std::size_t>(schema.columnIndex(key[0]))];
    auto value = valueFromText(*column.type, id);
    if (!value) {
      return false;
    }
    values.push_back(std::move(*value));
  } else {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::dom::array parts;
    if (parser.parse(id.data(), id.size()).get(root) != simdjson::SUCCESS ||
        root.get_array().get(parts) != simdjson::SUCCESS || parts.size() != key.size()) {
      return false;
    }
    std::size_t i = 0;
    for (auto part : parts) {
      const auto& column = schema.columns[static_cast<std::size_t>(schema.columnIndex(key[i++]))];
      auto value = valueFromJson(*column.type, simdjson::to_string(part));
      if (!value || value->isNull()) {
        return false;
      }
      values.push_back(std::move(*value));
    }
  }
  for (std::size_t i = 0; i < key.size(); ++i) {
    const auto& column = schema.columns[static_cast<std::size_t>(schema.columnIndex(key[i]))];
    cql::Bytes bytes;
    if (!cql::encodeValue(*column.type, values[i], bytes)) {
      return false;
    }
    (i < schema.partition_key.size() ? pk : ck).push_back(std::move(bytes));
  }
  // Lenient forms parse too ("+42"); only the canonical id is a row's document id.
  const auto canonical = documentIdOfKey(schema, pk, ck);
  return canonical && *canonical == id;
}

Verifier::Verifier(cql::Session& session, TableSchema schema, VerifyOptions options,
                   const Clock& clock)
    : session_(session), schema_(std::move(schema)), options_(std::move(options)), clock_(clock) {}

Result<VerifyReport> Verifier::run(const std::atomic<bool>* stop,
                                   const std::function<void(const VerifyProgress&)>& progress) {
  if (options_.index.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "verify of " + qualifiedName(schema_) + ": no index given");
  }
  if (options_.repair && options_.repair->store == nullptr) {
    return fail(ErrorCode::kInvalidArgument,
                "verify of " + qualifiedName(schema_) + ": a repair needs the state store");
  }
  if (options_.page_size <= 0) {
    return fail(ErrorCode::kInvalidArgument,
                "verify of " + qualifiedName(schema_) + ": page size must be > 0");
  }
  VerifyRun run(session_, schema_, options_, clock_, stop, progress);
  CESYNC_TRY(run.prepare());
  CESYNC_TRY(run.run());
  return run.report();
}

}  // namespace cesync::sync
