#include "config/config_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "config/config_schema.h"

namespace cesync::config {
namespace {

using std::chrono::milliseconds;

// Collects every problem, each pointing at a place in the file.
class Problems {
 public:
  explicit Problems(std::string_view source) : source_(source) {}

  void add(const YAML::Mark& mark, std::string_view key, std::string_view what) {
    std::string line = source_;
    if (!mark.is_null()) {
      line += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    }
    line += ": ";
    if (!key.empty()) {
      line += "key '" + std::string(key) + "': ";
    }
    line += what;
    lines_.push_back(std::move(line));
  }
  [[nodiscard]] bool empty() const { return lines_.empty(); }
  [[nodiscard]] std::string joined() const {
    std::string out;
    for (const auto& l : lines_) {
      out += (out.empty() ? "" : "\n") + l;
    }
    return out;
  }

 private:
  std::string source_;
  std::vector<std::string> lines_;
};

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

Result<std::uint64_t> parseCount(const std::string& s) {
  std::uint64_t v = 0;
  const auto* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end) {
    return fail(ErrorCode::kConfig, "expected a whole number >= 0, got '" + s + "'");
  }
  return v;
}

// Splits "5MiB" into 5 and "MiB".
bool splitNumber(const std::string& s, std::uint64_t& number, std::string& unit) {
  std::size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) {
    ++i;
  }
  if (i == 0) {
    return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + i, number);
  unit = s.substr(i);
  return ec == std::errc() && p == s.data() + i;
}

Result<milliseconds> parseDuration(const std::string& s) {
  std::uint64_t n = 0;
  std::string unit;
  if (splitNumber(s, n, unit)) {
    static const std::pair<const char*, std::uint64_t> kUnits[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
    for (const auto& [name, factor] : kUnits) {
      if (unit == name) {
        return milliseconds(static_cast<milliseconds::rep>(n * factor));
      }
    }
  }
  return fail(ErrorCode::kConfig,
              "expected a duration such as 500ms, 10s, 5m, 2h or 7d, got '" + s + "'");
}

Result<std::uint64_t> parseBytes(const std::string& s) {
  std::uint64_t n = 0;
  std::string unit;
  if (splitNumber(s, n, unit)) {
    static const std::pair<const char*, std::uint64_t> kUnits[] = {
        {"", 1}, {"B", 1}, {"KiB", 1024}, {"MiB", 1024 * 1024}, {"GiB", 1024ULL * 1024 * 1024}};
    for (const auto& [name, factor] : kUnits) {
      if (unit == name) {
        return n * factor;
      }
    }
  }
  return fail(ErrorCode::kConfig,
              "expected a size such as 1048576, 512KiB, 5MiB or 1GiB, got '" + s + "'");
}

template <typename Target>
Result<FieldValue> parseScalarText(const Field<Target>& field, const std::string& s) {
  switch (field.type) {
    case FieldType::kString:
      return FieldValue{s};
    case FieldType::kStringList:
      return FieldValue{std::vector<std::string>{s}};
    case FieldType::kBool:
      if (s == "true") {
        return FieldValue{true};
      }
      if (s == "false") {
        return FieldValue{false};
      }
      return fail(ErrorCode::kConfig, "expected true or false, got '" + s + "'");
    case FieldType::kCount: {
      CESYNC_ASSIGN_OR_RETURN(v, parseCount(s));
      return FieldValue{v};
    }
    case FieldType::kDuration: {
      CESYNC_ASSIGN_OR_RETURN(v, parseDuration(s));
      return FieldValue{v};
    }
    case FieldType::kBytes: {
      CESYNC_ASSIGN_OR_RETURN(v, parseBytes(s));
      return FieldValue{v};
    }
    case FieldType::kEnum:
      if (std::find(field.choices.begin(), field.choices.end(), s) != field.choices.end()) {
        return FieldValue{s};
      } else {
        std::string list;
        for (auto c : field.choices) {
          list += (list.empty() ? "" : ", ") + std::string(c);
        }
        return fail(ErrorCode::kConfig, "expected one of " + list + ", got '" + s + "'");
      }
  }
  return fail(ErrorCode::kInternal, "unhandled field type");
}

template <typename Target>
Result<FieldValue> parseNode(const Field<Target>& field, const YAML::Node& node) {
  if (node.IsNull()) {
    // `key:` with nothing after it means "empty" for text and lists, and is an error otherwise.
    if (field.type == FieldType::kString) {
      return FieldValue{std::string()};
    }
    if (field.type == FieldType::kStringList) {
      return FieldValue{std::vector<std::string>()};
    }
    return fail(ErrorCode::kConfig, "has no value");
  }
  if (node.IsSequence()) {
    if (field.type != FieldType::kStringList) {
      return fail(ErrorCode::kConfig, "expected a single value (" +
                                          std::string(fieldTypeName(field.type)) + "), got a list");
    }
    std::vector<std::string> items;
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        return fail(ErrorCode::kConfig, "list items must be plain text");
      }
      items.push_back(item.Scalar());
    }
    return FieldValue{std::move(items)};
  }
  if (!node.IsScalar()) {
    return fail(ErrorCode::kConfig,
                "expected " + std::string(fieldTypeName(field.type)) + ", got a mapping");
  }
  return parseScalarText(field, node.Scalar());
}

