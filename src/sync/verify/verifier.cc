#include "sync/verify/verifier.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "cql/token_map.h"
#include "cql/types/value_codec.h"
#include "es/index_admin.h"
#include "es/multi_get.h"
#include "es/search_scanner.h"
#include "sync/doc_fields.h"
#include "sync/to_cassandra/doc_values.h"
#include "sync/to_search/doc_builder.h"
#include "sync/to_search/partition_documents.h"
#include "sync/to_search/row_fetcher.h"
#include "sync/to_search/snapshot.h"
#include "util/json_writer.h"
#include "util/murmur3.h"

namespace cesync::sync {
namespace {

// Rows whose document was not in its token's place, looked up by id in batches of this many.
constexpr std::size_t kLookupBatch = 500;

std::string qualifiedName(const TableSchema& schema) {
  return schema.keyspace + "." + schema.table;
}

// Elasticsearch cannot sort on _id but has the point in time's _shard_doc; OpenSearch has no
// _shard_doc but sorts on _id. Either makes the order total within a token.
const char* tiebreaker(const es::EsClient& client) {
  return client.server().flavour == es::Flavour::kElasticsearch ? "_shard_doc" : "_id";
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
  w.key(tiebreaker(client));
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

// The rows of one token range, as entries: id, document and write time as the snapshot builds
// them.
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
    const cql::Row row = rows_[at_++];
    VerifyEntry entry;
    CESYNC_ASSIGN_OR_RETURN(token, row.get<std::int64_t>(fetcher_.tokenColumn()));
    entry.token = token;
    CESYNC_ASSIGN_OR_RETURN(id, builder_.documentId(row));
    entry.id = std::move(id);
    entry.version = fetcher_.rowWriteTime(row);
    // A row whose document cannot be built has an empty source: its document, if any, differs.
    if (!builder_.appendDocument(entry.source, row, fetcher_.schema().columns, token, entry.id)) {
      entry.source.clear();
    }
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

// The versions of those of `ids` that exist in `index` (real-time).
Result<std::unordered_map<std::string, std::int64_t>> documentVersions(
    es::EsClient& client, const std::string& index, const std::vector<std::string>& ids) {
  std::unordered_map<std::string, std::int64_t> out;
  if (ids.empty()) {
    return out;
  }
  CESYNC_ASSIGN_OR_RETURN(response, es::multiGet(client.transport(), index, ids, "_source=false",
                                                 "looking up documents of " + index));
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array docs;
  if (parser.parse(response.body).get(doc) != simdjson::SUCCESS ||
      doc["docs"].get_array().get(docs) != simdjson::SUCCESS) {
    return fail(ErrorCode::kProtocol, "an _mget answer of " + index + " has no docs");
  }
  for (auto d : docs) {
    bool found = false;
    std::string_view id;
    std::int64_t version = -1;
    if (d["found"].get_bool().get(found) != simdjson::SUCCESS || !found ||
        d["_id"].get_string().get(id) != simdjson::SUCCESS) {
      continue;
    }
    if (d["_version"].get_int64().get(version) != simdjson::SUCCESS) {
      version = -1;
    }
    out.emplace(std::string(id), version);
  }
  return out;
}

// A document to check against the table by the key its id names.
struct Orphan {
  Difference difference;
  KeyWork key;
};

// Those of `orphans` whose key has no row, as extra documents (a row that exists was counted
// stale by its own token's walk: its document is not in its place). Empties `orphans`.
Result<std::vector<Difference>> orphansWithoutRow(RowFetcher& fetcher,
                                                  std::vector<Orphan>& orphans) {
  std::vector<KeyWork> work;
  work.reserve(orphans.size());
  for (auto& o : orphans) {
    work.push_back(std::move(o.key));
  }
  CESYNC_ASSIGN_OR_RETURN(fetched, fetcher.fetch(work));
  std::vector<Difference> extra;
  for (std::size_t i = 0; i < fetched.size(); ++i) {
    if (fetched[i].rowCount() == 0) {
      extra.push_back(std::move(orphans[i].difference));
    }
  }
  orphans.clear();
  return extra;
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
        stop_(stop),
        progress_(progress),
        fetcher_(session, schema, options.consistency, 1),
        builder_(documentBuilderFor(schema)),
        started_(clock.now()) {}

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
      CESYNC_ASSIGN_OR_RETURN(client, es::EsClient::connect(options_.search, clock_));
      CESYNC_TRY(client->admin().refresh(options_.index));
    }
    const auto ranges = splitTokenRing(options_.ranges);
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      queue_.push_back({i, ranges[i]});
    }
    ranges_ = ranges.size();
    const std::size_t workers =
        std::min(std::max<std::size_t>(1, options_.parallelism), ranges.size());
    reportProgress(0);
    std::vector<std::thread> threads;
    threads.reserve(workers);
    for (std::size_t i = 0; i < workers; ++i) {
      threads.emplace_back([this] { work(); });
    }
    for (auto& t : threads) {
      t.join();
    }
    if (error_) {
      return fail(*error_);
    }
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

