#include "es/retrying_transport.h"

#include <random>
#include <thread>

namespace cesync::es {

RetryingTransport::RetryingTransport(HttpTransport& inner, BackoffPolicy policy, EsStats* stats,
                                     Sleep sleep)
    : inner_(inner),
      policy_(policy),
      stats_(stats),
      sleep_(std::move(sleep)),
      seed_(std::random_device{}()) {
  if (!sleep_) {
    sleep_ = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  }
}

bool RetryingTransport::shouldRetry(const Result<HttpResponse>& response) {
  if (!response) {
    const ErrorCode code = response.error().code;
    return code == ErrorCode::kIo || code == ErrorCode::kTimeout;
  }
  switch (response->status) {
    case 429:
    case 502:
    case 503:
    case 504:
      return true;
    default:
      return false;
  }
}

Result<HttpResponse> RetryingTransport::retry(const HttpRequest& request,
                                              Result<HttpResponse> first) {
  Result<HttpResponse> last = std::move(first);
  if (!request.idempotent) {
    return last;
  }
  Backoff backoff(policy_, seed_++);
  while (shouldRetry(last)) {
    const auto delay = backoff.next();
    if (!delay) {
      break;
    }
    sleep_(*delay);
    if (stats_ != nullptr) {
      ++stats_->http_retries;
    }
    last = inner_.send(request);
  }
  return last;
}

Result<HttpResponse> RetryingTransport::send(const HttpRequest& request) {
  return retry(request, inner_.send(request));
}

std::vector<Result<HttpResponse>> RetryingTransport::sendAll(
    std::span<const HttpRequest> requests) {
  auto results = inner_.sendAll(requests);
  // Retries are the rare path: resend the ones that need it one by one.
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (shouldRetry(results[i]) && requests[i].idempotent) {
      results[i] = retry(requests[i], std::move(results[i]));
    }
  }
  return results;
}

}  // namespace cesync::es
