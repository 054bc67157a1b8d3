#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cesync {

/// What went wrong, coarse enough to decide what to do about it.
enum class ErrorCode : std::uint8_t {
  kInvalidArgument,  // the caller's input is wrong; retrying will not help
  kProtocol,         // the peer sent bytes we cannot make sense of
  kTruncated,        // more bytes are needed (or a frame ended early)
  kIo,               // socket, file or TLS failure
  kTimeout,          // no answer within the deadline
  kUnavailable,      // the peer is up but cannot serve now (overloaded, unavailable, 429, 5xx)
  kRejected,         // the peer refused this item for good (mapping error, invalid query)
  kAuth,             // authentication or authorisation failed
  kNotFound,         // the thing asked for does not exist
  kConfig,           // configuration is wrong
  kCancelled,        // stopped on request
  kInternal,         // a bug: an invariant did not hold
};

/// Text name of an error code, for logs and messages.
std::string_view errorCodeName(ErrorCode code);

/// True for codes where trying again later may succeed.
bool isTransient(ErrorCode code);

/// An error value: a code to branch on and a message that makes sense to an operator.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  /// "timeout: no answer from 127.0.0.1:9042 within 2s"
  [[nodiscard]] std::string toString() const;
};

/// Builds an Error; `message` should say what failed and where.
inline Error makeError(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

}  // namespace cesync