  [[nodiscard]] bool stopping() const {
    return (stop_ != nullptr && stop_->load()) || failed_.load();
  }

  [[nodiscard]] Status cancelled() const {
    return fail(ErrorCode::kCancelled,
                "verify of " + qualifiedName(fetcher_.schema()) + " stopped");
  }

  std::optional<Range> take() {
    std::lock_guard guard(mutex_);
    if (queue_.empty() || stopping()) {
      return std::nullopt;
    }
    Range r = queue_.front();
    queue_.pop_front();
    return r;
  }

  void work() {
    auto done = [&]() -> Status {
      CESYNC_ASSIGN_OR_RETURN(client, es::EsClient::connect(options_.search, clock_));
      // For looking rows up by key (its prepared statements are this worker's own).
      RowFetcher lookups(session_, fetcher_.schema(), options_.consistency, 32);
      while (auto range = take()) {
        CESYNC_TRY(verifyRange(*client, lookups, *range));
      }
      return {};
    }();
    if (!done && !(done.error().code == ErrorCode::kCancelled && stopping())) {
      std::lock_guard guard(mutex_);
      if (!error_) {
        error_ = done.error();
      }
      failed_ = true;
    }
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
    while (clock_.now() < due) {
      if (stopping()) {
        return cancelled();
      }
      std::this_thread::sleep_for(
          std::min<Clock::Duration>(due - clock_.now(), std::chrono::milliseconds(50)));
    }
    return {};
  }

