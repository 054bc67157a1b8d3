#include <gtest/gtest.h>

#include <limits>

#include "cql/wire/byte_reader.h"
#include "cql/wire/byte_writer.h"
#include "test_bytes.h"

namespace cesync::cql {
namespace {

using testing::hex;

TEST(WireTest, ReadsPrimitivesBigEndian) {
  const Bytes b = hex("ff fe  80000001  0000000000000102  0003 616263  ffffffff  0002 6869");
  ByteReader r(b);
  EXPECT_EQ(*r.readShort(), 0xFFFE);
  EXPECT_EQ(*r.readInt(), std::numeric_limits<std::int32_t>::min() + 1);
  EXPECT_EQ(*r.readLong(), 258);
  EXPECT_EQ(*r.readString(), "abc");
  const auto null_bytes = r.readBytes();
  ASSERT_TRUE(null_bytes.has_value());
  EXPECT_FALSE(null_bytes->has_value());
  EXPECT_EQ(asChars(*r.readShortBytes()), "hi");
  EXPECT_TRUE(r.empty());
}

TEST(WireTest, TruncationIsAnErrorValueAtEveryLength) {
  const Bytes b = hex("0003 616263");
  for (std::size_t n = 0; n < b.size(); ++n) {
    ByteReader r(ByteView(b).first(n));
    const auto s = r.readString();
    ASSERT_FALSE(s.has_value()) << n;
    EXPECT_EQ(s.error().code, ErrorCode::kTruncated);
  }
  const Bytes short_body = hex("00000010 0102");
  ByteReader r(short_body);
  const auto bytes = r.readBytes();
  ASSERT_FALSE(bytes.has_value());
  EXPECT_EQ(bytes.error().code, ErrorCode::kTruncated);
}

TEST(WireTest, NegativeLongStringLengthIsAProtocolError) {
  const Bytes negative = hex("fffffff0");
  ByteReader r(negative);
  const auto s = r.readLongString();
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kProtocol);
}

TEST(WireTest, UnsignedVintMatchesTheSpecExample) {
  // Spec v5 section 3: 256000 is encoded on 3 bytes as [110]00011 11101000 00000000.
  Bytes out;
  ByteWriter(out).writeUnsignedVint(256000);
  EXPECT_EQ(out, hex("c3 e8 00"));
  ByteReader r(out);
  EXPECT_EQ(*r.readUnsignedVint(), 256000U);
}

TEST(WireTest, VintRoundTripsAcrossWidths) {
  const std::int64_t samples[] = {0,
                                  -1,
                                  1,
                                  63,
                                  -64,
                                  64,
                                  1000,
                                  -1000000,
                                  std::int64_t{1} << 40,
                                  std::numeric_limits<std::int64_t>::max(),
                                  std::numeric_limits<std::int64_t>::min()};
  for (const auto v : samples) {
    Bytes out;
    ByteWriter(out).writeVint(v);
    ByteReader r(out);
    EXPECT_EQ(*r.readVint(), v);
    EXPECT_TRUE(r.empty()) << v;
  }
  Bytes zero;
  ByteWriter(zero).writeVint(-1);
  EXPECT_EQ(zero, hex("01")) << "zig-zag: -1 -> 1";
}

TEST(WireTest, WritesMapsAndLists) {
  Bytes out;
  ByteWriter w(out);
  w.writeStringMap({{"CQL_VERSION", "3.0.0"}});
  EXPECT_EQ(out, hex("0001 000b 43514c5f56455253494f4e 0005 332e302e30"));
  ByteReader r(out);
  const auto map = r.readStringMap();
  ASSERT_TRUE(map.has_value());
  EXPECT_EQ(map->at("CQL_VERSION"), "3.0.0");
}

}  // namespace
}  // namespace cesync::cql
