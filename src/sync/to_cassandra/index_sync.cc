#include "sync/to_cassandra/index_sync.h"

#include <simdjson.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "cql/types/value_codec.h"
#include "sync/to_search/change_stream.h"
#include "sync/to_search/partition_documents.h"
#include "util/json_writer.h"

namespace cesync::sync {
namespace {

// An empty collection and a null are the same thing to Cassandra.
bool isEmptyCollection(const cql::CqlType& type, const cql::Bytes& encoded) {
  switch (type.kind) {
    case cql::TypeKind::kList:
    case cql::TypeKind::kSet:
    case cql::TypeKind::kMap:
      return encoded.size() == 4 && encoded[0] == 0 && encoded[1] == 0 && encoded[2] == 0 &&
             encoded[3] == 0;
    default:
      return false;
  }
}

constexpr const char* kPositionCursor = "position";

}  // namespace

/// A document read from the index, on its way to Cassandra.
struct IndexSync::Pending {
  std::string id;
  std::vector<cql::Value> values;
  std::int64_t timestamp_ms = 0;
  bool soft_deleted = false;
  bool complete = false;            // every column is in the document
  std::int64_t index_version = -1;  // the document's version when it was read
  std::int64_t seq_no = -1;         // and its sequence number and primary term
  std::int64_t primary_term = -1;
  KeyWork key;
};

IndexSync::IndexSync(cql::Session& session, es::EsClient& search, state::CheckpointStore& store,
                     TableSchema schema, IndexSyncOptions options, EchoMarks& echoes,
                     const Clock& clock)
    : session_(session),
      search_(search),
      store_(store),
      schema_(std::move(schema)),
      options_(std::move(options)),
      echoes_(echoes),
      clock_(clock),
      fetcher_(session, schema_, options_.consistency, options_.max_in_flight),
      values_(schema_),
      builder_(documentBuilderFor(schema_)),
      soft_delete_parser_(std::make_unique<simdjson::dom::parser>()) {
  const int ts = schema_.columnIndex(options_.timestamp_column);
  timestamp_index_ = ts < 0 ? 0 : static_cast<std::size_t>(ts);
}

IndexSync::~IndexSync() = default;

Status IndexSync::checkTable(const TableSchema& schema, const std::string& timestamp_column) {
  const std::string table = schema.keyspace + "." + schema.table;
  const int ts = schema.columnIndex(timestamp_column);
  if (ts < 0) {
    return fail(ErrorCode::kConfig,
                "timestamp_column: " + table + " has no column '" + timestamp_column + "'");
  }
  if (schema.columns[static_cast<std::size_t>(ts)].type->kind != cql::TypeKind::kTimestamp) {
    return fail(ErrorCode::kConfig, "timestamp_column: " + table + "." + timestamp_column +
                                        " is not of type timestamp");
  }
  for (const auto& c : schema.columns) {
    if (c.type->kind == cql::TypeKind::kCounter) {
      return fail(ErrorCode::kConfig, table + " has counter column " + c.name +
                                          ": documents cannot be written back to a counter "
                                          "table (use direction: to_search)");
    }
  }
  return {};
}

std::string IndexSync::scope() const {
  return schema_.keyspace + "." + schema_.table + "/to_cassandra";
}

Result<std::optional<std::int64_t>> IndexSync::readPosition(state::CheckpointStore& store,
                                                            const std::string& qualified_table) {
  return StreamCursors::readNumber(store, qualified_table + "/to_cassandra", kPositionCursor);
}

Result<IndexCounts> IndexSync::readCounts(state::CheckpointStore& store,
                                          const std::string& qualified_table) {
  IndexCounts counts;
  for (auto [name, field] :
       {std::pair{"read", &IndexCounts::read}, std::pair{"written", &IndexCounts::written},
        std::pair{"deleted", &IndexCounts::deleted},
        std::pair{"not_newer", &IndexCounts::not_newer}, std::pair{"echo", &IndexCounts::echo},
        std::pair{"repaired", &IndexCounts::repaired}}) {
    CESYNC_ASSIGN_OR_RETURN(
        value, StreamCursors::readNumber(store, qualified_table + "/to_cassandra", name));
    counts.*field = static_cast<std::uint64_t>(std::max<std::int64_t>(0, value.value_or(0)));
  }
  return counts;
}

Status IndexSync::start() {
  CESYNC_TRY(checkTable(schema_, options_.timestamp_column));
  const std::string table = schema_.keyspace + "." + schema_.table;
  CESYNC_ASSIGN_OR_RETURN(position, readPosition(store_, table));
  position_ms_ = position.value_or(0);
  CESYNC_ASSIGN_OR_RETURN(counts, readCounts(store_, table));
  counts_ = counts;

  std::string columns;
  std::string marks;
  for (const auto& c : schema_.columns) {
    columns += (columns.empty() ? "" : ", ") + quoteIdentifier(c.name);
    marks += marks.empty() ? "?" : ", ?";
  }
  CESYNC_ASSIGN_OR_RETURN(
      insert, session_.prepare("INSERT INTO " + quotedTableName(schema_) + " (" + columns +
                               ") VALUES (" + marks + ") USING TIMESTAMP ?"));
  std::string where;
  for (const auto& name : schema_.primaryKey()) {
    where += (where.empty() ? "" : " AND ") + quoteIdentifier(name) + " = ?";
  }
  CESYNC_ASSIGN_OR_RETURN(remove, session_.prepare("DELETE FROM " + quotedTableName(schema_) +
                                                   " USING TIMESTAMP ? WHERE " + where));
  insert_ = std::move(insert);
  delete_ = std::move(remove);
  return {};
}

std::string IndexSync::sortJson() const {
  std::string out;
  util::JsonWriter w(out);
  w.beginArray();
  w.beginObject();
  w.key(options_.timestamp_column);
  w.value("asc");
  w.endObject();
  // A total order within equal timestamps: Elasticsearch cannot sort on _id but has the
  // point in time's _shard_doc; OpenSearch has no _shard_doc but sorts on _id.
  w.beginObject();
  w.key(search_.server().flavour == es::Flavour::kElasticsearch ? "_shard_doc" : "_id");
  w.value("asc");
  w.endObject();
  w.endArray();
  return out;
}

std::string IndexSync::queryJson(std::int64_t from_ms) const {
  std::string out;
  util::JsonWriter w(out);
  w.beginObject();
  w.key("range");
  w.beginObject();
  w.key(options_.timestamp_column);
  w.beginObject();
  w.key("gte");
  w.value(from_ms);
  w.key("format");
  w.value("epoch_millis");
  w.endObject();
  w.endObject();
  w.endObject();
  return out;
}

Status IndexSync::poll(const std::atomic<bool>& stop) {
  if (!insert_) {
    CESYNC_TRY(start());
  }
  const std::int64_t overlap = options_.overlap.count();
  const std::int64_t from = position_ms_ - overlap;
  std::erase_if(handled_, [&](const auto& h) { return h.second.seen_at_ms < from; });
  es::ScanOptions scan;
  scan.index = options_.index;
  scan.query = queryJson(from);
  scan.sort = sortJson();
  scan.page_size = std::clamp<std::size_t>(options_.page_size, 1, 10'000);
  auto scanner = search_.scan(scan);
  std::vector<es::SearchHit> page;
  for (bool more = true; more && !stop.load();) {
    CESYNC_ASSIGN_OR_RETURN(next, scanner->next(page));
    more = next;
    CESYNC_TRY(handlePage(page));
  }
  (void)scanner->close();
  return {};
}

Result<bool> IndexSync::softDeleted(std::string_view source) {
  if (options_.soft_delete_field.empty()) {
    return false;
  }
  auto doc = soft_delete_parser_->parse(source.data(), source.size());
  if (doc.error()) {
    return fail(ErrorCode::kInvalidArgument, "the document is not JSON");
  }
  auto field = doc[options_.soft_delete_field];
  if (field.error()) {
    return false;
  }
  bool flag = false;
  if (field.get_bool().get(flag) == simdjson::SUCCESS) {
    return flag;
  }
  std::string_view text;
  if (field.get_string().get(text) == simdjson::SUCCESS) {
    return text == "true";
  }
  return false;
}

bool IndexSync::sameAsRow(const std::vector<cql::Value>& values, const cql::Row& row) const {
  cql::Bytes encoded;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i].isUnset()) {
      continue;
    }
    const auto have = row.raw(i);
    if (values[i].isNull()) {
      if (have) {
        return false;
      }
      continue;
    }
    encoded.clear();
    if (!cql::encodeValue(*schema_.columns[i].type, values[i], encoded)) {
      return false;
    }
    if (!have) {
      if (!isEmptyCollection(*schema_.columns[i].type, encoded)) {
        return false;
      }
      continue;
    }
    if (!std::equal(encoded.begin(), encoded.end(), have->begin(), have->end())) {
      return false;
    }
  }
  return true;
}

