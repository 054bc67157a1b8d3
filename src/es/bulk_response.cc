#include "es/bulk_response.h"

#include <simdjson.h>

#include <charconv>

#include "es/json_util.h"

namespace cesync::es {
namespace {

enum class StatusClass : std::uint8_t {
  kSuccess,
  kNotFound,
  kConflict,
  kTooManyRequests,
  kClientError,
  kServerError,
  kUnexpected,
};

StatusClass statusClass(int status) {
  if (status >= 200 && status < 300) {
    return StatusClass::kSuccess;
  }
  if (status == 404) {
    return StatusClass::kNotFound;
  }
  if (status == 409) {
    return StatusClass::kConflict;
  }
  if (status == 429) {
    return StatusClass::kTooManyRequests;
  }
  if (status >= 400 && status < 500) {
    return StatusClass::kClientError;
  }
  if (status >= 500 && status < 600) {
    return StatusClass::kServerError;
  }
  return StatusClass::kUnexpected;
}

enum class ErrorKind : std::uint8_t {
  kNone,
  kVersionConflict,
  kRejectedExecution,
  kCircuitBreaking,
  kOther,
};

ErrorKind errorKind(std::string_view type) {
  if (type.empty()) {
    return ErrorKind::kNone;
  }
  if (type == "version_conflict_engine_exception") {
    return ErrorKind::kVersionConflict;
  }
  if (type == "es_rejected_execution_exception" ||
      type == "opensearch_rejected_execution_exception" || type == "rejected_execution_exception") {
    return ErrorKind::kRejectedExecution;
  }
  if (type == "circuit_breaking_exception") {
    return ErrorKind::kCircuitBreaking;
  }
  return ErrorKind::kOther;
}

bool isOverload(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kRejectedExecution:
    case ErrorKind::kCircuitBreaking:
      return true;
    case ErrorKind::kNone:
    case ErrorKind::kVersionConflict:
    case ErrorKind::kOther:
      return false;
  }
  return false;
}

struct ItemError {
  std::string type;
  std::string reason;
};

// "error" is an object {type, reason, caused_by: {type, reason}} on every version we speak; a
// plain string is accepted too.
simdjson::error_code readError(simdjson::ondemand::value value, ItemError& out) {
  simdjson::ondemand::json_type type{};
  if (auto e = value.type().get(type)) {
    return e;
  }
  if (type == simdjson::ondemand::json_type::string) {
    std::string_view text;
    if (auto e = value.get_string().get(text)) {
      return e;
    }
    out.reason = std::string(text);
    return simdjson::SUCCESS;
  }
  simdjson::ondemand::object obj;
  if (auto e = value.get_object().get(obj)) {
    return e;
  }
  std::string caused_by;
  for (auto field : obj) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) {
      return e;
    }
    if (key == "type") {
      std::string_view text;
      if (auto e = field.value().get_string().get(text)) {
        return e;
      }
      out.type = std::string(text);
    } else if (key == "reason") {
      std::string_view text;
      if (field.value().get_string().get(text) == simdjson::SUCCESS) {
        out.reason = std::string(text);
      }
    } else if (key == "caused_by") {
      ItemError inner;
      simdjson::ondemand::value v;
      if (field.value().get(v) == simdjson::SUCCESS && readError(v, inner) == simdjson::SUCCESS) {
        caused_by = inner.type + ": " + inner.reason;
      }
    }
  }
  if (!caused_by.empty()) {
    out.reason += " (caused by " + caused_by + ")";
  }
  return simdjson::SUCCESS;
}

simdjson::error_code readItem(simdjson::ondemand::value item_value, ItemResult& out) {
  simdjson::ondemand::object item;
  if (auto e = item_value.get_object().get(item)) {
    return e;
  }
  // One member: the operation name, holding the outcome.
  std::string_view op;
  std::int64_t status = 0;
  ItemError error;
  std::size_t members = 0;
  for (auto member : item) {
    if (++members > 1) {
      return simdjson::TAPE_ERROR;
    }
    if (auto e = member.unescaped_key().get(op)) {
      return e;
    }
    // The key view points into the parser's string buffer, which the next unescape overwrites.
    const std::string op_name(op);
    simdjson::ondemand::object body;
    if (auto e = member.value().get_object().get(body)) {
      return e;
    }
    for (auto field : body) {
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) {
        return e;
      }
      if (key == "status") {
        if (auto e = field.value().get_int64().get(status)) {
          return e;
        }
      } else if (key == "error") {
        simdjson::ondemand::value v;
        if (auto e = field.value().get(v)) {
          return e;
        }
        if (auto e = readError(v, error)) {
          return e;
        }
      }
    }
    if (status < 0 || status > 999) {
      return simdjson::NUMBER_OUT_OF_RANGE;
    }
    out.status = static_cast<std::uint16_t>(status);
    out.outcome = classifyItem(op_name, static_cast<int>(status), error.type);
    if (!error.type.empty() || !error.reason.empty()) {
      out.error_type = std::move(error.type);
      out.reason = std::move(error.reason);
    }
  }
  return members == 1 ? simdjson::SUCCESS : simdjson::TAPE_ERROR;
}

}  // namespace

