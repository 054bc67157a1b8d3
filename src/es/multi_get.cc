#include "es/multi_get.h"

#include "es/index_admin.h"
#include "util/json_writer.h"

namespace cesync::es {

Result<HttpResponse> multiGet(HttpTransport& transport, const std::string& index,
                              const std::vector<std::string>& ids, std::string_view query,
                              std::string_view what) {
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
  HttpRequest request;
  request.method = HttpMethod::kPost;
  request.path = "/" + encodePathSegment(index) + "/_mget?realtime=true&" + std::string(query);
  request.body = body;
  request.idempotent = true;
  CESYNC_ASSIGN_OR_RETURN(response, transport.send(request));
  if (response.status != 200) {
    return fail(response.status == 429 || response.status >= 500 ? ErrorCode::kUnavailable
                                                                 : ErrorCode::kRejected,
                std::string(what) + ": HTTP " + std::to_string(response.status) + ": " +
                    response.body.substr(0, 300));
  }
  return response;
}

}  // namespace cesync::es
