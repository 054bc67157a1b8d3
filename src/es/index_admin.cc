#include "es/index_admin.h"

#include "es/json_util.h"
#include "util/json_writer.h"

namespace cesync::es {
namespace {

Status expectOk(const Result<HttpResponse>& response, const std::string& what) {
  if (!response) {
    return fail(response.error());
  }
  if (response->status < 200 || response->status >= 300) {
    return fail(httpError(response->status, response->body, what));
  }
  return {};
}

}  // namespace

std::string encodePathSegment(std::string_view segment) {
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (const char ch : segment) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                            c == '~' || c == ',' || c == '*';
    if (unreserved) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4U]);
      out.push_back(kHex[c & 0x0FU]);
    }
  }
  return out;
}

Status IndexAdmin::create(std::string_view index, std::string_view body) {
  const std::string path = "/" + encodePathSegment(index);
  return expectOk(transport_.send({.method = HttpMethod::kPut, .path = path, .body = body}),
                  "PUT " + path);
}

Result<bool> IndexAdmin::exists(std::string_view index) {
  const std::string path = "/" + encodePathSegment(index);
  CESYNC_ASSIGN_OR_RETURN(
      response, transport_.send({.method = HttpMethod::kHead, .path = path, .idempotent = true}));
  if (response.status == 200) {
    return true;
  }
  if (response.status == 404) {
    return false;
  }
  return fail(httpError(response.status, response.body, "HEAD " + path));
}

Result<std::string> IndexAdmin::getMapping(std::string_view index) {
  const std::string path = "/" + encodePathSegment(index) + "/_mapping";
  auto response = transport_.send({.method = HttpMethod::kGet, .path = path, .idempotent = true});
  CESYNC_TRY(expectOk(response, "GET " + path));
  return std::move(response->body);
}

Status IndexAdmin::refresh(std::string_view index) {
  const std::string path = "/" + encodePathSegment(index) + "/_refresh";
  return expectOk(transport_.send({.method = HttpMethod::kPost, .path = path, .idempotent = true}),
                  "POST " + path);
}

Result<std::uint64_t> IndexAdmin::count(std::string_view index, std::string_view query_json) {
  const std::string path = "/" + encodePathSegment(index) + "/_count";
  std::string body;
  if (!query_json.empty()) {
    util::JsonWriter w(body);
    w.beginObject();
    w.key("query");
    w.rawValue(query_json);
    w.endObject();
  }
  auto response = transport_.send(
      {.method = HttpMethod::kPost, .path = path, .body = body, .idempotent = true});
  CESYNC_TRY(expectOk(response, "POST " + path));
  PaddedJson json(response->body, response->body.capacity());
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  std::uint64_t n = 0;
  if (parser.iterate(json.view()).get(doc) != simdjson::SUCCESS ||
      doc["count"].get_uint64().get(n) != simdjson::SUCCESS) {
    return fail(ErrorCode::kProtocol, "count answer has no count: " + response->body);
  }
  return n;
}

Status IndexAdmin::remove(std::string_view index) {
  const std::string path = "/" + encodePathSegment(index);
  auto response =
      transport_.send({.method = HttpMethod::kDelete, .path = path, .idempotent = true});
  if (response && response->status == 404) {
    return {};
  }
  return expectOk(response, "DELETE " + path);
}

Status IndexAdmin::putSettings(std::string_view index, std::string_view settings_json) {
  const std::string path = "/" + encodePathSegment(index) + "/_settings";
  return expectOk(
      transport_.send(
          {.method = HttpMethod::kPut, .path = path, .body = settings_json, .idempotent = true}),
      "PUT " + path);
}

}  // namespace cesync::es
