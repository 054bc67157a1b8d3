#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace cesync::es::testing {

/// The contents of tests/unit/es/fixtures/<name>, or an empty string when it cannot be read.
inline std::string readFixture(const std::string& name) {
  std::ifstream in(std::string(CESYNC_ES_FIXTURES) + "/" + name, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace cesync::es::testing
