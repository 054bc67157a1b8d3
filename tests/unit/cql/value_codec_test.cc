#include "cql/types/value_codec.h"

#include <gtest/gtest.h>

#include "cql/message/result.h"
#include "cql/wire/byte_reader.h"
#include "test_bytes.h"

namespace cesync::cql {
namespace {

using testing::hex;

CqlTypePtr typeFromOption(const std::string& option_hex) {
  const Bytes b = hex(option_hex);
  ByteReader r(b);
  auto t = readType(r);
  EXPECT_TRUE(t.has_value()) << option_hex;
  EXPECT_TRUE(r.empty()) << option_hex;
  return t ? *t : nullptr;
}

// Decodes `bytes` as `type`, checks the rendering, re-encodes and checks the bytes come back.
void roundTrip(const CqlTypePtr& type, const std::string& bytes_hex, const std::string& text) {
  const Bytes bytes = hex(bytes_hex);
  const auto v = decodeValue(*type, bytes);
  ASSERT_TRUE(v.has_value()) << type->toString() << ": " << v.error().toString();
  EXPECT_EQ(v->toString(), text) << type->toString();
  Bytes again;
  const auto st = encodeValue(*type, *v, again);
  ASSERT_TRUE(st.has_value()) << st.error().toString();
  EXPECT_EQ(again, bytes) << type->toString();
}

TEST(ValueCodecTest, Scalars) {
  roundTrip(CqlType::scalar(TypeKind::kBoolean), "01", "true");
  roundTrip(CqlType::scalar(TypeKind::kTinyint), "ff", "-1");
  roundTrip(CqlType::scalar(TypeKind::kSmallint), "8000", "-32768");
  roundTrip(CqlType::scalar(TypeKind::kInt), "0000002a", "42");
  roundTrip(CqlType::scalar(TypeKind::kBigint), "ffffffffffffff85", "-123");
  roundTrip(CqlType::scalar(TypeKind::kCounter), "0000000000000007", "7");
  roundTrip(CqlType::scalar(TypeKind::kFloat), "3fc00000", "1.5");
  roundTrip(CqlType::scalar(TypeKind::kDouble), "400921fb54442d18", "3.1415926535897931");
  roundTrip(CqlType::scalar(TypeKind::kVarchar), "68c3a9", "\"h\xc3\xa9\"");
  roundTrip(CqlType::scalar(TypeKind::kAscii), "6869", "\"hi\"");
  roundTrip(CqlType::scalar(TypeKind::kBlob), "cafe", "0xcafe");
  roundTrip(CqlType::scalar(TypeKind::kTimestamp), "0000018bcfe56800", "1700000000000");
  roundTrip(CqlType::scalar(TypeKind::kDate), "80000001", "1");
  roundTrip(CqlType::scalar(TypeKind::kDate), "7fffffff", "-1");
  roundTrip(CqlType::scalar(TypeKind::kTime), "0000000000000001", "1");
  roundTrip(CqlType::scalar(TypeKind::kUuid), "00112233445566778899aabbccddeeff",
            "00112233-4455-6677-8899-aabbccddeeff");
  roundTrip(CqlType::scalar(TypeKind::kInet), "7f000001", "127.0.0.1");
  roundTrip(CqlType::scalar(TypeKind::kInet), "00000000000000000000000000000001", "::1");
}

TEST(ValueCodecTest, VarintDecimalDuration) {
  roundTrip(CqlType::scalar(TypeKind::kVarint), "00ff", "255");
  roundTrip(CqlType::scalar(TypeKind::kVarint), "ff01", "-255");
  roundTrip(CqlType::scalar(TypeKind::kVarint), "0100000000000000000000",
            "1208925819614629174706176");
  roundTrip(CqlType::scalar(TypeKind::kDecimal), "00000002 3039", "12345e-2");
  // 1 month, 2 days, 3 ns: zig-zag vints 2, 4, 6.
  roundTrip(CqlType::scalar(TypeKind::kDuration), "02 04 06", "1mo2d3ns");
  EXPECT_EQ(varintFromInt64(-1), hex("ff"));
  EXPECT_EQ(varintFromInt64(128), hex("0080"));
  EXPECT_EQ(varintToString(hex("80")), "-128");
}

TEST(ValueCodecTest, CollectionsTuplesAndUdts) {
  const auto list_int = typeFromOption("0020 0009");
  roundTrip(list_int, "00000002 00000004 00000001 00000004 00000002", "[1, 2]");
  const auto map_text_int = typeFromOption("0021 000d 0009");
  EXPECT_EQ(map_text_int->toString(), "map<text, int>");
  roundTrip(map_text_int, "00000001 00000001 61 00000004 00000007", "{\"a\": 7}");
  const auto set_uuid = typeFromOption("0022 000c");
  roundTrip(set_uuid, "00000000", "{}");
  const auto tuple = typeFromOption("0031 0002 0009 000d");
  EXPECT_EQ(tuple->toString(), "tuple<int, text>");
  roundTrip(tuple, "00000004 00000001 ffffffff", "(1, null)");
  const auto udt =
      typeFromOption("0030 0002 6b73 0004 61646472 0002 0003 737472 000d 0003 6e756d 0009");
  EXPECT_EQ(udt->toString(), "ks.addr");
  roundTrip(udt, "00000001 78 00000004 00000005", "{str: \"x\", num: 5}");
  // A UDT value written before a field was added stops early: the missing field is null.
  const Bytes short_udt = hex("00000001 78");
  const auto v = decodeValue(*udt, short_udt);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->toString(), "{str: \"x\", num: null}");
  const auto nested = typeFromOption("0020 0021 000d 0020 0009");
  EXPECT_EQ(nested->toString(), "list<frozen<map<text, frozen<list<int>>>>>");
}

TEST(ValueCodecTest, VectorsFromTheCustomMarshalName) {
  const auto vf = parseMarshalType(
      "org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType, 2)");
  ASSERT_TRUE(vf.has_value());
  EXPECT_EQ((*vf)->toString(), "vector<float, 2>");
  roundTrip(*vf, "3f800000 40000000", "[1, 2]");
  const auto vt = parseMarshalType(
      "org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.UTF8Type,2)");
  ASSERT_TRUE(vt.has_value());
  roundTrip(*vt, "01 61 02 6263", "[\"a\", \"bc\"]");
  const auto dur = parseMarshalType("org.apache.cassandra.db.marshal.DurationType");
  ASSERT_TRUE(dur.has_value());
  EXPECT_EQ((*dur)->kind, TypeKind::kDuration);
}

TEST(ValueCodecTest, MalformedCellsAreErrors) {
  const Bytes three = hex("000001");
  EXPECT_FALSE(decodeValue(*CqlType::scalar(TypeKind::kInt), three).has_value());
  EXPECT_FALSE(decodeValue(*CqlType::scalar(TypeKind::kUuid), three).has_value());
  EXPECT_FALSE(decodeValue(*CqlType::scalar(TypeKind::kInet), three).has_value());
  const Bytes huge_count = hex("7fffffff 00000001 00");
  EXPECT_FALSE(decodeValue(*CqlType::list(CqlType::scalar(TypeKind::kInt)), huge_count));
  const Bytes cut = hex("00000002 00000004 00000001 000000");
  EXPECT_FALSE(decodeValue(*CqlType::list(CqlType::scalar(TypeKind::kInt)), cut));
  const auto vf = parseMarshalType("VectorType(FloatType,2)");
  ASSERT_TRUE(vf.has_value());
  EXPECT_FALSE(decodeValue(**vf, three).has_value());
  // Empty numeric cells are null, as Cassandra allows them.
  const auto empty = decodeValue(*CqlType::scalar(TypeKind::kInt), {});
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->isNull());
}

