#include "common/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

namespace cesync {

Status setupLogging(LogFormat format, std::string_view level) {
  const auto parsed = spdlog::level::from_str(std::string(level));
  // from_str answers "off" for names it does not know; only "off" itself may mean off.
  if (parsed == spdlog::level::off && level != "off") {
    return fail(ErrorCode::kConfig, "unknown log level '" + std::string(level) +
                                        "' (expected trace, debug, info, warn, error or off)");
  }
  auto logger = spdlog::stderr_logger_mt("cesync");
  logger->set_level(parsed);
  switch (format) {
    case LogFormat::kText:
      logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v", spdlog::pattern_time_type::utc);
      break;
    case LogFormat::kJson:
      // Messages are escaped by the call sites that may carry quotes (see ops/events).
      logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%v"})",
                          spdlog::pattern_time_type::utc);
      break;
  }
  spdlog::set_default_logger(logger);
  return {};
}

}  // namespace cesync
