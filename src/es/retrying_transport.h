#pragma once

#include <chrono>
#include <functional>
#include <span>
#include <vector>

#include "common/backoff.h"
#include "es/es_stats.h"
#include "es/http_transport.h"

namespace cesync::es {

/// A transport decorator that resends idempotent requests (HttpRequest::idempotent) that got no
/// answer (kIo, kTimeout) or a 429, 502, 503 or 504, after exponential backoff with full jitter,
/// within the policy's retry budget; every resend is counted in EsStats::http_retries. Other
/// requests, and run() (whose sources retry on their own, like the bulk writer), pass through.
class RetryingTransport final : public HttpTransport {
 public:
  using Sleep = std::function<void(std::chrono::milliseconds)>;

  /// `inner` and `stats` (may be null) must outlive this. `sleep` defaults to sleeping the
  /// thread; tests inject one that does not.
  RetryingTransport(HttpTransport& inner, BackoffPolicy policy, EsStats* stats,
                    Sleep sleep = nullptr);

  [[nodiscard]] Result<HttpResponse> send(const HttpRequest& request) override;
  [[nodiscard]] std::vector<Result<HttpResponse>> sendAll(
      std::span<const HttpRequest> requests) override;
  void run(RequestSource& source) override { inner_.run(source); }

  /// True when `response` is worth another try of an idempotent request.
  [[nodiscard]] static bool shouldRetry(const Result<HttpResponse>& response);

 private:
  [[nodiscard]] Result<HttpResponse> retry(const HttpRequest& request, Result<HttpResponse> first);

  HttpTransport& inner_;
  BackoffPolicy policy_;
  EsStats* stats_;
  Sleep sleep_;
  std::uint64_t seed_;
};

}  // namespace cesync::es
