#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/result.h"
#include "es/bulk_encoder.h"
#include "es/bulk_response.h"
#include "es/es_stats.h"
#include "es/http_transport.h"

namespace cesync::es {

/// What a caller may ask of a writer that is backing off (BulkWriterOptions::interrupt).
enum class BulkInterrupt : std::uint8_t { kNone, kRetryNow, kGiveUp };

/// Settings of the bulk writer.
struct BulkWriterOptions {
  /// Backoff between attempts of a batch's retryable items; max_retries is the retry budget
  /// per batch (nullopt: retry forever).
  BackoffPolicy backoff{.initial = std::chrono::milliseconds(100),
                        .max = std::chrono::milliseconds(10'000),
                        .multiplier = 2.0,
                        .max_retries = 8};
  /// `_bulk` requests in flight at once across the batches of one writeAll().
  std::size_t max_in_flight = 4;
  /// The `refresh` parameter of every request: empty (none), "true" or "wait_for".
  std::string refresh;
  /// Sleeps between rounds; injected so tests need not wait. Default: the thread sleeps.
  std::function<void(std::chrono::milliseconds)> sleep;
  /// Asked after each sleep and before each request (may be empty): kRetryNow ends every
  /// backoff at once (the engine is known to be back), kGiveUp leaves every item not yet sent
  /// unacknowledged (kRetry) so the call returns quickly (the process is stopping).
  std::function<BulkInterrupt()> interrupt;
  /// Seed of the jitter; unset: random, so that writers in different processes never back
  /// off in step. Tests set it.
  std::optional<std::uint64_t> seed;
};

/// The final word on each item of a batch, in batch order.
struct BulkWriteResult {
  /// Outcome per item: kOk / kAlreadyNewer (acknowledged), kDeadLetter (with reason, never
  /// retried), or kRetry when the retry budget ran out before the item was acknowledged.
  std::vector<ItemResult> items;
  std::size_t ok = 0;
  std::size_t already_newer = 0;
  std::size_t dead_letter = 0;
  std::size_t unacknowledged = 0;
  /// Requests sent for this batch (1 when nothing needed a retry).
  std::uint32_t attempts = 0;
  /// Why the last retry happened (empty if none): a transport error or an item's reason.
  std::string last_retry_reason;

  /// Items [0, n) are all acknowledged or dead-lettered: a checkpoint may move over them.
  [[nodiscard]] std::size_t finalPrefix() const;
};

/// Sends encoded batches with `_bulk`, reads every item's status and retries only the retryable
/// items (429, 5xx, rejected execution, unanswered requests) with exponential backoff and full
/// jitter, within a retry budget. Items that the engine refuses for good are dead-lettered with
/// their reason; 409 version conflicts are "already newer" and count as acknowledged.
class BulkWriter {
 public:
  /// `transport`, `clock` and `stats` (may be null) must outlive the writer.
  BulkWriter(HttpTransport& transport, const Clock& clock, BulkWriterOptions options,
             EsStats* stats);

  /// Writes one batch. Errors are only what no item outcome can express: authentication
  /// failure (kAuth) or an empty batch (kInvalidArgument).
  [[nodiscard]] Result<BulkWriteResult> write(const BulkEncoder& batch);

  /// Writes several batches with up to max_in_flight requests in flight (one per batch at a
  /// time), starting the next request as soon as any answer arrives; results in order.
  [[nodiscard]] std::vector<Result<BulkWriteResult>> writeAll(
      std::span<const BulkEncoder* const> batches);

  /// Most requests writeAll keeps in flight.
  [[nodiscard]] std::size_t maxInFlight() const { return options_.max_in_flight; }

 private:
  struct BatchState;
  class Run;
  void applyResponse(BatchState& state, Result<HttpResponse>& response);

  HttpTransport& transport_;
  const Clock& clock_;
  BulkWriterOptions options_;
  EsStats* stats_;
  std::string path_;
  std::uint64_t next_seed_ = 0;
};

}  // namespace cesync::es