template <typename Target>
const Field<Target>* findField(std::span<const Field<Target>> schema, std::string_view key) {
  for (const auto& f : schema) {
    if (f.key == key) {
      return &f;
    }
  }
  return nullptr;
}

template <typename Target>
bool isSection(std::span<const Field<Target>> schema, const std::string& prefix) {
  return std::any_of(schema.begin(), schema.end(), [&](const auto& f) {
    return f.key.size() > prefix.size() && f.key.substr(0, prefix.size()) == prefix &&
           f.key[prefix.size()] == '.';
  });
}

// The nearest known key to a misspelt one, for "did you mean".
template <typename Target>
std::string suggestion(std::span<const Field<Target>> schema, const std::string& key,
                       const std::string& shown_prefix) {
  std::string best;
  std::size_t best_distance = 4;  // farther than 3 edits is not a typo
  for (const auto& f : schema) {
    const std::size_t d = editDistance(key, f.key);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(f.key);
    }
  }
  return best.empty() ? std::string() : " (did you mean '" + shown_prefix + best + "'?)";
}

template <typename Target>
void applyDefaults(std::span<const Field<Target>> schema, Target& target) {
  for (const auto& f : schema) {
    auto value = parseNode(f, YAML::Load(std::string(f.default_value)));
    // The defaults are ours: a default that does not parse is a bug in the schema table.
    if (!value) {
      std::abort();
    }
    f.bind(target, *value);
  }
}

// Walks a mapping, binding every known key and reporting every unknown one. Problems name the
// key as `shown_prefix` + key (a table's keys as tables[N].key, as the operator finds them).
template <typename Target>
void walk(std::span<const Field<Target>> schema, const YAML::Node& map, const std::string& prefix,
          Target& target, Problems& problems, std::set<std::string>& seen,
          std::string_view skip = {}, const std::string& shown_prefix = {}) {
  // yaml-cpp keeps every copy of a repeated key; one of them would win silently.
  std::map<std::string, int> lines;
  for (const auto& entry : map) {
    const std::string key = prefix + entry.first.Scalar();
    const std::string shown = shown_prefix + key;
    if (auto [first, fresh] = lines.try_emplace(key, entry.first.Mark().line + 1); !fresh) {
      problems.add(
          entry.first.Mark(), shown,
          "is given twice (first on line " + std::to_string(first->second) + "); keep one");
      continue;
    }
    if (key == skip) {
      continue;
    }
    if (const auto* field = findField(schema, key)) {
      seen.insert(key);
      auto value = parseNode(*field, entry.second);
      if (value) {
        field->bind(target, *value);
      } else {
        problems.add(entry.second.Mark(), shown, value.error().message);
      }
    } else if (isSection(schema, key)) {
      if (entry.second.IsMap()) {
        walk(schema, entry.second, key + ".", target, problems, seen, {}, shown_prefix);
      } else if (!entry.second.IsNull()) {
        problems.add(entry.second.Mark(), shown, "expected a mapping of settings");
      }
    } else {
      problems.add(entry.first.Mark(), shown,
                   "unknown key" + suggestion(schema, key, shown_prefix));
    }
  }
}

template <typename Target>
void applyEnv(std::span<const Field<Target>> schema, const EnvLookup& env, Target& target,
              Problems& problems) {
  for (const auto& f : schema) {
    if (f.env.empty()) {
      continue;
    }
    const auto value = env(f.env);
    if (!value || value->empty()) {
      continue;
    }
    auto parsed = parseScalarText(f, *value);
    if (parsed) {
      f.bind(target, *parsed);
    } else {
      problems.add(
          YAML::Mark::null_mark(), f.key,
          "from environment variable " + std::string(f.env) + ": " + parsed.error().message);
    }
  }
}

bool isIdentifier(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  });
}

