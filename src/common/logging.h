#pragma once

#include <string_view>

#include "common/result.h"

namespace cesync {

enum class LogFormat { kText, kJson };

/// Configures the process-wide logger (stderr). `level` is one of trace, debug, info, warn, error.
/// Call once at startup, before any thread starts.
Status setupLogging(LogFormat format, std::string_view level);

}  // namespace cesync
