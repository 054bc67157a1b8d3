#include "es/json_util.h"

namespace cesync::es {

PaddedJson::PaddedJson(std::string_view text, std::size_t capacity) {
  if (capacity >= text.size() + simdjson::SIMDJSON_PADDING) {
    view_ = simdjson::padded_string_view(text.data(), text.size(), capacity);
  } else {
    copy_.emplace(text);
    view_ = simdjson::padded_string_view(*copy_);
  }
}

namespace {

// A body that is not the engine's JSON, as a proxy in front of it answers: the title of an HTML
// page, else the start of the text, on one line.
std::string plainSummary(std::string_view body) {
  const std::size_t open = body.find("<title>");
  if (open != std::string_view::npos) {
    const std::size_t from = open + 7;
    const std::size_t close = body.find("</title>", from);
    if (close != std::string_view::npos && close - from <= 300) {
      body = body.substr(from, close - from);
    }
  }
  std::string out;
  for (const char c : body.substr(0, 300)) {
    const bool space = c == '\n' || c == '\r' || c == '\t' || c == ' ';
    if (!space) {
      out += c;
    } else if (!out.empty() && out.back() != ' ') {
      out += ' ';
    }
  }
  while (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  return out;
}

}  // namespace

std::string errorSummary(std::string_view body) {
  PaddedJson json(body, 0);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  std::string type;
  std::string reason;
  if (parser.iterate(json.view()).get(doc) == simdjson::SUCCESS) {
    simdjson::ondemand::object error;
    if (doc["error"].get_object().get(error) == simdjson::SUCCESS) {
      for (auto field : error) {
        std::string_view key;
        std::string_view text;
        if (field.unescaped_key().get(key) != simdjson::SUCCESS) {
          break;
        }
        if (key == "type" && field.value().get_string().get(text) == simdjson::SUCCESS) {
          type = std::string(text);
        } else if (key == "reason" && field.value().get_string().get(text) == simdjson::SUCCESS) {
          reason = std::string(text);
        }
      }
    }
  }
  if (type.empty() && reason.empty()) {
    return plainSummary(body);
  }
  return type + ": " + reason;
}

Error httpError(int status, std::string_view body, std::string_view what) {
  ErrorCode code = ErrorCode::kRejected;
  if (status == 401 || status == 403) {
    code = ErrorCode::kAuth;
  } else if (status == 404) {
    code = ErrorCode::kNotFound;
  } else if (status == 408) {
    code = ErrorCode::kTimeout;
  } else if (status == 429 || status >= 500) {
    code = ErrorCode::kUnavailable;
  }
  return makeError(code, std::string(what) + " answered HTTP " + std::to_string(status) + ": " +
                             errorSummary(body));
}

}  // namespace cesync::es
