#pragma once

#include "cql/message/server_error.h"

namespace cesync::cql {

/// What to do after a failed attempt.
enum class RetryDecision {
  kReturn,         // give the error to the caller
  kRetrySameHost,  // try again on the same node
  kRetryNextHost,  // try the next node of the query plan
  kReprepare,      // PREPARE again on this node, then retry
};

/// Decides on a server ERROR. An exhaustive switch over the protocol's codes with no default, so
/// a new code is a compile error here rather than a silent choice. `idempotent` says the
/// statement may be applied twice; `attempt` counts from 0.
RetryDecision decideOnServerError(const ServerError& error, bool idempotent, int attempt,
                                  int max_retries);

/// Decides on a client-side failure (connection lost, timeout, no stream id).
RetryDecision decideOnClientError(ErrorCode code, bool idempotent, int attempt, int max_retries);

}  // namespace cesync::cql
