#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace cesync::es {

/// Compresses `data` into `out` (replacing its contents) as one gzip member (RFC 1952), the
/// form a search engine accepts with "Content-Encoding: gzip". `level` is 1 (fast) to 9.
[[nodiscard]] Status gzipCompress(std::string_view data, int level, std::string& out);

/// Decompresses one gzip member; for tests and diagnostics. Outputs above `max_bytes` fail.
[[nodiscard]] Result<std::string> gzipDecompress(std::string_view data, std::size_t max_bytes);

}  // namespace cesync::es
