#include "util/crc.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <limits>

namespace cesync::util {
namespace {

constexpr std::uint32_t kCrc24Init = 0x875060;
constexpr std::uint32_t kCrc24Poly = 0x1974F0B;
constexpr std::array<std::uint8_t, 4> kCqlCrc32Prefix{0xFA, 0x2D, 0x55, 0xCA};

uLong crc32Update(uLong crc, std::span<const std::uint8_t> bytes) {
  // zlib takes a uInt length; feed very large inputs in pieces.
  while (!bytes.empty()) {
    const std::size_t n = std::min<std::size_t>(bytes.size(), std::numeric_limits<uInt>::max());
    crc = ::crc32(crc, bytes.data(), static_cast<uInt>(n));
    bytes = bytes.subspan(n);
  }
  return crc;
}

}  // namespace

std::uint32_t crc24(std::span<const std::uint8_t> bytes) {
  std::uint32_t crc = kCrc24Init;
  for (const std::uint8_t b : bytes) {
    crc ^= static_cast<std::uint32_t>(b) << 16;
    for (int i = 0; i < 8; ++i) {
      crc <<= 1;
      if ((crc & 0x1000000U) != 0) {
        crc ^= kCrc24Poly;
      }
    }
  }
  return crc & 0xFFFFFFU;
}

std::uint32_t crc32(std::span<const std::uint8_t> bytes) {
  return static_cast<std::uint32_t>(crc32Update(::crc32(0L, Z_NULL, 0), bytes));
}

std::uint32_t cqlFrameCrc32(std::span<const std::uint8_t> bytes) {
  uLong crc = crc32Update(::crc32(0L, Z_NULL, 0), kCqlCrc32Prefix);
  return static_cast<std::uint32_t>(crc32Update(crc, bytes));
}

}  // namespace cesync::util
