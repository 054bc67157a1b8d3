#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cesync::es {

enum class HttpMethod : std::uint8_t { kGet, kHead, kPost, kPut, kDelete };

/// "GET", "HEAD", ...
[[nodiscard]] std::string_view httpMethodName(HttpMethod method);

/// One HTTP request to the search engine. `body` is a view: the caller keeps the bytes alive
/// until send()/sendAll() returns (bulk bodies are never copied).
struct HttpRequest {
  HttpMethod method = HttpMethod::kGet;
  /// Path and query relative to the base URL, starting with '/': "/idx/_search?size=10".
  std::string path{};
  std::string_view body{};
  std::string_view content_type = "application/json";
  /// Whole-request deadline; zero means the transport's default.
  std::chrono::milliseconds timeout{0};
};

/// An HTTP answer of any status. Transport failures (no answer) are errors instead.
struct HttpResponse {
  int status = 0;
  /// The body; its capacity leaves simdjson's padding after the bytes, so it parses in place.
  std::string body;
  /// The X-elastic-product response header (empty when absent).
  std::string elastic_product;
};

/// Sends HTTP requests to one search cluster. Implementations reuse connections; higher layers
/// depend only on this interface so that they can be tested with a scripted fake.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  /// Sends one request and waits for its answer.
  [[nodiscard]] virtual Result<HttpResponse> send(const HttpRequest& request) = 0;

  /// Sends several requests concurrently (bounded by the transport's in-flight cap) and waits
  /// for all; the results are in request order.
  [[nodiscard]] virtual std::vector<Result<HttpResponse>> sendAll(
      std::span<const HttpRequest> requests) = 0;
};

}  // namespace cesync::es
