#include "common/error.h"

namespace cesync {

std::string_view errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kProtocol:
      return "protocol error";
    case ErrorCode::kTruncated:
      return "truncated";
    case ErrorCode::kIo:
      return "i/o error";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kRejected:
      return "rejected";
    case ErrorCode::kAuth:
      return "authentication failed";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kConfig:
      return "configuration error";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kInternal:
      return "internal error";
  }
  return "unknown error";
}

bool isTransient(ErrorCode code) {
  switch (code) {
    case ErrorCode::kIo:
    case ErrorCode::kTimeout:
    case ErrorCode::kUnavailable:
      return true;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kProtocol:
    case ErrorCode::kTruncated:
    case ErrorCode::kRejected:
    case ErrorCode::kAuth:
    case ErrorCode::kNotFound:
    case ErrorCode::kConfig:
    case ErrorCode::kCancelled:
    case ErrorCode::kInternal:
      return false;
  }
  return false;
}

std::string Error::toString() const {
  std::string out{errorCodeName(code)};
  if (!message.empty()) {
    out += ": ";
    out += message;
  }
  return out;
}

}  // namespace cesync
