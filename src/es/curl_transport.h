#pragma once

#include <curl/curl.h>

#include <memory>
#include <span>
#include <vector>

#include "es/es_stats.h"
#include "es/http_transport.h"
#include "es/transport_options.h"

namespace cesync::es {

/// The libcurl transport: one curl multi handle drives up to `max_connections` transfers at once
/// over a shared, kept-alive connection cache, with a small pool of reused easy handles. Request
/// bodies at or above `gzip_min_bytes` are gzip-compressed when `gzip_requests` is on.
///
/// Not thread-safe: use one transport per thread (each keeps its own connections).
class CurlTransport final : public HttpTransport {
 public:
  /// Validates the options and sets up curl. `stats` may be null; otherwise it must outlive the
  /// transport.
  [[nodiscard]] static Result<std::unique_ptr<CurlTransport>> create(TransportOptions options,
                                                                     EsStats* stats);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  [[nodiscard]] Result<HttpResponse> send(const HttpRequest& request) override;
  [[nodiscard]] std::vector<Result<HttpResponse>> sendAll(
      std::span<const HttpRequest> requests) override;
  void run(RequestSource& source) override;

  [[nodiscard]] const TransportOptions& options() const { return options_; }

 private:
  struct Transfer;

  CurlTransport(TransportOptions options, EsStats* stats, CURLM* multi);
  [[nodiscard]] Status start(Transfer& transfer, const HttpRequest& request);
  void finish(Transfer& transfer, int curl_code);
  CURL* acquireEasy();
  void releaseEasy(CURL* easy);

  TransportOptions options_;
  EsStats* stats_;
  CURLM* multi_;
  std::vector<CURL*> idle_;
  std::vector<std::string> static_headers_;
  // With tls.server_name: the base URL naming that server, and where it really connects.
  std::string request_base_url_;
  curl_slist* connect_to_ = nullptr;
};

}  // namespace cesync::es
