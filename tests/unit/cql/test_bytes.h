#pragma once

#include <cstdint>
#include <string>

#include "cql/wire/bytes.h"

namespace cesync::cql::testing {

/// Bytes from hex text; spaces are ignored ("00 01 ff").
inline Bytes hex(const std::string& text) {
  Bytes out;
  std::string digits;
  for (const char c : text) {
    if (c != ' ') {
      digits.push_back(c);
    }
  }
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
  }
  return out;
}

}  // namespace cesync::cql::testing
