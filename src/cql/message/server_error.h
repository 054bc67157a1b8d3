#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "cql/protocol.h"
#include "cql/wire/bytes.h"

namespace cesync::cql {

/// Error codes of the ERROR message (spec v5 section 8).
enum class ServerErrorCode : std::int32_t {
  kServerError = 0x0000,
  kProtocolError = 0x000A,
  kAuthError = 0x0100,
  kUnavailable = 0x1000,
  kOverloaded = 0x1001,
  kIsBootstrapping = 0x1002,
  kTruncateError = 0x1003,
  kWriteTimeout = 0x1100,
  kReadTimeout = 0x1200,
  kReadFailure = 0x1300,
  kFunctionFailure = 0x1400,
  kWriteFailure = 0x1500,
  kCdcWriteFailure = 0x1600,
  kCasWriteUnknown = 0x1700,
  kSyntaxError = 0x2000,
  kUnauthorized = 0x2100,
  kInvalid = 0x2200,
  kConfigError = 0x2300,
  kAlreadyExists = 0x2400,
  kUnprepared = 0x2500,
};

/// "Unavailable", "Write_timeout", ...
std::string_view serverErrorName(ServerErrorCode code);

/// A decoded ERROR message with the details the retry policy looks at.
struct ServerError {
  ServerErrorCode code = ServerErrorCode::kServerError;
  std::string message;
  Consistency consistency = Consistency::kOne;
  std::int32_t received = 0;
  std::int32_t block_for = 0;
  bool data_present = false;
  std::string write_type;
  Bytes unprepared_id;

  /// The common Error for callers: code mapped (kUnavailable for transient server states,
  /// kTimeout for timeouts, kRejected for requests the server refuses, kAuth, kProtocol) and a
  /// message naming the server error.
  [[nodiscard]] Error toError() const;
};

/// Decodes an ERROR body. Unknown codes decode (the code is kept as sent); details that do not
/// parse are a kProtocol error.
[[nodiscard]] Result<ServerError> decodeServerError(ProtocolVersion version, ByteView body);

}  // namespace cesync::cql
