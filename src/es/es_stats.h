#pragma once

#include <atomic>
#include <cstdint>

namespace cesync::es {

/// Counters of the search client, safe to read from another thread (the metrics module reads
/// them). Every retry and every rejection is counted here.
struct EsStats {
  using Counter = std::atomic<std::uint64_t>;

  Counter http_requests{0};       // HTTP requests completed (any status)
  Counter http_errors{0};         // requests that got no HTTP answer (connect, timeout, ...)
  Counter http_retries{0};        // idempotent requests sent again (RetryingTransport)
  Counter connections_opened{0};  // new TCP connections; low means keep-alive works
  Counter bytes_sent{0};          // request bodies before compression
  Counter bytes_sent_wire{0};     // request bodies as sent (after gzip)
  Counter bytes_received{0};      // response bodies

  Counter bulk_requests{0};           // _bulk requests sent, retries included
  Counter bulk_request_retries{0};    // _bulk requests sent again after a backoff
  Counter bulk_requests_rejected{0};  // whole _bulk requests answered 429/5xx or not answered
  Counter bulk_items_ok{0};
  Counter bulk_items_already_newer{0};
  Counter bulk_items_retried{0};       // item attempts answered retryable (429/5xx/rejected)
  Counter bulk_items_rejected_429{0};  // of those, the ones answered 429 (overload)
  Counter bulk_items_dead_letter{0};
  Counter bulk_items_gave_up{0};  // retryable items left when the retry budget ran out
  Counter bulk_batches_split{0};  // 413 answers that made a batch be split
  Counter bulk_in_flight{0};      // gauge: _bulk requests in flight now (max: max_in_flight)
};

}  // namespace cesync::es