TEST(ValueCodecTest, EncodingChecksRangesAndKinds) {
  Bytes out;
  EXPECT_FALSE(encodeValue(*CqlType::scalar(TypeKind::kTinyint), Value::integer(300), out));
  EXPECT_FALSE(encodeValue(*CqlType::scalar(TypeKind::kInt), Value::text("x"), out));
  ASSERT_TRUE(encodeValue(*CqlType::scalar(TypeKind::kSmallint), Value::bigint(-2), out));
  EXPECT_EQ(out, hex("fffe"));
  out.clear();
  ASSERT_TRUE(encodeValue(*CqlType::scalar(TypeKind::kVarint), Value::bigint(256), out));
  EXPECT_EQ(out, hex("0100"));
  Bytes w;
  ByteWriter writer(w);
  ASSERT_TRUE(writeValue(*CqlType::scalar(TypeKind::kInt), Value::null(), writer));
  ASSERT_TRUE(writeValue(*CqlType::scalar(TypeKind::kInt), Value::unset(), writer));
  EXPECT_EQ(w, hex("ffffffff fffffffe"));
}

TEST(ResultTest, DecodesRowsAndSurvivesEveryTruncation) {
  // Rows, global table spec ks.t, columns k int and v text, two rows (second v null).
  const Bytes body =
      hex("00000002 00000001 00000002 0002 6b73 0001 74 0001 6b 0009 0001 76 000d"
          " 00000002 00000004 00000001 00000002 6869 00000004 00000002 ffffffff");
  auto shared = std::make_shared<const Bytes>(body);
  const auto result = decodeResult(ProtocolVersion::kV4, shared, 0);
  ASSERT_TRUE(result.has_value()) << result.error().toString();
  const auto& rows = std::get<RowsResult>(*result).rows;
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows.columns()[1].name, "v");
  EXPECT_EQ(*rows[0].get<std::int32_t>(0), 1);
  EXPECT_EQ(*rows[0].get<std::string_view>(1), "hi");
  EXPECT_TRUE(rows[1].isNull(1));
  EXPECT_FALSE(rows[1].get<std::string>(1).has_value());
  EXPECT_FALSE(rows[0].get<std::int32_t>(1).has_value()) << "text is not an int";
  EXPECT_EQ(rows[1].value("k")->toString(), "2");
  for (std::size_t n = 0; n < body.size(); ++n) {
    auto cut =
        std::make_shared<const Bytes>(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(decodeResult(ProtocolVersion::kV4, cut, 0).has_value()) << n;
  }
}

}  // namespace
}  // namespace cesync::cql