  Status verifyRange(es::EsClient& client, RowFetcher& lookup_fetcher, const Range& range) {
    cql::Statement statement = cql::Statement::of(
        after_, {cql::Value::bigint(range.range.start), cql::Value::bigint(range.range.end)});
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
    scan.query = rangeQuery(range.range, range.index == 0);
    scan.sort = rangeSort(client);
    scan.page_size = static_cast<std::size_t>(std::clamp(options_.page_size, 1, 10'000));
    scan.mode = es::ScanMode::kPointInTime;
    DocumentStream documents(client.scan(std::move(scan)),
                             [this] { return stopping() ? cancelled() : Status{}; });
    std::vector<Difference> lookups;  // rows without a document in their token's place
    auto resolve = [&]() -> Status {
      std::vector<std::string> ids;
      ids.reserve(lookups.size());
      for (const auto& d : lookups) {
        ids.push_back(d.id);
      }
      CESYNC_ASSIGN_OR_RETURN(found, documentVersions(client, options_.index, ids));
      for (auto& d : lookups) {
        if (const auto at = found.find(d.id); at != found.end()) {
          // A document with no or another token: not what cesync writes for this row.
          d.kind = DifferenceKind::kStale;
          d.document_version = at->second;
          d.reason = "content";
        }
      }
      record(lookups);
      lookups.clear();
      return {};
    };
    std::vector<Orphan> orphans;  // documents whose token is not their id's
    auto resolveOrphans = [&]() -> Status {
      CESYNC_ASSIGN_OR_RETURN(extra, orphansWithoutRow(lookup_fetcher, orphans));
      record(extra);
      return {};
    };
    auto onGroup = [&](std::vector<Difference>& group) -> Status {
      std::vector<Difference> now;
      for (auto& d : group) {
        if (d.kind == DifferenceKind::kMissing) {
          lookups.push_back(std::move(d));
          continue;
        }
        if (d.kind == DifferenceKind::kExtra) {
          // A document whose id names a key of another token may be that row's document with
          // a wrong token: it is extra only if that row does not exist.
          Orphan o{std::move(d), {}};
          if (keyOfDocumentId(fetcher_.schema(), o.difference.id, o.key.pk, o.key.ck) &&
              util::murmur3Token(cql::TokenMap::routingKey(o.key.pk)) != o.difference.token) {
            orphans.push_back(std::move(o));
          } else {
            now.push_back(std::move(o.difference));
          }
          continue;
        }
        now.push_back(std::move(d));
      }
      record(now);
      if (lookups.size() >= kLookupBatch) {
        CESYNC_TRY(resolve());
      }
      return orphans.size() >= kLookupBatch ? resolveOrphans() : Status{};
    };
    CESYNC_ASSIGN_OR_RETURN(
        counts, mergeStreams(rows, documents, MergeOptions{options_.compare_versions}, onGroup));
    CESYNC_TRY(resolveOrphans());
    CESYNC_TRY(resolve());
    std::lock_guard guard(mutex_);
    report_.rows += counts.rows;
    report_.documents += counts.documents;
    ++ranges_done_;
    reportProgressLocked();
    return {};
  }

  // Documents with no token: extra unless their id names a row that exists (that row's walk
  // counted the document stale already).
  Status strays() {
    CESYNC_ASSIGN_OR_RETURN(client, es::EsClient::connect(options_.search, clock_));
    es::ScanOptions scan;
    scan.index = options_.index;
    scan.query =
        std::string(R"({"bool":{"must_not":{"exists":{"field":")") + kTokenField + R"("}}}})";
    scan.sort = std::string(R"([{")") + tiebreaker(*client) + R"(":"asc"}])";
    scan.page_size = static_cast<std::size_t>(std::clamp(options_.page_size, 1, 10'000));
    scan.mode = es::ScanMode::kPointInTime;
    auto scanner = client->scan(std::move(scan));
    RowFetcher fetcher(session_, fetcher_.schema(), options_.consistency, 32);
    std::vector<es::SearchHit> page;
    bool more = true;
    while (more) {
      if (stopping()) {
        return cancelled();
      }
      CESYNC_ASSIGN_OR_RETURN(next, scanner->next(page));
      more = next;
      std::vector<Orphan> orphans;
      std::vector<Difference> extra;
      for (const auto& hit : page) {
        Orphan o{{DifferenceKind::kExtra, 0, hit.id, -1, hit.version, {}}, {}};
        if (keyOfDocumentId(fetcher_.schema(), hit.id, o.key.pk, o.key.ck)) {
          orphans.push_back(std::move(o));
        } else {
          extra.push_back(std::move(o.difference));
        }
      }
      CESYNC_ASSIGN_OR_RETURN(without_row, orphansWithoutRow(fetcher, orphans));
      for (auto& d : without_row) {
        extra.push_back(std::move(d));
      }
      record(extra);
      std::lock_guard guard(mutex_);
      report_.documents += page.size();
    }
    (void)scanner->close();
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
  const std::atomic<bool>* stop_;
  const std::function<void(const VerifyProgress&)>& progress_;
  RowFetcher fetcher_;  // for its SELECT and row accessors only (const, shared by the workers)
  DocBuilder builder_;
  Clock::TimePoint started_;
  cql::PreparedPtr after_;
  std::atomic<bool> failed_{false};

  std::mutex mutex_;  // guards everything below
  std::deque<Range> queue_;
  std::size_t ranges_ = 0;
  std::size_t ranges_done_ = 0;
  std::uint64_t rows_read_ = 0;
  std::uint64_t paced_rows_ = 0;
  VerifyReport report_;
  std::optional<Error> error_;
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
