#include "cql/message/server_error.h"

#include "cql/wire/byte_reader.h"

namespace cesync::cql {

std::string_view serverErrorName(ServerErrorCode code) {
  switch (code) {
    case ServerErrorCode::kServerError:
      return "Server_error";
    case ServerErrorCode::kProtocolError:
      return "Protocol_error";
    case ServerErrorCode::kAuthError:
      return "Authentication_error";
    case ServerErrorCode::kUnavailable:
      return "Unavailable";
    case ServerErrorCode::kOverloaded:
      return "Overloaded";
    case ServerErrorCode::kIsBootstrapping:
      return "Is_bootstrapping";
    case ServerErrorCode::kTruncateError:
      return "Truncate_error";
    case ServerErrorCode::kWriteTimeout:
      return "Write_timeout";
    case ServerErrorCode::kReadTimeout:
      return "Read_timeout";
    case ServerErrorCode::kReadFailure:
      return "Read_failure";
    case ServerErrorCode::kFunctionFailure:
      return "Function_failure";
    case ServerErrorCode::kWriteFailure:
      return "Write_failure";
    case ServerErrorCode::kCdcWriteFailure:
      return "CDC_write_failure";
    case ServerErrorCode::kCasWriteUnknown:
      return "CAS_write_unknown";
    case ServerErrorCode::kSyntaxError:
      return "Syntax_error";
    case ServerErrorCode::kUnauthorized:
      return "Unauthorized";
    case ServerErrorCode::kInvalid:
      return "Invalid";
    case ServerErrorCode::kConfigError:
      return "Config_error";
    case ServerErrorCode::kAlreadyExists:
      return "Already_exists";
    case ServerErrorCode::kUnprepared:
      return "Unprepared";
  }
  return "Unknown_error";
}

Error ServerError::toError() const {
  ErrorCode mapped = ErrorCode::kRejected;
  switch (code) {
    case ServerErrorCode::kUnavailable:
    case ServerErrorCode::kOverloaded:
    case ServerErrorCode::kIsBootstrapping:
    case ServerErrorCode::kServerError:
    case ServerErrorCode::kTruncateError:
      mapped = ErrorCode::kUnavailable;
      break;
    case ServerErrorCode::kWriteTimeout:
    case ServerErrorCode::kReadTimeout:
    case ServerErrorCode::kCasWriteUnknown:
      mapped = ErrorCode::kTimeout;
      break;
    case ServerErrorCode::kAuthError:
    case ServerErrorCode::kUnauthorized:
      mapped = ErrorCode::kAuth;
      break;
    case ServerErrorCode::kProtocolError:
      mapped = ErrorCode::kProtocol;
      break;
    case ServerErrorCode::kReadFailure:
    case ServerErrorCode::kFunctionFailure:
    case ServerErrorCode::kWriteFailure:
    case ServerErrorCode::kCdcWriteFailure:
    case ServerErrorCode::kSyntaxError:
    case ServerErrorCode::kInvalid:
    case ServerErrorCode::kConfigError:
    case ServerErrorCode::kAlreadyExists:
    case ServerErrorCode::kUnprepared:
      mapped = ErrorCode::kRejected;
      break;
  }
  return makeError(mapped, "Cassandra " + std::string(serverErrorName(code)) + ": " + message);
}

Result<ServerError> decodeServerError(ProtocolVersion version, ByteView body) {
  ByteReader r(body);
  ServerError e;
  CESYNC_ASSIGN_OR_RETURN(code, r.readInt());
  e.code = static_cast<ServerErrorCode>(code);
  CESYNC_ASSIGN_OR_RETURN(message, r.readString());
  e.message = std::string(message);
  const bool v5 = version == ProtocolVersion::kV5;
  switch (e.code) {
    case ServerErrorCode::kUnavailable: {
      CESYNC_ASSIGN_OR_RETURN(cl, r.readShort());
      CESYNC_ASSIGN_OR_RETURN(required, r.readInt());
      CESYNC_ASSIGN_OR_RETURN(alive, r.readInt());
      e.consistency = static_cast<Consistency>(cl);
      e.block_for = required;
      e.received = alive;
      break;
    }
    case ServerErrorCode::kWriteTimeout:
    case ServerErrorCode::kReadTimeout:
    case ServerErrorCode::kReadFailure:
    case ServerErrorCode::kWriteFailure: {
      CESYNC_ASSIGN_OR_RETURN(cl, r.readShort());
      CESYNC_ASSIGN_OR_RETURN(received, r.readInt());
      CESYNC_ASSIGN_OR_RETURN(block_for, r.readInt());
      e.consistency = static_cast<Consistency>(cl);
      e.received = received;
      e.block_for = block_for;
      if (e.code == ServerErrorCode::kReadFailure || e.code == ServerErrorCode::kWriteFailure) {
        if (v5) {
          // <reasonmap>: [int] n, then n (<endpoint inetaddr><failurecode short>).
          CESYNC_ASSIGN_OR_RETURN(n, r.readInt());
          for (std::int32_t i = 0; i < n; ++i) {
            CESYNC_TRY(r.readInetAddr());
            CESYNC_TRY(r.readShort());
          }
        } else {
          CESYNC_TRY(r.readInt());
        }
      }
      if (e.code == ServerErrorCode::kReadTimeout || e.code == ServerErrorCode::kReadFailure) {
        CESYNC_ASSIGN_OR_RETURN(present, r.readByte());
        e.data_present = present != 0;
      } else {
        CESYNC_ASSIGN_OR_RETURN(write_type, r.readString());
        e.write_type = std::string(write_type);
      }
      break;
    }
    case ServerErrorCode::kUnprepared: {
      CESYNC_ASSIGN_OR_RETURN(id, r.readShortBytes());
      e.unprepared_id.assign(id.begin(), id.end());
      break;
    }
    case ServerErrorCode::kServerError:
    case ServerErrorCode::kProtocolError:
    case ServerErrorCode::kAuthError:
    case ServerErrorCode::kOverloaded:
    case ServerErrorCode::kIsBootstrapping:
    case ServerErrorCode::kTruncateError:
    case ServerErrorCode::kFunctionFailure:
    case ServerErrorCode::kCdcWriteFailure:
    case ServerErrorCode::kCasWriteUnknown:
    case ServerErrorCode::kSyntaxError:
    case ServerErrorCode::kUnauthorized:
    case ServerErrorCode::kInvalid:
    case ServerErrorCode::kConfigError:
    case ServerErrorCode::kAlreadyExists:
      // Details (if any) are not needed for a decision; the rest of the body is ignored.
      break;
  }
  return e;
}

}  // namespace cesync::cql