std::string_view itemOutcomeName(ItemOutcome outcome) {
  switch (outcome) {
    case ItemOutcome::kOk:
      return "ok";
    case ItemOutcome::kAlreadyNewer:
      return "already_newer";
    case ItemOutcome::kRetry:
      return "retry";
    case ItemOutcome::kDeadLetter:
      return "dead_letter";
  }
  return "unknown";
}

bool isFinal(ItemOutcome outcome) {
  switch (outcome) {
    case ItemOutcome::kOk:
    case ItemOutcome::kAlreadyNewer:
    case ItemOutcome::kDeadLetter:
      return true;
    case ItemOutcome::kRetry:
      return false;
  }
  return false;
}

ItemOutcome classifyItem(std::string_view op, int status, std::string_view error_type) {
  const ErrorKind kind = errorKind(error_type);
  if (isOverload(kind)) {
    return ItemOutcome::kRetry;
  }
  switch (statusClass(status)) {
    case StatusClass::kSuccess:
      return ItemOutcome::kOk;
    case StatusClass::kNotFound:
      // A delete of a document that is not there answers 404 with result "not_found" and no
      // error: the wanted state holds. A 404 with an error (a missing index) is not fine.
      return op == "delete" && kind == ErrorKind::kNone ? ItemOutcome::kOk
                                                        : ItemOutcome::kDeadLetter;
    case StatusClass::kConflict:
      return kind == ErrorKind::kVersionConflict ? ItemOutcome::kAlreadyNewer
                                                 : ItemOutcome::kDeadLetter;
    case StatusClass::kTooManyRequests:
    case StatusClass::kServerError:
      return ItemOutcome::kRetry;
    case StatusClass::kClientError:
    case StatusClass::kUnexpected:
      return ItemOutcome::kDeadLetter;
  }
  return ItemOutcome::kDeadLetter;
}

RequestOutcome classifyBulkStatus(int http_status) {
  if (http_status >= 200 && http_status < 300) {
    return RequestOutcome::kParseItems;
  }
  if (http_status == 429 || (http_status >= 500 && http_status < 600)) {
    return RequestOutcome::kRetryAll;
  }
  if (http_status == 413) {
    return RequestOutcome::kTooLarge;
  }
  if (http_status == 401 || http_status == 403) {
    return RequestOutcome::kAuthFailed;
  }
  return RequestOutcome::kRejectAll;
}

Result<BulkResponse> parseBulkResponse(std::string_view body, std::size_t expected_items,
                                       std::size_t padded_capacity) {
  PaddedJson json(body, padded_capacity);
  simdjson::ondemand::parser parser;
  BulkResponse out;
  out.items.reserve(expected_items);
  auto bad = [&](simdjson::error_code e) {
    return fail(ErrorCode::kProtocol, std::string("bulk response is not valid: ") +
                                          simdjson::error_message(e) + " near '" +
                                          std::string(body.substr(0, 200)) + "'");
  };
  simdjson::ondemand::document doc;
  if (auto e = parser.iterate(json.view()).get(doc)) {
    return bad(e);
  }
  simdjson::ondemand::object root;
  if (auto e = doc.get_object().get(root)) {
    return bad(e);
  }
  bool saw_items = false;
  for (auto field : root) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) {
      return bad(e);
    }
    if (key == "errors") {
      if (auto e = field.value().get_bool().get(out.errors)) {
        return bad(e);
      }
    } else if (key == "took") {
      if (auto e = field.value().get_int64().get(out.took_ms)) {
        return bad(e);
      }
    } else if (key == "items") {
      saw_items = true;
      simdjson::ondemand::array items;
      if (auto e = field.value().get_array().get(items)) {
        return bad(e);
      }
      for (auto element : items) {
        simdjson::ondemand::value v;
        if (auto e = element.get(v)) {
          return bad(e);
        }
        ItemResult& item = out.items.emplace_back();
        if (auto e = readItem(v, item)) {
          return bad(e);
        }
        switch (item.outcome) {
          case ItemOutcome::kOk:
            ++out.ok;
            break;
          case ItemOutcome::kAlreadyNewer:
            ++out.already_newer;
            break;
          case ItemOutcome::kRetry:
            ++out.retry;
            break;
          case ItemOutcome::kDeadLetter:
            ++out.dead_letter;
            break;
        }
      }
    }
  }
  if (!saw_items) {
    return fail(ErrorCode::kProtocol,
                "bulk response has no items: '" + std::string(body.substr(0, 200)) + "'");
  }
  if (out.items.size() != expected_items) {
    return fail(ErrorCode::kProtocol, "bulk response answers " + std::to_string(out.items.size()) +
                                          " items, the request had " +
                                          std::to_string(expected_items));
  }
  return out;
}

std::optional<std::int64_t> conflictCurrentVersion(std::string_view reason) {
  constexpr std::string_view kMarker = "current version [";
  const auto at = reason.find(kMarker);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  const char* begin = reason.data() + at + kMarker.size();
  const char* end = reason.data() + reason.size();
  std::int64_t version = 0;
  const auto [next, ec] = std::from_chars(begin, end, version);
  if (ec != std::errc() || next == end || *next != ']') {
    return std::nullopt;
  }
  return version;
}

}  // namespace cesync::es