Status IndexSync::handlePage(const std::vector<es::SearchHit>& hits) {
  const std::int64_t now = clock_.wallMicros();
  std::vector<Pending> pending;
  std::vector<state::DeadLetter> dead_letters;
  std::int64_t newest_ms = position_ms_;
  const auto key = schema_.primaryKey();
  for (const auto& hit : hits) {
    // A document read again within the overlap, unchanged, was handled (written, skipped or
    // dead-lettered) already.
    const std::size_t fingerprint = std::hash<std::string>{}(hit.source);
    if (const auto it = handled_.find(hit.id);
        it != handled_.end() && it->second.fingerprint == fingerprint) {
      continue;
    }
    handled_[hit.id] = {fingerprint, position_ms_};
    auto values = values_.row(hit.source);
    if (!values) {
      dead_letters.push_back({scope(), hit.id, values.error().message, now});
      continue;
    }
    const cql::Value& ts = (*values)[timestamp_index_];
    if (ts.isUnset() || ts.isNull()) {
      dead_letters.push_back(
          {scope(), hit.id, "no timestamp in field " + options_.timestamp_column, now});
      continue;
    }
    Pending p;
    p.id = hit.id;
    p.index_version = hit.version;
    p.seq_no = hit.seq_no;
    p.primary_term = hit.primary_term;
    p.timestamp_ms = ts.asInt();
    newest_ms = std::max(newest_ms, p.timestamp_ms);
    handled_[hit.id].seen_at_ms = std::max(position_ms_, p.timestamp_ms);
    ++counts_.read;
    auto deleted = softDeleted(hit.source);
    if (!deleted) {
      dead_letters.push_back({scope(), hit.id, deleted.error().message, now});
      continue;
    }
    p.soft_deleted = *deleted;
    p.key.scope = KeyWork::Scope::kRow;
    p.complete = true;
    for (const auto& name : key) {
      const auto column = static_cast<std::size_t>(schema_.columnIndex(name));
      cql::Bytes bytes;
      CESYNC_TRY(cql::encodeValue(*schema_.columns[column].type, (*values)[column], bytes));
      (schema_.columnIndex(name) < static_cast<int>(schema_.partition_key.size()) &&
               std::find(schema_.partition_key.begin(), schema_.partition_key.end(), name) !=
                   schema_.partition_key.end()
           ? p.key.pk
           : p.key.ck)
          .push_back(std::move(bytes));
    }
    for (const auto& v : *values) {
      p.complete = p.complete && !v.isUnset();
    }
    // A document must be named as the row it holds, or its row's document would be another.
    CESYNC_ASSIGN_OR_RETURN(expected_id, documentIdOfKey(schema_, p.key.pk, p.key.ck));
    if (expected_id != hit.id) {
      dead_letters.push_back(
          {scope(), hit.id,
           "the document id does not match its key columns (expected " + expected_id + ")", now});
      continue;
    }
    p.values = std::move(*values);
    pending.push_back(std::move(p));
  }
  if (auto written = writeAll(pending, dead_letters); !written) {
    for (const auto& p : pending) {
      handled_.erase(p.id);  // to be tried again
    }
    return written;
  }
  position_ms_ = newest_ms;
  const std::string table_scope = scope();
  state::Commit commit;
  commit.cursors = {{table_scope, kPositionCursor, std::to_string(position_ms_), now},
                    {table_scope, "read", std::to_string(counts_.read), now},
                    {table_scope, "written", std::to_string(counts_.written), now},
                    {table_scope, "deleted", std::to_string(counts_.deleted), now},
                    {table_scope, "not_newer", std::to_string(counts_.not_newer), now},
                    {table_scope, "echo", std::to_string(counts_.echo), now},
                    {table_scope, "repaired", std::to_string(counts_.repaired), now}};
  commit.dead_letters = std::move(dead_letters);
  return store_.commit(commit);
}

