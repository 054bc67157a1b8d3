#include "changelog/changelog_schema.h"

#include <sstream>

#include "changelog/changelog_ddl.h"

namespace cesync::changelog {
namespace {

void replaceAll(std::string& text, const std::string& from, const std::string& to) {
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos)) {
    text.replace(pos, from.size(), to);
    pos += to.size();
  }
}

}  // namespace

std::vector<std::string> changelogDdl(const ChangelogSchema& schema) {
  // Drop comments line by line, then split on ';'.
  std::string text;
  std::istringstream in(kChangelogDdlTemplate);
  for (std::string line; std::getline(in, line);) {
    const auto comment = line.find("--");
    text += line.substr(0, comment);
    text += '\n';
  }
  replaceAll(text, "{{keyspace}}", schema.keyspace);
  replaceAll(text, "{{table}}", schema.table);
  replaceAll(text, "{{replication}}", schema.replication);
  replaceAll(text, "{{ttl_seconds}}", std::to_string(schema.ttl_seconds));
  replaceAll(text, "{{window_hours}}", std::to_string(schema.window_hours));
  std::vector<std::string> statements;
  std::size_t start = 0;
  for (auto end = text.find(';'); end != std::string::npos; end = text.find(';', start)) {
    std::string statement = text.substr(start, end - start);
    start = end + 1;
    const auto first = statement.find_first_not_of(" \n\t");
    if (first != std::string::npos) {
      statements.push_back(statement.substr(first));
    }
  }
  return statements;
}

}  // namespace cesync::changelog
