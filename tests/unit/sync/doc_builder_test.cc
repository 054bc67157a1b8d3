#include "sync/to_search/doc_builder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cql/types/value_codec.h"

namespace cesync::sync {
namespace {

using cql::Bytes;
using cql::CqlType;
using cql::TypeKind;
using cql::Value;

std::string json(const Value& v) {
  std::string out;
  util::JsonWriter w(out);
  appendValueJson(w, v);
  return out;
}

cql::UuidBytes uuidOf(std::initializer_list<std::uint8_t> b) {
  cql::UuidBytes u{};
  std::copy(b.begin(), b.end(), u.begin());
  return u;
}

TEST(DocBuilderTypesTest, Scalars) {
  EXPECT_EQ(json(Value::text("caf\xc3\xa9 \"q\"")), R"("café \"q\"")");
  EXPECT_EQ(json(Value::ascii("a")), R"("a")");
  EXPECT_EQ(json(Value::boolean(true)), "true");
  EXPECT_EQ(json(Value::tinyint(-128)), "-128");
  EXPECT_EQ(json(Value::smallint(32767)), "32767");
  EXPECT_EQ(json(Value::integer(-7)), "-7");
  EXPECT_EQ(json(Value::bigint(std::numeric_limits<std::int64_t>::max())), "9223372036854775807");
  EXPECT_EQ(json(Value::counter(12)), "12");
  EXPECT_EQ(json(Value::floating(0.1F)), "0.1");
  EXPECT_EQ(json(Value::doublePrecision(0.1)), "0.1");
  EXPECT_EQ(json(Value::doublePrecision(1e300)), "1e+300");
  EXPECT_EQ(json(Value::doublePrecision(std::nan(""))), "null");
  EXPECT_EQ(json(Value::floating(std::numeric_limits<float>::infinity())), "null");
  EXPECT_EQ(json(Value::null(TypeKind::kInt)), "null");
}

TEST(DocBuilderTypesTest, ExactNumbersAreStrings) {
  EXPECT_EQ(json(Value::varintFromInt(-123456789012345)), R"("-123456789012345")");
  // 2^70: beyond any machine integer.
  Bytes big(9, 0);
  big[0] = 0x40;
  EXPECT_EQ(json(Value::varint(big)), R"("1180591620717411303424")");
  EXPECT_EQ(json(Value::decimal({cql::varintFromInt64(12345), 2})), R"("123.45")");
  EXPECT_EQ(json(Value::decimal({cql::varintFromInt64(-12345), 2})), R"("-123.45")");
  EXPECT_EQ(json(Value::decimal({cql::varintFromInt64(12), 5})), R"("0.00012")");
  EXPECT_EQ(json(Value::decimal({cql::varintFromInt64(110), 2})), R"("1.10")");
  EXPECT_EQ(json(Value::decimal({cql::varintFromInt64(45), -3})), R"("45000")");
  EXPECT_EQ(json(Value::decimal({cql::varintFromInt64(0), 0})), R"("0")");
}

TEST(DocBuilderTypesTest, TimesAndDates) {
  EXPECT_EQ(json(Value::timestamp(0)), R"("1970-01-01T00:00:00.000Z")");
  EXPECT_EQ(json(Value::timestamp(1700000000123)), R"("2023-11-14T22:13:20.123Z")");
  EXPECT_EQ(json(Value::timestamp(-1)), R"("1969-12-31T23:59:59.999Z")");
  EXPECT_EQ(json(Value::timestamp(951782400000)), R"("2000-02-29T00:00:00.000Z")");
  EXPECT_EQ(json(Value::timestamp(253402300800000)), R"("+10000-01-01T00:00:00.000Z")");
  EXPECT_EQ(json(Value::date(0)), R"("1970-01-01")");
  EXPECT_EQ(json(Value::date(-719528)), R"("0000-01-01")");
  EXPECT_EQ(json(Value::date(19723)), R"("2024-01-01")");
  EXPECT_EQ(json(Value::date(-719529)), R"("-0001-12-31")");
  EXPECT_EQ(json(Value::time(0)), R"("00:00:00.000000000")");
  EXPECT_EQ(json(Value::time(86'399'999'999'999)), R"("23:59:59.999999999")");
  EXPECT_EQ(json(Value::duration({1, 2, 3})), R"({"months":1,"days":2,"nanoseconds":3})");
  EXPECT_EQ(json(Value::duration({-1, -2, -3})), R"({"months":-1,"days":-2,"nanoseconds":-3})");
}

TEST(DocBuilderTypesTest, UuidInetBlob) {
  EXPECT_EQ(json(Value::uuid(uuidOf({0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56,
                                     0x42, 0x66, 0x14, 0x17, 0x40, 0x00}))),
            R"("123e4567-e89b-12d3-a456-426614174000")");
  cql::InetAddress v4;
  ASSERT_TRUE(cql::InetAddress::parse("192.168.0.1", v4));
  EXPECT_EQ(json(Value::inet(v4)), R"("192.168.0.1")");
  cql::InetAddress v6;
  ASSERT_TRUE(cql::InetAddress::parse("2001:db8:0:0:0:0:0:1", v6));
  EXPECT_EQ(json(Value::inet(v6)), R"("2001:db8::1")");
  EXPECT_EQ(json(Value::blob(Bytes{0xca, 0xfe, 0x00})), R"("yv4A")");
  EXPECT_EQ(json(Value::blob(Bytes{})), R"("")");
}

TEST(DocBuilderTypesTest, CollectionsTuplesUdtsVectors) {
  EXPECT_EQ(json(Value::list({Value::integer(1), Value::integer(2)})), "[1,2]");
  EXPECT_EQ(json(Value::set({Value::text("a")})), R"(["a"])");
  EXPECT_EQ(json(Value::list({})), "[]");
  EXPECT_EQ(json(Value::tuple({Value::integer(1), Value::text("x"), Value::null()})),
            R"([1,"x",null])");
  EXPECT_EQ(json(Value::vector({Value::floating(0.5F), Value::floating(-1.25F)})), "[0.5,-1.25]");
  EXPECT_EQ(json(Value::map(
                {{Value::text("k"), Value::integer(1)}, {Value::text("q\""), Value::null()}})),
            R"({"k":1,"q\"":null})");
  EXPECT_EQ(json(Value::map({{Value::integer(7), Value::boolean(false)},
                             {Value::timestamp(0), Value::boolean(true)}})),
            R"({"7":false,"1970-01-01T00:00:00.000Z":true})");
  EXPECT_EQ(
      json(Value::map({{Value::tuple({Value::integer(1), Value::text("a")}), Value::integer(2)}})),
      R"({"[1,\"a\"]":2})");
  EXPECT_EQ(
      json(Value::udt({"street", "zip", "tags"}, {Value::text("Main"), Value::null(TypeKind::kInt),
                                                  Value::set({Value::text("home")})})),
      R"({"street":"Main","zip":null,"tags":["home"]})");
  // A UDT value written before a field was added has fewer fields than its type.
  EXPECT_EQ(json(Value::udt({"a", "b"}, {Value::integer(1)})), R"({"a":1,"b":null})");
  EXPECT_EQ(json(Value::list({Value::map({{Value::text("n"), Value::list({Value::integer(1)})}})})),
            R"([{"n":[1]}])");
}

TEST(DocBuilderTypesTest, ValueTextForIdsAndKeys) {
  EXPECT_EQ(valueText(Value::text("o'b")), "o'b");
  EXPECT_EQ(valueText(Value::integer(-3)), "-3");
  EXPECT_EQ(valueText(Value::boolean(true)), "true");
  EXPECT_EQ(valueText(Value::blob(Bytes{0xff})), "/w==");
  EXPECT_EQ(valueText(Value::date(0)), "1970-01-01");
  EXPECT_EQ(valueText(Value::list({Value::text("a")})), R"(["a"])");
}

// Builds a one-row Rows from values encoded with the real codec.
cql::Rows rowsOf(const std::vector<std::pair<std::string, Value>>& cells) {
  auto columns = std::make_shared<std::vector<cql::ColumnSpec>>();
  auto body = std::make_shared<Bytes>();
  std::vector<std::int64_t> packed;
  for (const auto& [name, value] : cells) {
    auto type = cql::inferType(value);
    columns->push_back({"ks", "t", name, type});
    const auto offset = static_cast<std::uint64_t>(body->size());
    if (value.isNull()) {
      packed.push_back(static_cast<std::int64_t>((offset << 32) | 0xFFFFFFFFULL));
      continue;
    }
    EXPECT_TRUE(cql::encodeValue(*type, value, *body));
    const auto length = static_cast<std::uint64_t>(body->size()) - offset;
    packed.push_back(static_cast<std::int64_t>((offset << 32) | length));
  }
  return cql::Rows(columns, body, std::move(packed), 1);
}

TEST(DocBuilderTest, DocumentsAndIds) {
  const cql::Rows rows = rowsOf({{"p", Value::text("o'b \xe2\x9c\x93")},
                                 {"c", Value::integer(2)},
                                 {"v", Value::null(TypeKind::kVarchar)},
                                 {"w", Value::doublePrecision(1.5)}});
  const DocBuilder composite({0, 1, 2, 3}, {0, 1}, "cesync_token", "cesync_id");
  auto id = composite.documentId(rows[0]);
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, R"(["o'b ✓",2])");
  std::string doc;
  ASSERT_TRUE(composite.appendDocument(doc, rows[0], rows.columns(), -42, *id));
  EXPECT_EQ(
      doc,
      R"({"p":"o'b ✓","c":2,"v":null,"w":1.5,"cesync_token":-42,"cesync_id":"[\"o'b ✓\",2]"})");

  const DocBuilder single({1, 3}, {0}, "", "");
  EXPECT_EQ(*single.documentId(rows[0]), "o'b ✓");
  doc.clear();
  ASSERT_TRUE(single.appendDocument(doc, rows[0], rows.columns(), 0, "o'b ✓"));
  EXPECT_EQ(doc, R"({"c":2,"w":1.5})");
}

}  // namespace
}  // namespace cesync::sync
