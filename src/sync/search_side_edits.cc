#include "sync/search_side_edits.h"

#include <simdjson.h>

#include "cql/types/cql_type.h"
#include "es/index_admin.h"
#include "sync/to_cassandra/doc_values.h"
#include "util/json_writer.h"

namespace cesync::sync {
Result<std::unordered_map<std::string, SearchSideEdits::Document>> SearchSideEdits::read(
    es::EsClient& search, const std::string& index, const std::string& timestamp_field,
    const std::vector<std::string>& ids) {
  std::unordered_map<std::string, Document> out;
  if (ids.empty()) {
    return out;
  }
  std::string body;
  util::JsonWriter w(body);
  w.beginObject();
  w.key("ids");
  w.beginArray();
  for (const auto& id : ids) {
    w.value(id);
  }
  w.endArray();
  w.endObject();
  es::HttpRequest request;
  request.method = es::HttpMethod::kPost;
  request.path = "/" + es::encodePathSegment(index) +
                 "/_mget?realtime=true&_source_includes=" + es::encodePathSegment(timestamp_field);
  request.body = body;
  request.idempotent = true;
  CESYNC_ASSIGN_OR_RETURN(response, search.transport().send(request));
  if (response.status != 200) {
    return fail(response.status == 429 || response.status >= 500 ? ErrorCode::kUnavailable
                                                                 : ErrorCode::kRejected,
                "reading documents of " + index + " before writing them: HTTP " +
                    std::to_string(response.status) + ": " + response.body.substr(0, 300));
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(response.body).get(doc) != simdjson::SUCCESS) {
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
    if (d["found"].get_bool().get(found) != simdjson::SUCCESS || !found ||
        d["_id"].get_string().get(id) != simdjson::SUCCESS) {
      continue;
    }
    Document found_doc;
    if (d["_seq_no"].get_int64().get(found_doc.seq_no) != simdjson::SUCCESS ||
        d["_primary_term"].get_int64().get(found_doc.primary_term) != simdjson::SUCCESS) {
      return fail(ErrorCode::kProtocol, "an _mget answer of " + index + " has no _seq_no");
    }
    simdjson::dom::element ts;
    if (d["_source"][timestamp_field].get(ts) == simdjson::SUCCESS) {
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
