#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
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
  /// Sending it twice has the effect of sending it once, so a RetryingTransport may resend it
  /// after no answer or a 429/502/503/504. Callers say so explicitly.
  bool idempotent = false;
};

/// An HTTP answer of any status. Transport failures (no answer) are errors instead.
struct HttpResponse {
  int status = 0;
  /// The body; its capacity leaves simdjson's padding after the bytes, so it parses in place.
  std::string body;
  /// The X-elastic-product response header (empty when absent).
  std::string elastic_product;
};

/// Work for HttpTransport::run(): the transport pulls requests whenever it has a free slot and
/// hands back each answer as soon as it arrives, so one slow request never holds up the others.
class RequestSource {
 public:
  virtual ~RequestSource() = default;

  /// The next request to send now, or nullopt when none is ready. `tag` is passed back to
  /// complete(). The request's body must stay valid until complete() is called for it.
  [[nodiscard]] virtual std::optional<HttpRequest> next(std::size_t& tag) = 0;
  /// The answer (or transport error) for the request sent with `tag`.
  virtual void complete(std::size_t tag, Result<HttpResponse> response) = 0;
  /// Called when nothing is in flight and next() has nothing: wait until something may be
  /// ready (a backoff ends) and answer true, or answer false when all work is done.
  [[nodiscard]] virtual bool waitForWork() = 0;
  /// While requests are in flight: how soon next() may have something new (a backoff ending).
  /// The transport asks next() again after at most this long.
  [[nodiscard]] virtual std::chrono::milliseconds nextReadyIn() = 0;
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

  /// Sends what `source` produces, as many at once as the transport allows, until the source
  /// says it is done.
  virtual void run(RequestSource& source) = 0;
};

}  // namespace cesync::es
