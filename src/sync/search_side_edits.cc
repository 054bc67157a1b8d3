#include "sync/search_side_edits.h"

#include <simdjson.h>

#include "cql/types/cql_type.h"
#include "es/index_admin.h"
#include "es/multi_get.h"
#include "sync/doc_fields.h"
#include "sync/to_cassandra/doc_values.h"

namespace cesync::sync {
Result<std::unordered_map<std::string, SearchSideEdits::Document>> SearchSideEdits::read(
    es::EsClient& search, const std::string& index, const std::string& timestamp_field,
    const std::vector<std::string>& ids, bool whole) {
  std::unordered_map<std::string, Document> out;
  if (ids.empty()) {
    return out;
  }
  CESYNC_ASSIGN_OR_RETURN(
      response, es::multiGet(search.transport(), index, ids,
                             whole ? std::string()
                                   : "_source_includes=" + es::encodePathSegment(timestamp_field) +
                                         "," + kTokenField,
                             "reading documents of " + index + " before writing them"));
  return parse(index, timestamp_field, response.body, whole);
}

Result<std::unordered_map<std::string, SearchSideEdits::Document>> SearchSideEdits::parse(
    const std::string& index, const std::string& timestamp_field, const std::string& body,
    bool whole) {
  std::unordered_map<std::string, Document> out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc) != simdjson::SUCCESS) {
    return fail(ErrorCode::kProtocol, "an _mget answer of " + index + " is not JSON");
  }
  simdjson::dom::array docs;
  if (doc["docs"].get_array().get(docs) != simdjson::SUCCESS) {
    return fail(ErrorCode::kProtocol, "an _mget answer of " + index + " has no docs");
  }
  const auto type = cql::CqlType::scalar(cql::TypeKind::kTimestamp);
  for (auto d : docs) {
    bool found = false;
    std::string_view id;
    if (simdjson::dom::element error; d["error"].get(error) == simdjson::SUCCESS) {
      std::string_view reason = "error";
      if (error["type"].get_string().get(reason) != simdjson::SUCCESS) {
        reason = "error";
      }
      if (d["_id"].get_string().get(id) != simdjson::SUCCESS) {
        id = "?";
      }
      return fail(ErrorCode::kUnavailable, "reading document " + std::string(id) + " of " + index +
                                               " before writing it: " + std::string(reason));
    }
    if (d["found"].get_bool().get(found) != simdjson::SUCCESS || !found ||
        d["_id"].get_string().get(id) != simdjson::SUCCESS) {
      continue;
    }
    Document found_doc;
    if (d["_seq_no"].get_int64().get(found_doc.seq_no) != simdjson::SUCCESS ||
        d["_primary_term"].get_int64().get(found_doc.primary_term) != simdjson::SUCCESS) {
      return fail(ErrorCode::kProtocol, "an _mget answer of " + index + " has no _seq_no");
    }
    if (d["_version"].get_int64().get(found_doc.version) != simdjson::SUCCESS) {
      found_doc.version = -1;
    }
    if (simdjson::dom::element source; whole && d["_source"].get(source) == simdjson::SUCCESS) {
      found_doc.source = simdjson::minify(source);
    }
    simdjson::dom::element ts;
    found_doc.stamped = d["_source"][kTokenField].get(ts) == simdjson::SUCCESS;
    if (!timestamp_field.empty() && d["_source"][timestamp_field].get(ts) == simdjson::SUCCESS) {
      auto value = valueFromJson(*type, simdjson::to_string(ts));
      if (value && !value->isNull()) {
        found_doc.timestamp_ms = value->asInt();
      }
    }
    out.emplace(std::string(id), found_doc);
  }
  return out;
}

}  // namespace cesync::sync
