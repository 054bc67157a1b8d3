#pragma once

#include <memory>
#include <span>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "es/bulk_writer.h"
#include "es/curl_transport.h"
#include "es/es_stats.h"
#include "es/index_admin.h"
#include "es/retrying_transport.h"
#include "es/search_scanner.h"
#include "es/server_info.h"

namespace cesync::es {

/// Settings of a client: how to reach the cluster and how to write to it.
struct ClientOptions {
  TransportOptions transport;
  BulkWriterOptions bulk;
  /// Resending of idempotent requests (detection, admin, searches) that got no answer or a
  /// 429/502/503/504. Bulk items have their own retries (`bulk.backoff`).
  BackoffPolicy request_retry{.initial = std::chrono::milliseconds(100),
                              .max = std::chrono::milliseconds(5'000),
                              .multiplier = 2.0,
                              .max_retries = 5};
};

/// The search client in one object: a connection pool to one cluster, the engine's flavour and
/// version (asked once, at connect), index administration, bulk writes with per-item outcomes,
/// and scans. Like its transport it is used from one thread; make one client per thread.
class EsClient {
 public:
  /// Connects (validating the options) and detects the engine. `clock` must outlive the client.
  /// With `shared_stats`, the client counts into another client's counters (which must outlive
  /// it), so that several clients of one process show as one in the metrics.
  [[nodiscard]] static Result<std::unique_ptr<EsClient>> connect(ClientOptions options,
                                                                 const Clock& clock,
                                                                 EsStats* shared_stats = nullptr);
  EsClient(const EsClient&) = delete;
  EsClient& operator=(const EsClient&) = delete;
  ~EsClient() = default;

  [[nodiscard]] const ServerInfo& server() const { return server_; }
  /// Counters of everything this client did; readable from other threads.
  [[nodiscard]] const EsStats& stats() const { return stats_; }
  [[nodiscard]] EsStats& stats() { return stats_; }
  [[nodiscard]] IndexAdmin& admin() { return admin_; }
  /// The client's transport (idempotent requests are retried).
  [[nodiscard]] HttpTransport& transport() { return retrying_; }

  /// Writes one batch; see BulkWriter::write.
  [[nodiscard]] Result<BulkWriteResult> bulk(const BulkEncoder& batch) {
    return writer_.write(batch);
  }
  /// Writes several batches concurrently; see BulkWriter::writeAll.
  [[nodiscard]] std::vector<Result<BulkWriteResult>> bulkAll(
      std::span<const BulkEncoder* const> batches) {
    return writer_.writeAll(batches);
  }
  /// Most bulk requests bulkAll keeps in flight.
  [[nodiscard]] std::size_t bulkInFlight() const { return writer_.maxInFlight(); }
  /// A scan of one index in the engine's dialect; it must not outlive the client.
  [[nodiscard]] std::unique_ptr<SearchScanner> scan(ScanOptions options) {
    return std::make_unique<SearchScanner>(retrying_, server_, std::move(options));
  }

 private:
  EsClient(std::unique_ptr<EsStats> own_stats, EsStats& stats,
           std::unique_ptr<CurlTransport> transport, ClientOptions options, const Clock& clock);

  std::unique_ptr<EsStats> stats_holder_;  // null when counting into another client's
  EsStats& stats_;
  std::unique_ptr<CurlTransport> transport_;
  RetryingTransport retrying_;
  ServerInfo server_;
  IndexAdmin admin_;
  BulkWriter writer_;
};

}  // namespace cesync::es
