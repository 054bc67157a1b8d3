#include "cql/retry_policy.h"

namespace cesync::cql {

RetryDecision decideOnServerError(const ServerError& error, bool idempotent, int attempt,
                                  int max_retries) {
  if (error.code == ServerErrorCode::kUnprepared) {
    // Re-preparing is not a retry of the write: the node never ran the statement.
    return attempt <= max_retries ? RetryDecision::kReprepare : RetryDecision::kReturn;
  }
  if (attempt >= max_retries) {
    return RetryDecision::kReturn;
  }
  switch (error.code) {
    case ServerErrorCode::kUnavailable:
      // The coordinator sees too few replicas; another coordinator may see more. Once.
      return attempt == 0 ? RetryDecision::kRetryNextHost : RetryDecision::kReturn;
    case ServerErrorCode::kOverloaded:
    case ServerErrorCode::kIsBootstrapping:
      // The node did not run the request: safe for anything.
      return RetryDecision::kRetryNextHost;
    case ServerErrorCode::kServerError:
    case ServerErrorCode::kTruncateError:
      return idempotent ? RetryDecision::kRetryNextHost : RetryDecision::kReturn;
    case ServerErrorCode::kReadTimeout:
      // Enough replicas answered but the data was missing from the one asked: one more read
      // usually succeeds (the classic driver rule).
      return error.received >= error.block_for && !error.data_present
                 ? RetryDecision::kRetrySameHost
                 : RetryDecision::kReturn;
    case ServerErrorCode::kWriteTimeout:
      // Only the batch log write is safe to repeat for a non-idempotent write.
      return idempotent || error.write_type == "BATCH_LOG" ? RetryDecision::kRetrySameHost
                                                           : RetryDecision::kReturn;
    case ServerErrorCode::kCasWriteUnknown:
    case ServerErrorCode::kReadFailure:
    case ServerErrorCode::kWriteFailure:
    case ServerErrorCode::kCdcWriteFailure:
    case ServerErrorCode::kFunctionFailure:
    case ServerErrorCode::kProtocolError:
    case ServerErrorCode::kAuthError:
    case ServerErrorCode::kSyntaxError:
    case ServerErrorCode::kUnauthorized:
    case ServerErrorCode::kInvalid:
    case ServerErrorCode::kConfigError:
    case ServerErrorCode::kAlreadyExists:
    case ServerErrorCode::kUnprepared:
      return RetryDecision::kReturn;
  }
  // A code outside the protocol (a newer server): do not guess.
  return RetryDecision::kReturn;
}

RetryDecision decideOnClientError(ErrorCode code, bool idempotent, int attempt, int max_retries) {
  if (attempt >= max_retries) {
    return RetryDecision::kReturn;
  }
  switch (code) {
    case ErrorCode::kUnavailable:
      // No stream id free on that connection: nothing was sent.
      return RetryDecision::kRetryNextHost;
    case ErrorCode::kIo:
    case ErrorCode::kTimeout:
      // The request may have been applied; only an idempotent one can go again.
      return idempotent ? RetryDecision::kRetryNextHost : RetryDecision::kReturn;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kProtocol:
    case ErrorCode::kTruncated:
    case ErrorCode::kRejected:
    case ErrorCode::kAuth:
    case ErrorCode::kNotFound:
    case ErrorCode::kConfig:
    case ErrorCode::kCancelled:
    case ErrorCode::kInternal:
      return RetryDecision::kReturn;
  }
  return RetryDecision::kReturn;
}

}  // namespace cesync::cql
