#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "config/config.h"

namespace cesync::config {

/// Looks up an environment variable; injected so tests need not touch the process environment.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

/// The process environment.
EnvLookup processEnv();

/// Parses and validates a configuration. `source` names it in messages ("cesync.yaml").
/// Every problem found is reported, one per line, as `source:line:col: key 'a.b': what is wrong`;
/// unknown keys are errors. Environment variables named in the schema override the file.
Result<Config> parseConfig(std::string_view yaml_text, std::string_view source,
                           const EnvLookup& env);

/// Reads, parses and validates a configuration file.
Result<Config> loadConfigFile(const std::string& path, const EnvLookup& env);

/// Every setting with its default and documentation, as a commented YAML file.
std::string renderDefaults();

/// Every setting as a Markdown reference (docs/CONFIG.md is this text).
std::string renderReference();

}  // namespace cesync::config
