#include "util/crc.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace cesync::util {
namespace {

std::span<const std::uint8_t> asBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(CrcTest, Crc32MatchesTheIeeeCheckValue) {
  EXPECT_EQ(crc32(asBytes("123456789")), 0xCBF43926U);
  EXPECT_EQ(crc32({}), 0U);
}

TEST(CrcTest, CqlFrameCrc32IsCrc32OfThePrefixedBytes) {
  const std::vector<std::uint8_t> prefixed{0xFA, 0x2D, 0x55, 0xCA, '1', '2', '3'};
  EXPECT_EQ(cqlFrameCrc32(asBytes("123")), crc32(prefixed));
  EXPECT_NE(cqlFrameCrc32(asBytes("123")), crc32(asBytes("123")));
}

TEST(CrcTest, Crc24OfNothingIsTheInitialValue) {
  EXPECT_EQ(crc24({}), 0x875060U);
}

TEST(CrcTest, Crc24IsTwentyFourBitsAndSensitiveToEveryBit) {
  const std::array<std::uint8_t, 3> header{0x10, 0x00, 0x02};
  const std::uint32_t base = crc24(header);
  EXPECT_EQ(base & 0xFF000000U, 0U);
  for (std::size_t byte = 0; byte < header.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      auto flipped = header;
      flipped[byte] = static_cast<std::uint8_t>(flipped[byte] ^ (1U << bit));
      EXPECT_NE(crc24(flipped), base) << "byte " << byte << " bit " << bit;
    }
  }
}

TEST(CrcTest, Crc24KnownVectors) {
  // The header of an uncompressed v5 frame holding a self-contained 5-byte payload
  // (5 | 1 << 17, little-endian), and the usual check string.
  EXPECT_EQ(crc24(std::array<std::uint8_t, 3>{0x05, 0x00, 0x02}), 0x9A9919U);
  EXPECT_EQ(crc24(asBytes("123456789")), 0x4B3F02U);
}

}  // namespace
}  // namespace cesync::util
