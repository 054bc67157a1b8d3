#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace cesync::cql {

/// Owned bytes, and a view of bytes owned elsewhere.
using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

/// Views the characters of a string as bytes, without copying.
inline ByteView asBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// Views bytes as characters, without copying.
inline std::string_view asChars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace cesync::cql