Status IndexSync::writeAll(std::vector<Pending>& pending,
                           std::vector<state::DeadLetter>& dead_letters) {
  if (pending.empty()) {
    return {};
  }
  std::vector<KeyWork> keys;
  keys.reserve(pending.size());
  for (const auto& p : pending) {
    keys.push_back(p.key);
  }
  CESYNC_ASSIGN_OR_RETURN(rows, fetcher_.fetch(keys));

  // Decide, then write what is newer than its row, many in flight.
  std::vector<std::size_t> to_write;
  Repairs repairs;
  for (std::size_t i = 0; i < pending.size(); ++i) {
    const Pending& p = pending[i];
    const std::int64_t version = p.timestamp_ms * 1000;
    const cql::Rows* page = rows[i].pages.empty() ? nullptr : &rows[i].pages.front();
    const bool exists = page != nullptr && page->size() > 0;
    if (exists) {
      const cql::Row row = (*page)[0];
      if (fetcher_.rowWriteTime(row) >= version) {
        ++counts_.not_newer;
        // The row is newer: a document that differs from it lost, and takes the row's content
        // back (an edit on the search side older than the row's last write).
        if (p.soft_deleted || !sameAsRow(p.values, row)) {
          CESYNC_TRY(addRepair(repairs, p, row));
        }
        continue;
      }
      if (!p.soft_deleted && sameAsRow(p.values, row)) {
        ++counts_.echo;
        continue;
      }
    }
    // A soft delete of a row that is gone is written all the same: the tombstone (or a newer
    // one already there) keeps the row gone, and its change-log entry is what removes the
    // document from the index. Skipped, the soft-deleted document would stay there for good.
    to_write.push_back(i);
  }

  std::mutex mutex;
  std::condition_variable done;
  std::size_t in_flight = 0;
  std::optional<Error> first_error;
  std::vector<std::optional<Error>> outcomes(to_write.size());
  for (std::size_t n = 0; n < to_write.size(); ++n) {
    Pending& p = pending[to_write[n]];
    const std::int64_t version = p.timestamp_ms * 1000;
    cql::Statement statement;
    if (p.soft_deleted) {
      std::vector<cql::Value> bound{cql::Value::bigint(version)};
      for (const auto& name : schema_.primaryKey()) {
        bound.push_back(p.values[static_cast<std::size_t>(schema_.columnIndex(name))]);
      }
      statement = cql::Statement::of(delete_, std::move(bound));
    } else {
      std::vector<cql::Value> bound = p.values;
      bound.push_back(cql::Value::bigint(version));
      statement = cql::Statement::of(insert_, std::move(bound));
    }
    statement.consistency = options_.consistency;
    statement.idempotent = true;  // a fixed write time makes a repeat change nothing
    std::unique_lock lock(mutex);
    done.wait(lock, [&] { return in_flight < std::max<std::size_t>(1, options_.max_in_flight); });
    ++in_flight;
    lock.unlock();
    session_.executeAsync(std::move(statement), [&, n](Result<cql::ResultSet> r) {
      std::lock_guard guard(mutex);
      if (!r) {
        outcomes[n] = r.error();
      }
      --in_flight;
      done.notify_all();
    });
  }
  {
    std::unique_lock lock(mutex);
    done.wait(lock, [&] { return in_flight == 0; });
  }
  const std::int64_t now = clock_.wallMicros();
  const std::string table = schema_.keyspace + "." + schema_.table;
  for (std::size_t n = 0; n < to_write.size(); ++n) {
    Pending& p = pending[to_write[n]];
    if (outcomes[n]) {
      if (isTransient(outcomes[n]->code)) {
        first_error = first_error.value_or(*outcomes[n]);
      } else {
        dead_letters.push_back({scope(), p.id, outcomes[n]->message, now});
      }
      continue;
    }
    ++(p.soft_deleted ? counts_.deleted : counts_.written);
    // The change log entry of this write would only index the document back.
    if (p.complete && !p.soft_deleted) {
      echoes_.record(table, p.id, p.timestamp_ms * 1000);
    }
  }
  if (first_error) {
    return fail(first_error->code, "writing documents of " + options_.index + " to " + table +
                                       ": " + first_error->message);
  }
  return sendRepairs(repairs, dead_letters);
}

