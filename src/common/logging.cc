#include "common/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <string>
#include <vector>

namespace cesync {
namespace {

// Written at startup only (addSecret), read by every thread afterwards.
std::vector<std::string>& secrets() {
  static std::vector<std::string> list;
  return list;
}

LogFormat& format() {
  static LogFormat f = LogFormat::kText;
  return f;
}

void appendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[(c >> 4) & 0xf];
          out += kHex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

spdlog::level::level_enum spdlogLevel(Severity severity) {
  switch (severity) {
    case Severity::kNone:
      return spdlog::level::off;
    case Severity::kDebug:
      return spdlog::level::debug;
    case Severity::kInfo:
      return spdlog::level::info;
    case Severity::kWarn:
      return spdlog::level::warn;
    case Severity::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

Status setupLogging(LogFormat format_wanted, std::string_view level) {
  const auto parsed = spdlog::level::from_str(std::string(level));
  // from_str answers "off" for names it does not know; only "off" itself may mean off.
  if (parsed == spdlog::level::off && level != "off") {
    return fail(ErrorCode::kConfig, "unknown log level '" + std::string(level) +
                                        "' (expected trace, debug, info, warn, error or off)");
  }
  auto logger = spdlog::get("cesync");
  if (!logger) {
    logger = spdlog::stderr_logger_mt("cesync");
  }
  logger->set_level(parsed);
  format() = format_wanted;
  switch (format_wanted) {
    case LogFormat::kText:
      logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v", spdlog::pattern_time_type::utc);
      break;
    case LogFormat::kJson:
      // logLine writes the rest of the object: "event", the fields and "msg", escaped.
      logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})",
                          spdlog::pattern_time_type::utc);
      break;
  }
  spdlog::set_default_logger(logger);
  return {};
}

void addSecret(std::string_view secret) {
  if (!secret.empty()) {
    secrets().emplace_back(secret);
  }
}

std::string redactSecrets(std::string_view text) {
  std::string out(text);
  for (const auto& secret : secrets()) {
    for (auto at = out.find(secret); at != std::string::npos; at = out.find(secret, at + 3)) {
      out.replace(at, secret.size(), "***");
    }
  }
  return out;
}

void logLine(Severity severity, std::string_view event, std::span<const LogField> fields,
             std::string_view message) {
  const auto level = spdlogLevel(severity);
  if (severity == Severity::kNone || !spdlog::should_log(level)) {
    return;
  }
  const std::string clean = redactSecrets(message);
  if (format() == LogFormat::kText) {
    spdlog::log(level, "{}", clean);
    return;
  }
  std::string body = "\"event\":";
  appendJsonString(body, event);
  for (const auto& [name, value] : fields) {
    body += ',';
    appendJsonString(body, name);
    body += ':';
    appendJsonString(body, redactSecrets(value));
  }
  body += ",\"msg\":";
  appendJsonString(body, clean);
  spdlog::log(level, "{}", body);
}

}  // namespace cesync