// Cassandra's own keyspaces: a trigger there would log the cluster's bookkeeping, and
// `cesync setup` would try to alter them.
bool isSystemKeyspace(std::string keyspace) {
  std::transform(keyspace.begin(), keyspace.end(), keyspace.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static const std::set<std::string> kSystem = {
      "system",        "system_auth",  "system_schema",         "system_distributed",
      "system_traces", "system_views", "system_virtual_schema", "system_cluster_metadata"};
  return kSystem.contains(keyspace);
}

void parseTables(const YAML::Node& node, Config& config, Problems& problems) {
  if (!node.IsSequence()) {
    problems.add(node.Mark(), "tables", "expected a list of tables");
    return;
  }
  std::set<std::string> names;
  std::set<std::string> indices;
  for (const auto& item : node) {
    const std::string where = "tables[" + std::to_string(config.tables.size()) + "]";
    if (!item.IsMap()) {
      problems.add(item.Mark(), where, "expected a mapping with at least `table: keyspace.table`");
      continue;
    }
    TableConfig table;
    table.line = item.Mark().line + 1;
    applyDefaults(tableSchema(), table);
    std::set<std::string> seen;
    walk(tableSchema(), item, "", table, problems, seen, {}, where + ".");
    if (!seen.contains("table")) {
      problems.add(item.Mark(), where + ".table", "is required (keyspace.table)");
    } else if (!isIdentifier(table.keyspace) || !isIdentifier(table.table)) {
      problems.add(item["table"].Mark(), where + ".table",
                   "expected keyspace.table (letters, digits and _), got '" +
                       item["table"].as<std::string>("") + "'");
    } else if (isSystemKeyspace(table.keyspace)) {
      problems.add(item["table"].Mark(), where + ".table",
                   table.keyspace +
                       " is one of Cassandra's own keyspaces; only application "
                       "tables can be synced");
    } else if (!names.insert(table.qualifiedName()).second) {
      problems.add(item["table"].Mark(), where + ".table",
                   table.qualifiedName() + " is listed twice");
    }
    if (table.index.empty()) {
      table.index = table.keyspace + "_" + table.table;
    }
    std::transform(table.index.begin(), table.index.end(), table.index.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!indices.insert(table.index).second) {
      problems.add(item.Mark(), where + ".index", "index " + table.index + " is used twice");
    }
    if (table.direction != Direction::kToSearch && table.timestamp_column.empty()) {
      problems.add(item.Mark(), where + ".timestamp_column",
                   std::string("is required when direction is ") + directionName(table.direction) +
                       " (it orders search-side edits against Cassandra writes)");
    }
    config.tables.push_back(std::move(table));
  }
}

void validate(const Config& c, const YAML::Node& root, Problems& problems) {
  auto markOf = [&](const char* section, const char* key) {
    const YAML::Node s = root[section];
    if (s && s.IsMap() && s[key]) {
      return s[key].Mark();
    }
    return YAML::Mark::null_mark();
  };
  if (c.cassandra.contact_points.empty()) {
    problems.add(markOf("cassandra", "contact_points"), "cassandra.contact_points",
                 "needs at least one host:port");
  }
  if (c.search.urls.empty()) {
    problems.add(markOf("search", "urls"), "search.urls", "needs at least one URL");
  }
  for (const auto& url : c.search.urls) {
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      problems.add(markOf("search", "urls"), "search.urls",
                   "'" + url + "' must start with http:// or https://");
    }
  }
  if (!c.cassandra.password.empty() && c.cassandra.username.empty()) {
    problems.add(markOf("cassandra", "password"), "cassandra.password",
                 "is set but cassandra.username is not");
  }
  if (c.search.bulk_max_bytes < 1024) {
    problems.add(markOf("search", "bulk_max_bytes"), "search.bulk_max_bytes",
                 "must be at least 1KiB");
  }
  if (c.search.bulk_max_in_flight == 0 || c.cassandra.max_in_flight == 0) {
    problems.add(YAML::Mark::null_mark(), "max_in_flight", "must be at least 1");
  }
  if (c.changelog.shards == 0 || c.changelog.bucket_width < std::chrono::seconds(1)) {
    problems.add(markOf("changelog", "shards"), "changelog.shards",
                 "shards must be at least 1 and bucket_width at least 1s");
  }
  if (c.changelog.settle_time > c.changelog.confidence_window) {
    problems.add(markOf("changelog", "settle_time"), "changelog.settle_time",
                 "must not exceed changelog.confidence_window");
  }
  if (c.state.path.empty()) {
    problems.add(markOf("state", "path"), "state.path", "must name a file");
  }
}

}  // namespace

EnvLookup processEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    return v == nullptr ? std::nullopt : std::optional<std::string>(v);
  };
}

