#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.h"

namespace cesync::config {

/// The kinds of value a setting can hold, as written in YAML.
enum class FieldType {
  kString,      // text
  kStringList,  // a YAML list of text (a single text is taken as a list of one)
  kBool,        // true / false
  kCount,       // a whole number >= 0
  kDuration,    // 500ms, 10s, 5m, 2h, 7d
  kBytes,       // 1048576, 512KiB, 5MiB, 1GiB
  kEnum,        // one of `choices`
};

/// A parsed setting value: text (kString, kEnum), list, bool, count/bytes, or duration.
using FieldValue = std::variant<std::string, std::vector<std::string>, bool, std::uint64_t,
                                std::chrono::milliseconds>;

/// One row of a schema table: binds a key to its type, default, documentation and the field of
/// the target struct it fills. Parsing, `config print-defaults` and docs/CONFIG.md all come from
/// these rows.
template <typename Target>
struct Field {
  std::string_view key;  // dotted path, e.g. "cassandra.tls.ca_file"
  FieldType type = FieldType::kString;
  std::string_view default_value;  // YAML text parsed like a value from the file
  std::string_view doc;
  std::vector<std::string_view> choices = {};  // kEnum only
  std::string_view env = {};  // environment variable that overrides the file, if any
  bool secret = false;        // never printed
  std::function<void(Target&, const FieldValue&)> bind = {};
};

/// The settings outside `tables:`.
std::span<const Field<Config>> configSchema();
/// The settings of one `tables:` entry.
std::span<const Field<TableConfig>> tableSchema();

/// Text name of a field type, for messages and docs.
std::string_view fieldTypeName(FieldType type);

}  // namespace cesync::config
