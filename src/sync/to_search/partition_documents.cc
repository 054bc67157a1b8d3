#include "sync/to_search/partition_documents.h"

#include "cql/token_map.h"
#include "cql/types/value_codec.h"
#include "sync/doc_fields.h"
#include "sync/to_search/doc_builder.h"
#include "util/murmur3.h"

namespace cesync::sync {

namespace {

// Decodes serialized key parts with the types of the named columns.
Result<std::vector<cql::Value>> decodeKey(const TableSchema& schema,
                                          const std::vector<std::string>& names,
                                          const std::vector<cql::Bytes>& parts) {
  if (parts.size() > names.size()) {
    return fail(ErrorCode::kProtocol, "a key of " + schema.keyspace + "." + schema.table + " has " +
                                          std::to_string(parts.size()) + " parts, more than its " +
                                          std::to_string(names.size()) + " columns");
  }
  std::vector<cql::Value> values;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const int column = schema.columnIndex(names[i]);
    if (column < 0) {
      return fail(ErrorCode::kNotFound, "key column " + names[i] + " is missing from the schema");
    }
    CESYNC_ASSIGN_OR_RETURN(
        value, cql::decodeValue(*schema.columns[static_cast<std::size_t>(column)].type, parts[i]));
    values.push_back(std::move(value));
  }
  return values;
}

// The id of a key given by all of its values (docs/TYPES.md), or, with `open`, the prefix that
// the ids of every row under those values start with.
std::string idOf(const std::vector<cql::Value>& values, bool open) {
  if (values.size() == 1 && !open) {
    return valueText(values[0]);
  }
  std::string id;
  util::JsonWriter w(id);
  w.beginArray();
  for (const auto& v : values) {
    appendValueJson(w, v);
  }
  if (open) {
    id += ',';
  } else {
    w.endArray();
  }
  return id;
}

}  // namespace

Result<std::string> documentIdOfKey(const TableSchema& schema, const std::vector<cql::Bytes>& pk,
                                    const std::vector<cql::Bytes>& ck) {
  if (pk.size() != schema.partition_key.size() || ck.size() != schema.clustering.size()) {
    return fail(ErrorCode::kProtocol, "a row key of " + schema.keyspace + "." + schema.table +
                                          " with " + std::to_string(pk.size()) + "+" +
                                          std::to_string(ck.size()) + " parts");
  }
  std::vector<cql::Bytes> parts = pk;
  parts.insert(parts.end(), ck.begin(), ck.end());
  CESYNC_ASSIGN_OR_RETURN(values, decodeKey(schema, schema.primaryKey(), parts));
  return idOf(values, false);
}

Result<PartitionSelector> partitionSelector(const TableSchema& schema,
                                            const std::vector<cql::Bytes>& pk) {
  if (pk.size() != schema.partition_key.size()) {
    return fail(ErrorCode::kProtocol, "partition key of " + schema.keyspace + "." + schema.table +
                                          " needs " + std::to_string(schema.partition_key.size()) +
                                          " parts");
  }
  PartitionSelector selector;
  const cql::Bytes routing = pk.size() == 1 ? pk[0] : cql::TokenMap::routingKey(pk);
  selector.token = util::murmur3Token(routing);
  CESYNC_ASSIGN_OR_RETURN(values, decodeKey(schema, schema.partition_key, pk));
  if (schema.clustering.empty()) {
    selector.exact_id = idOf(values, false);
  } else {
    selector.id_prefix = idOf(values, true);
  }
  return selector;
}

Result<std::vector<std::string>> partitionDocumentIds(es::EsClient& client,
                                                      const std::string& index,
                                                      const PartitionSelector& selector,
                                                      bool unstamped) {
  CESYNC_TRY(client.admin().refresh(index));
  es::ScanOptions options;
  options.index = index;
  const std::string by_token =
      std::string(R"({"term":{")") + kTokenField + "\":" + std::to_string(selector.token) + "}}";
  if (unstamped) {
    // Documents without the token have no cesync_id either: ordered by the point in time.
    options.query = R"({"bool":{"minimum_should_match":1,"should":[)" + by_token +
                    R"(,{"bool":{"must_not":{"exists":{"field":")" + kTokenField + R"("}}}}]}})";
    options.sort = std::string(R"([{")") + client.server().tiebreaker() + R"(":"asc"}])";
    options.mode = es::ScanMode::kPointInTime;
  } else {
    options.query = by_token;
    options.sort = std::string(R"([{")") + kIdField + R"(":"asc"}])";
  }
  auto scanner = client.scan(options);
  std::vector<std::string> ids;
  std::vector<es::SearchHit> page;
  while (true) {
    CESYNC_ASSIGN_OR_RETURN(more, scanner->next(page));
    for (auto& hit : page) {
      const bool match = selector.exact_id.empty()
                             ? hit.id.compare(0, selector.id_prefix.size(), selector.id_prefix) == 0
                             : hit.id == selector.exact_id;
      if (match) {
        ids.push_back(std::move(hit.id));
      }
    }
    if (!more) {
      break;
    }
  }
  (void)scanner->close();
  return ids;
}

}  // namespace cesync::sync
