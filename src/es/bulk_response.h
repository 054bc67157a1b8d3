#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cesync::es {

/// What became of one bulk item, and so what the caller does with it.
enum class ItemOutcome : std::uint8_t {
  kOk,            // written (or, for a delete, already absent)
  kAlreadyNewer,  // 409 version conflict under external versioning: the index holds the same or a
                  // newer version; counts as acknowledged
  kRetry,         // 429, 5xx, rejected execution, circuit breaker: try again after a backoff
  kDeadLetter,    // any other 4xx (mapping error, invalid id, ...): retrying will not help
};

/// "ok", "already_newer", "retry", "dead_letter".
[[nodiscard]] std::string_view itemOutcomeName(ItemOutcome outcome);

/// True for outcomes after which the item needs no more work (acknowledged or dead-lettered).
[[nodiscard]] bool isFinal(ItemOutcome outcome);

/// One item of a bulk response. `error_type` and `reason` are empty unless the engine reported
/// an error for the item.
struct ItemResult {
  ItemOutcome outcome = ItemOutcome::kOk;
  std::uint16_t status = 0;
  std::string error_type;
  std::string reason;
};

/// A bulk response, item by item in request order.
struct BulkResponse {
  std::vector<ItemResult> items;
  bool errors = false;
  std::int64_t took_ms = 0;
  std::size_t ok = 0;
  std::size_t already_newer = 0;
  std::size_t retry = 0;
  std::size_t dead_letter = 0;
};

/// Classifies one item from its operation name ("index", "delete", ...), HTTP status and error
/// type (empty when none). The rules:
/// - 2xx, and 404 on a delete without an error (the document is already gone): kOk;
/// - 409 with version_conflict_engine_exception: kAlreadyNewer;
/// - 429, 5xx, and es_rejected_execution_exception / circuit_breaking_exception at any status:
///   kRetry;
/// - anything else (other 4xx, odd statuses): kDeadLetter.
[[nodiscard]] ItemOutcome classifyItem(std::string_view op, int status,
                                       std::string_view error_type);

/// Parses and classifies a `_bulk` response body (HTTP 200) that answers `expected_items` items.
/// Every item is read, whatever the top-level `errors` flag says. A body that is not a bulk
/// response, or answers a different number of items, is a kProtocol error.
///
/// `body` is copied into a padded buffer unless `padded_capacity` (the capacity of the memory
/// behind `body`) leaves simdjson's padding after it.
[[nodiscard]] Result<BulkResponse> parseBulkResponse(std::string_view body,
                                                     std::size_t expected_items,
                                                     std::size_t padded_capacity = 0);

/// What to do with a whole bulk request from its HTTP status.
enum class RequestOutcome : std::uint8_t {
  kParseItems,  // 2xx: read the items
  kRetryAll,    // 429 or 5xx: nothing (or nothing known) was written; resend everything
  kTooLarge,    // 413: split the request
  kAuthFailed,  // 401/403: a configuration problem, not an item problem
  kRejectAll,   // other statuses: every item is dead-lettered with the response's reason
};

[[nodiscard]] RequestOutcome classifyBulkStatus(int http_status);

/// The version the index holds, read from a version conflict's reason ("[id]: version conflict,
/// current version [N] is higher or equal to the one provided [M]", the same in Elasticsearch and
/// OpenSearch); nullopt when the reason does not say. A deleted document's version lives on for
/// `index.gc_deletes` (60 s): only the reason tells it.
[[nodiscard]] std::optional<std::int64_t> conflictCurrentVersion(std::string_view reason);

}  // namespace cesync::es
