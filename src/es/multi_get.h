#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "es/http_transport.h"

namespace cesync::es {

/// A real-time `_mget` of `ids` in `index`, with `query` added to its parameters (e.g.
/// "_source=false" or "_source_includes=ts"). The answer (status 200) is the caller's to read;
/// other statuses are errors naming `what`: kUnavailable for 429 and 5xx, else kRejected.
[[nodiscard]] Result<HttpResponse> multiGet(HttpTransport& transport, const std::string& index,
                                            const std::vector<std::string>& ids,
                                            std::string_view query, std::string_view what);

}  // namespace cesync::es