Result<Config> parseConfig(std::string_view yaml_text, std::string_view source,
                           const EnvLookup& env) {
  Problems problems(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    problems.add(e.mark, {}, "not valid YAML: " + e.msg);
    return fail(ErrorCode::kConfig, problems.joined());
  }
  Config config;
  applyDefaults(configSchema(), config);
  if (root.IsNull()) {
    problems.add(YAML::Mark::null_mark(), {}, "the file is empty; at least `tables:` is needed");
  } else if (!root.IsMap()) {
    problems.add(root.Mark(), {}, "expected a mapping of settings at the top level");
  } else {
    // `tables` is a list with its own schema; everything else goes through the main table.
    std::set<std::string> seen;
    walk(configSchema(), root, "", config, problems, seen, "tables");
    const YAML::Node tables = root["tables"];
    if (!tables) {
      problems.add(root.Mark(), "tables", "is required: list the tables to sync");
    } else {
      parseTables(tables, config, problems);
    }
  }
  applyEnv(configSchema(), env, config, problems);
  validate(config, root.IsMap() ? root : YAML::Node(), problems);
  if (!problems.empty()) {
    return fail(ErrorCode::kConfig, problems.joined());
  }
  return config;
}

Result<Config> loadConfigFile(const std::string& path, const EnvLookup& env) {
  std::ifstream in(path);
  if (!in) {
    return fail(ErrorCode::kConfig, path + ": cannot read the configuration file");
  }
  std::stringstream text;
  text << in.rdbuf();
  return parseConfig(text.str(), path, env);
}

std::string renderDefaults() {
  std::string out = "# cesync configuration: every setting with its default.\n";
  std::string section;
  for (const auto& f : configSchema()) {
    const auto dot = f.key.find('.');
    const std::string top(f.key.substr(0, dot));
    if (top != section) {
      section = top;
      out += "\n" + section + ":\n";
    }
    const std::string rest(f.key.substr(dot + 1));
    const auto inner = rest.find('.');
    std::string indent = "  ";
    std::string name = rest;
    if (inner != std::string::npos) {
      // Nested sections (tls) are written as dotted keys' parents once.
      const std::string sub = rest.substr(0, inner);
      const std::string marker = "  " + sub + ":\n";
      if (out.size() < marker.size() || out.rfind(marker) == std::string::npos ||
          out.rfind(marker) < out.rfind(section + ":\n")) {
        out += marker;
      }
      indent = "    ";
      name = rest.substr(inner + 1);
    }
    out += indent + "# " + std::string(f.doc);
    if (!f.env.empty()) {
      out += " Environment: " + std::string(f.env) + ".";
    }
    out += "\n" + indent + name + ": " + std::string(f.default_value) + "\n";
  }
  out += "\n# One entry per table to sync.\ntables:\n";
  bool first = true;
  for (const auto& f : tableSchema()) {
    out += std::string(first ? "  - " : "    ") + "# " + std::string(f.doc) + "\n";
    out += "    " + std::string(f.key) + ": " +
           (f.key == "table" ? std::string("shop.product") : std::string(f.default_value)) + "\n";
    first = false;
  }
  return out;
}

namespace {

template <typename Target>
std::string referenceRows(std::span<const Field<Target>> schema, const std::string& prefix) {
  std::string out;
  for (const auto& f : schema) {
    std::string type(fieldTypeName(f.type));
    if (f.type == FieldType::kEnum) {
      std::string list;
      for (auto c : f.choices) {
        list += (list.empty() ? "" : ", ") + std::string(c);
      }
      type += " " + list;
    }
    out += "| `" + prefix + std::string(f.key) + "` | " + type + " | `" +
           std::string(f.default_value) + "` | " +
           (f.env.empty() ? std::string() : "`" + std::string(f.env) + "`") + " | " +
           std::string(f.doc) + " |\n";
  }
  return out;
}

}  // namespace

std::string renderReference() {
  std::string out =
      "# Configuration reference\n\n"
      "Generated from the schema table in `src/config/config_schema.cc` by\n"
      "`cesync config print-reference`; a unit test keeps this file equal to that output.\n\n"
      "cesync reads one YAML file (`--config FILE`). Unknown keys and bad values are errors that\n"
      "name the key, the line and the column; every problem in the file is reported at once.\n"
      "`cesync config check --config FILE` validates a file, `cesync config print-defaults`\n"
      "prints every setting with its default. Environment variables override the file where\n"
      "named (use them for secrets); secrets are never printed.\n\n"
      "Durations: `500ms`, `10s`, `5m`, `2h`, `7d`. Sizes: `1048576`, `512KiB`, `5MiB`, `1GiB`.\n\n"
      "## Settings\n\n"
      "| key | type | default | environment | meaning |\n|---|---|---|---|---|\n";
  out += referenceRows(configSchema(), "");
  out +=
      "\n## Tables\n\n`tables:` is a list; each entry syncs one Cassandra table with one "
      "index.\n\n| key | type | default | environment | meaning |\n|---|---|---|---|---|\n";
  out += referenceRows(tableSchema(), "tables[].");
  return out;
}

}  // namespace cesync::config
