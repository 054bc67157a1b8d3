#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"

namespace cesync {

enum class LogFormat { kText, kJson };

/// How much a log line matters. kNone never logs.
enum class Severity : std::uint8_t { kNone, kDebug, kInfo, kWarn, kError };

/// Configures the process-wide logger (stderr). `level` is one of trace, debug, info, warn, error.
/// Call once at startup, before any thread starts.
Status setupLogging(LogFormat format, std::string_view level);

/// Adds a secret (a password, an API key) that no log line and no printed error may show: every
/// occurrence is replaced by "***". Empty strings are ignored. Call at startup, before any
/// thread starts.
void addSecret(std::string_view secret);
/// `text` with every registered secret replaced by "***".
std::string redactSecrets(std::string_view text);

/// One named field of a log line (a label of its event).
using LogField = std::pair<std::string_view, std::string_view>;

/// Writes one line at `severity`: the message in text format; in JSON format an object with
/// "ts", "level", "event", the fields and "msg". Secrets are redacted. ops::Events is the only
/// caller on the daemon's paths.
void logLine(Severity severity, std::string_view event, std::span<const LogField> fields,
             std::string_view message);

}  // namespace cesync
