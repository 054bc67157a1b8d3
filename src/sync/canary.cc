#include "sync/canary.h"

#include <fmt/format.h>
#include <simdjson.h>

#include "cql/types/value_codec.h"
#include "es/index_admin.h"
#include "sync/search_side_edits.h"
#include "sync/to_cassandra/doc_values.h"
#include "sync/to_search/partition_documents.h"

namespace cesync::sync {

Result<std::unique_ptr<Canary>> Canary::make(cql::Session& session, const TableSchema& schema,
                                             const config::TableConfig& table,
                                             std::chrono::milliseconds interval,
                                             std::chrono::milliseconds timeout,
                                             const Clock& clock) {
  const auto key = schema.primaryKey();
  if (table.canary_key.size() != key.size()) {
    return fail(ErrorCode::kConfig,
                fmt::format("canary_key: the table's primary key has {} column(s) ({}), the "
                            "canary_key {} value(s)",
                            key.size(), fmt::join(key, ", "), table.canary_key.size()));
  }
  std::unique_ptr<Canary> canary(new Canary(session, clock));
  canary->name_ = table.qualifiedName();
  canary->index_ = table.index;
  canary->interval_ = interval;
  canary->timeout_ = timeout;
  std::vector<cql::Bytes> pk;
  std::vector<cql::Bytes> ck;
  std::string columns;
  std::string markers;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const int c = schema.columnIndex(key[i]);
    const auto& type = *schema.columns[static_cast<std::size_t>(c)].type;
    auto value = valueFromText(type, table.canary_key[i]);
    if (!value) {
      return fail(ErrorCode::kConfig,
                  fmt::format("canary_key: '{}' is not a value of {}: {}", table.canary_key[i],
                              key[i], value.error().message));
    }
    cql::Bytes bytes;
    CESYNC_TRY(cql::encodeValue(type, *value, bytes));
    (i < schema.partition_key.size() ? pk : ck).push_back(std::move(bytes));
    canary->key_.push_back(std::move(*value));
    columns += (i == 0 ? "" : ", ") + quoteIdentifier(key[i]);
    markers += i == 0 ? "?" : ", ?";
  }
  if (table.direction == config::Direction::kBoth) {
    canary->timestamp_field_ = table.timestamp_column;
    columns += ", " + quoteIdentifier(table.timestamp_column);
    markers += ", ?";
  }
  CESYNC_ASSIGN_OR_RETURN(id, documentIdOfKey(schema, pk, ck));
  canary->id_ = std::move(id);
  CESYNC_ASSIGN_OR_RETURN(
      insert, session.prepare("INSERT INTO " + quotedTableName(schema) + " (" + columns +
                              ") VALUES (" + markers + ") USING TIMESTAMP ?"));
  canary->insert_ = std::move(insert);
  return canary;
}

Result<bool> Canary::seen(es::EsClient& search) const {
  if (!timestamp_field_.empty()) {
    CESYNC_ASSIGN_OR_RETURN(docs, SearchSideEdits::read(search, index_, timestamp_field_, {id_}));
    const auto doc = docs.find(id_);
    return doc != docs.end() && doc->second.timestamp_ms &&
           *doc->second.timestamp_ms >= written_micros_ / 1000;
  }
  es::HttpRequest get;
  get.path = "/" + es::encodePathSegment(index_) + "/_doc/" + es::encodePathSegment(id_) +
             "?_source=false";
  get.idempotent = true;
  CESYNC_ASSIGN_OR_RETURN(response, search.transport().send(get));
  if (response.status == 404) {
    return false;
  }
  if (response.status != 200) {
    return fail(ErrorCode::kUnavailable,
                fmt::format("reading the canary document: HTTP {}", response.status));
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::int64_t version = 0;
  if (parser.parse(response.body).get(doc) != simdjson::SUCCESS ||
      doc["_version"].get_int64().get(version) != simdjson::SUCCESS) {
    return fail(ErrorCode::kProtocol, "reading the canary document: no _version in the answer");
  }
  // Versions are the rows' write times (µs): the document holds the canary write or a newer one.
  return version >= written_micros_;
}

void Canary::tick(es::EsClient& search, ops::Events& events) {
  const std::int64_t now = clock_.wallMicros();
  if (written_micros_ != 0) {
    auto found = seen(search);
    if (!found) {
      events.log(ops::Event::kCanaryFailed, {name_},
                 name_ + ": cannot look for the canary document: " + found.error().message);
    } else if (*found) {
      latency_ = static_cast<double>(now - written_micros_) / 1e6;
      events.set(ops::Event::kCanaryLatency, {name_}, *latency_);
      events.log(ops::Event::kCanaryLatency, {name_},
                 fmt::format("{}: canary seen in the index after {:.3f} s", name_, *latency_));
      written_micros_ = 0;
    } else if (now - written_micros_ >
               std::chrono::duration_cast<std::chrono::microseconds>(timeout_).count()) {
      events.log(ops::Event::kCanaryFailed, {name_},
                 fmt::format("{}: the canary written {:.0f} s ago is not in the index yet", name_,
                             static_cast<double>(now - written_micros_) / 1e6));
      written_micros_ = 0;  // write a new one; the lag metric tells the rest
    }
  }
  if (written_micros_ != 0 || now < next_micros_) {
    return;
  }
  std::vector<cql::Value> values = key_;
  if (!timestamp_field_.empty()) {
    values.push_back(cql::Value::timestamp(now / 1000));
  }
  values.push_back(cql::Value::bigint(now));
  auto statement = cql::Statement::of(insert_, std::move(values));
  statement.idempotent = true;
  next_micros_ = now + std::chrono::duration_cast<std::chrono::microseconds>(interval_).count();
  if (auto written = session_.execute(statement); !written) {
    events.log(ops::Event::kCanaryFailed, {name_},
               name_ + ": cannot write the canary row: " + written.error().message);
    return;
  }
  written_micros_ = now;
  events.count(ops::Event::kCanaryWritten, {name_});
}

}  // namespace cesync::sync