Status IndexSync::addRepair(Repairs& repairs, const Pending& p, const cql::Row& row) {
  CESYNC_ASSIGN_OR_RETURN(token, row.get<std::int64_t>(fetcher_.tokenColumn()));
  std::string doc;
  CESYNC_TRY(builder_.appendDocument(doc, row, schema_.columns, token, p.id));
  // Only if nobody edited the document since it was read (then the next poll decides again):
  // compare-and-set on its sequence number, or, where the engine gave none, its version.
  es::BulkTarget target{
      options_.index, p.id, std::max(fetcher_.rowWriteTime(row), p.index_version), {}};
  if (p.seq_no >= 0 && p.primary_term >= 0) {
    target.if_seq_no = p.seq_no;
    target.if_primary_term = p.primary_term;
  }
  repairs.batch.index(target, doc);
  repairs.ids.push_back(p.id);
  return {};
}

Status IndexSync::sendRepairs(Repairs& repairs, std::vector<state::DeadLetter>& dead_letters) {
  if (repairs.batch.empty()) {
    return {};
  }
  CESYNC_ASSIGN_OR_RETURN(written, search_.bulk(repairs.batch));
  const std::int64_t now = clock_.wallMicros();
  for (std::size_t i = 0; i < written.items.size(); ++i) {
    switch (written.items[i].outcome) {
      case es::ItemOutcome::kOk:
        ++counts_.repaired;
        break;
      case es::ItemOutcome::kAlreadyNewer:
        break;  // edited again since it was read: the next poll decides
      case es::ItemOutcome::kDeadLetter:
        dead_letters.push_back({scope(), repairs.ids[i],
                                written.items[i].error_type + ": " + written.items[i].reason, now});
        break;
      case es::ItemOutcome::kRetry:
        return fail(ErrorCode::kUnavailable,
                    "index " + options_.index + " did not accept " + repairs.ids[i] +
                        " within the retry budget: " + written.items[i].reason);
    }
  }
  return {};
}

}  // namespace cesync::sync
