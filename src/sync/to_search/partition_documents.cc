#include "sync/to_search/partition_documents.h"

#include "cql/token_map.h"
#include "cql/types/value_codec.h"
#include "sync/doc_fields.h"
#include "sync/to_search/doc_builder.h"
#include "util/murmur3.h"

namespace cesync::sync {

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
  std::vector<cql::Value> values;
  for (std::size_t i = 0; i < pk.size(); ++i) {
    const int column = schema.columnIndex(schema.partition_key[i]);
    if (column < 0) {
      return fail(ErrorCode::kNotFound, "partition key column " + schema.partition_key[i] +
                                            " is missing from the schema");
    }
    CESYNC_ASSIGN_OR_RETURN(
        value, cql::decodeValue(*schema.columns[static_cast<std::size_t>(column)].type, pk[i]));
    values.push_back(std::move(value));
  }
  const bool single_row = schema.clustering.empty();
  if (single_row && values.size() == 1) {
    selector.exact_id = valueText(values[0]);
    return selector;
  }
  // The id is a JSON array of the key parts: [p1,p2] or [p1,p2,c1,...].
  std::string prefix;
  util::JsonWriter w(prefix);
  w.beginArray();
  for (const auto& v : values) {
    appendValueJson(w, v);
  }
  if (single_row) {
    w.endArray();
    selector.exact_id = std::move(prefix);
  } else {
    prefix += ',';
    selector.id_prefix = std::move(prefix);
  }
  return selector;
}

Result<std::vector<std::string>> partitionDocumentIds(es::EsClient& client,
                                                      const std::string& index,
                                                      const PartitionSelector& selector) {
  CESYNC_TRY(client.admin().refresh(index));
  es::ScanOptions options;
  options.index = index;
  options.query =
      std::string(R"({"term":{")") + kTokenField + "\":" + std::to_string(selector.token) + "}}";
  options.sort = std::string(R"([{")") + kIdField + R"(":"asc"}])";
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
