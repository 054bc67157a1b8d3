#include "sync/to_cassandra/doc_values.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "cql/types/value_codec.h"
#include "sync/to_search/doc_builder.h"

namespace cesync::sync {
namespace {

using cql::Bytes;
using cql::CqlType;
using cql::CqlTypePtr;
using cql::TypeKind;
using cql::Value;

CqlTypePtr scalar(TypeKind kind) {
  return CqlType::scalar(kind);
}

std::string json(const Value& v) {
  std::string out;
  util::JsonWriter w(out);
  appendValueJson(w, v);
  return out;
}

Bytes encoded(const CqlType& type, const Value& v) {
  Bytes out;
  const auto status = cql::encodeValue(type, v, out);
  EXPECT_TRUE(status) << (status ? "" : status.error().message);
  return out;
}

cql::UuidBytes uuidOf(std::initializer_list<std::uint8_t> b) {
  cql::UuidBytes u{};
  std::copy(b.begin(), b.end(), u.begin());
  return u;
}

// The forward mapping, then ours: the value must come back with the same serialized bytes.
void expectRoundTrip(const CqlTypePtr& type, const Value& v) {
  const std::string text = json(v);
  SCOPED_TRACE(type->toString() + " " + text);
  const auto back = valueFromJson(*type, text);
  ASSERT_TRUE(back) << back.error().message;
  // Custom values are held as blobs (Value has no custom kind).
  EXPECT_EQ(back->kind(), type->kind == TypeKind::kCustom ? TypeKind::kBlob : type->kind);
  EXPECT_EQ(encoded(*type, *back), encoded(*type, v));
  // And the same JSON again.
  EXPECT_EQ(json(*back), text);
}

// Parses `text` as `type` and returns its serialized bytes (empty on error, which fails the test).
Bytes parsed(const CqlTypePtr& type, std::string_view text) {
  const auto v = valueFromJson(*type, text);
  EXPECT_TRUE(v) << text << ": " << (v ? "" : v.error().message);
  if (!v || v->isNull()) {
    return {};
  }
  return encoded(*type, *v);
}

std::string errorOf(const CqlTypePtr& type, std::string_view text) {
  const auto v = valueFromJson(*type, text);
  EXPECT_FALSE(v) << text << " parsed as " << (v ? v->toString() : "");
  return v ? "" : v.error().message;
}

TEST(DocValuesTest, RoundTripsTextBooleanIntegers) {
  expectRoundTrip(scalar(TypeKind::kVarchar), Value::text("caf\xc3\xa9 \"q\" \\ \n ✓ 😀"));
  expectRoundTrip(scalar(TypeKind::kVarchar), Value::text(""));
  expectRoundTrip(scalar(TypeKind::kAscii), Value::ascii("plain ascii"));
  expectRoundTrip(scalar(TypeKind::kBoolean), Value::boolean(true));
  expectRoundTrip(scalar(TypeKind::kBoolean), Value::boolean(false));
  expectRoundTrip(scalar(TypeKind::kTinyint), Value::tinyint(-128));
  expectRoundTrip(scalar(TypeKind::kTinyint), Value::tinyint(127));
  expectRoundTrip(scalar(TypeKind::kSmallint), Value::smallint(-32768));
  expectRoundTrip(scalar(TypeKind::kSmallint), Value::smallint(32767));
  expectRoundTrip(scalar(TypeKind::kInt), Value::integer(std::numeric_limits<std::int32_t>::min()));
  expectRoundTrip(scalar(TypeKind::kInt), Value::integer(std::numeric_limits<std::int32_t>::max()));
  expectRoundTrip(scalar(TypeKind::kBigint),
                  Value::bigint(std::numeric_limits<std::int64_t>::min()));
  expectRoundTrip(scalar(TypeKind::kBigint),
                  Value::bigint(std::numeric_limits<std::int64_t>::max()));
  expectRoundTrip(scalar(TypeKind::kBigint), Value::bigint(0));
  expectRoundTrip(scalar(TypeKind::kCounter), Value::counter(-12));
}

TEST(DocValuesTest, RoundTripsFloatingPoint) {
  for (const float f : {0.1F, -0.0F, 1.0F, 3.4028235e38F, -1.17549435e-38F, 1e-45F}) {
    expectRoundTrip(scalar(TypeKind::kFloat), Value::floating(f));
  }
  for (const double d : {0.1, -2.5, 1e300, 5e-324, std::numeric_limits<double>::max(),
                         1.7976931348623157e308, 123456789.123456789}) {
    expectRoundTrip(scalar(TypeKind::kDouble), Value::doublePrecision(d));
  }
}

TEST(DocValuesTest, NonFiniteFloatsComeBackAsNull) {
  // The forward mapping writes NaN and infinities as null (JSON has no spelling for them).
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const auto kind : {TypeKind::kFloat, TypeKind::kDouble}) {
    const auto back = valueFromJson(*scalar(kind), json(Value::doublePrecision(nan)));
    ASSERT_TRUE(back);
    EXPECT_TRUE(back->isNull());
    EXPECT_EQ(back->kind(), kind);
  }
  const auto inf =
      valueFromJson(*scalar(TypeKind::kDouble),
                    json(Value::doublePrecision(std::numeric_limits<double>::infinity())));
  ASSERT_TRUE(inf);
  EXPECT_TRUE(inf->isNull());
}

TEST(DocValuesTest, RoundTripsVarintAndDecimal) {
  const auto varint = scalar(TypeKind::kVarint);
  // 2^70 and -2^70, and the byte-boundary values where the sign byte appears.
  expectRoundTrip(varint, Value::varint(Bytes{0x40, 0, 0, 0, 0, 0, 0, 0, 0}));
  expectRoundTrip(varint, Value::varint(Bytes{0xC0, 0, 0, 0, 0, 0, 0, 0, 0}));
  for (const std::int64_t n :
       {std::int64_t{0}, std::int64_t{-1}, std::int64_t{127}, std::int64_t{128}, std::int64_t{-128},
        std::int64_t{-129}, std::int64_t{255}, std::int64_t{-256}, std::int64_t{-32768},
        std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}) {
    expectRoundTrip(varint, Value::varintFromInt(n));
  }
  EXPECT_EQ(parsed(varint, R"("1180591620717411303424")"), (Bytes{0x40, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(parsed(varint, R"("-1180591620717411303424")"), (Bytes{0xC0, 0, 0, 0, 0, 0, 0, 0, 0}));

  const auto decimal = scalar(TypeKind::kDecimal);
  expectRoundTrip(decimal, Value::decimal({cql::varintFromInt64(12345), 2}));  // 123.45
  expectRoundTrip(decimal, Value::decimal({cql::varintFromInt64(110), 2}));    // 1.10
  expectRoundTrip(decimal, Value::decimal({cql::varintFromInt64(-12), 5}));    // -0.00012
  expectRoundTrip(decimal, Value::decimal({cql::varintFromInt64(45000), 0}));  // 45000
  expectRoundTrip(decimal, Value::decimal({cql::varintFromInt64(0), 0}));
  expectRoundTrip(decimal, Value::decimal({Bytes{0x80, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 30}));
}

TEST(DocValuesTest, RoundTripsTimesAndDates) {
  const auto ts = scalar(TypeKind::kTimestamp);
  for (const std::int64_t ms : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1'700'000'000'123},
                                std::int64_t{253'402'300'800'000},  // 10000-01-01
                                std::int64_t{-62'167'219'200'001},  // 1 ms before 0000-01-01
                                std::int64_t{-62'198'755'200'000},  // -0001-01-01
                                std::int64_t{8'210'298'412'799'999}}) {
    expectRoundTrip(ts, Value::timestamp(ms));
  }
  const auto date = scalar(TypeKind::kDate);
  for (const std::int32_t days :
       {0, -1, 19'723, 2'932'897, -719'529, 10'000'000, std::numeric_limits<std::int32_t>::min(),
        std::numeric_limits<std::int32_t>::max()}) {
    expectRoundTrip(date, Value::date(days));
  }
  const auto time = scalar(TypeKind::kTime);
  expectRoundTrip(time, Value::time(0));
  expectRoundTrip(time, Value::time(86'399'999'999'999));
  expectRoundTrip(time, Value::time(1'000'000'001));
  const auto duration = scalar(TypeKind::kDuration);
  expectRoundTrip(duration, Value::duration({1, 2, 3}));
  expectRoundTrip(duration, Value::duration({-1, -2, std::numeric_limits<std::int64_t>::min()}));
  expectRoundTrip(duration, Value::duration({0, 0, 0}));
}

TEST(DocValuesTest, RoundTripsUuidInetBlobCustom) {
  const auto id = uuidOf({0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66,
                          0x14, 0x17, 0x40, 0x00});
  expectRoundTrip(scalar(TypeKind::kUuid), Value::uuid(id));
  expectRoundTrip(scalar(TypeKind::kTimeuuid), Value::timeuuid(id));
  for (const char* text :
       {"192.168.0.1", "0.0.0.0", "2001:db8::1", "::", "::ffff:1.2.3.4", "fe80::1:2:3:4"}) {
    cql::InetAddress address;
    ASSERT_TRUE(cql::InetAddress::parse(text, address));
    expectRoundTrip(scalar(TypeKind::kInet), Value::inet(address));
  }
  expectRoundTrip(scalar(TypeKind::kBlob), Value::blob(Bytes{0xCA, 0xFE, 0x00}));
  expectRoundTrip(scalar(TypeKind::kBlob), Value::blob(Bytes{}));
  expectRoundTrip(scalar(TypeKind::kCustom), Value::blob(Bytes{1, 2, 3, 4, 5}));
}

TEST(DocValuesTest, RoundTripsCollectionsTuplesVectorsUdts) {
  const auto int_t = scalar(TypeKind::kInt);
  const auto text_t = scalar(TypeKind::kVarchar);
  expectRoundTrip(CqlType::list(int_t), Value::list({Value::integer(1), Value::integer(-2)}));
  expectRoundTrip(CqlType::list(int_t), Value::list({}));
  expectRoundTrip(CqlType::set(text_t), Value::set({Value::text("b"), Value::text("a")}));
  expectRoundTrip(CqlType::map(int_t, scalar(TypeKind::kBoolean)),
                  Value::map({{Value::integer(7), Value::boolean(false)},
                              {Value::integer(-1), Value::boolean(true)}}));
  expectRoundTrip(CqlType::map(text_t, int_t), Value::map({}));
  expectRoundTrip(CqlType::map(scalar(TypeKind::kTimestamp), text_t),
                  Value::map({{Value::timestamp(1'700'000'000'123), Value::text("x")}}));
  expectRoundTrip(CqlType::map(scalar(TypeKind::kDate), scalar(TypeKind::kTime)),
                  Value::map({{Value::date(-1), Value::time(5)}}));
  expectRoundTrip(CqlType::map(scalar(TypeKind::kBlob), scalar(TypeKind::kDecimal)),
                  Value::map({{Value::blob(Bytes{0xFF}), Value::decimal({Bytes{0x6E}, 2})}}));
  expectRoundTrip(CqlType::map(scalar(TypeKind::kDouble), scalar(TypeKind::kVarint)),
                  Value::map({{Value::doublePrecision(0.5), Value::varintFromInt(-5)}}));
  cql::InetAddress address;
  ASSERT_TRUE(cql::InetAddress::parse("2001:db8::1", address));
  expectRoundTrip(CqlType::map(scalar(TypeKind::kInet), scalar(TypeKind::kUuid)),
                  Value::map({{Value::inet(address), Value::uuid(cql::UuidBytes{})}}));
  // Frozen keys are written as their compact JSON.
  const auto pair_t = CqlType::tuple({int_t, text_t});
  expectRoundTrip(
      CqlType::map(pair_t, int_t),
      Value::map({{Value::tuple({Value::integer(1), Value::text("a")}), Value::integer(2)}}));
  expectRoundTrip(
      CqlType::map(CqlType::list(int_t), text_t),
      Value::map({{Value::list({Value::integer(1), Value::integer(2)}), Value::text("v")}}));
  expectRoundTrip(CqlType::tuple({int_t, text_t, scalar(TypeKind::kBoolean)}),
                  Value::tuple({Value::integer(1), Value::text("x"), Value::null()}));
  expectRoundTrip(
      CqlType::vector(scalar(TypeKind::kFloat), 3),
      Value::vector({Value::floating(0.5F), Value::floating(-1.25F), Value::floating(0.1F)}));
  expectRoundTrip(CqlType::list(CqlType::map(text_t, CqlType::list(int_t))),
                  Value::list({Value::map({{Value::text("k"), Value::list({Value::integer(3)})}}),
                               Value::map({})}));

  const auto address_t = CqlType::udt("ks", "address", {"street", "zip", "tags"},
                                      {text_t, int_t, CqlType::set(text_t)});
  const auto person_t =
      CqlType::udt("ks", "person", {"name", "home", "where"}, {text_t, address_t, pair_t});
  expectRoundTrip(
      person_t,
      Value::udt({"name", "home", "where"},
                 {Value::text("Ann"),
                  Value::udt({"street", "zip", "tags"},
                             {Value::text("Main"), Value::null(), Value::set({Value::text("t")})}),
                  Value::tuple({Value::integer(4), Value::null()})}));
}

TEST(DocValuesTest, NullForEveryType) {
  for (const auto kind : {TypeKind::kVarchar, TypeKind::kInt, TypeKind::kDecimal,
                          TypeKind::kTimestamp, TypeKind::kUuid, TypeKind::kDuration}) {
    const auto v = valueFromJson(*scalar(kind), "null");
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->isNull());
    EXPECT_EQ(v->kind(), kind);
  }
  const auto list = valueFromJson(*CqlType::list(scalar(TypeKind::kInt)), " null ");
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->isNull());
}

TEST(DocValuesTest, LenientBooleansAndIntegers) {
  const auto boolean = scalar(TypeKind::kBoolean);
  EXPECT_EQ(parsed(boolean, R"("true")"), Bytes{1});
  EXPECT_EQ(parsed(boolean, R"("false")"), Bytes{0});
  const auto int_t = scalar(TypeKind::kInt);
  const Bytes forty_two{0, 0, 0, 42};
  EXPECT_EQ(parsed(int_t, "42"), forty_two);
  EXPECT_EQ(parsed(int_t, R"("42")"), forty_two);
  EXPECT_EQ(parsed(int_t, "42.0"), forty_two);
  EXPECT_EQ(parsed(int_t, "4.2e1"), forty_two);
  EXPECT_EQ(parsed(int_t, R"("+42")"), forty_two);
  EXPECT_EQ(parsed(int_t, "-0"), (Bytes{0, 0, 0, 0}));
  EXPECT_EQ(parsed(scalar(TypeKind::kBigint), R"("-9223372036854775808")"),
            (Bytes{0x80, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(parsed(scalar(TypeKind::kVarint), "1e3"), (Bytes{0x03, 0xE8}));
  EXPECT_EQ(parsed(scalar(TypeKind::kVarint), "18446744073709551616"),
            (Bytes{0x01, 0, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(DocValuesTest, LenientText) {
  // The engines index a number or boolean given for a text field as its text; so do we.
  EXPECT_EQ(valueFromJson(*scalar(TypeKind::kVarchar), "12.50")->asString(), "12.50");
  EXPECT_EQ(valueFromJson(*scalar(TypeKind::kVarchar), "-1e3")->asString(), "-1e3");
  EXPECT_EQ(valueFromJson(*scalar(TypeKind::kAscii), "false")->asString(), "false");
  EXPECT_EQ(valueFromJson(*scalar(TypeKind::kVarchar), "true")->kind(), TypeKind::kVarchar);
}

TEST(DocValuesTest, LenientFloatingPoint) {
  const auto d = scalar(TypeKind::kDouble);
  const auto value = [&](std::string_view text) {
    const auto v = valueFromJson(*d, text);
    EXPECT_TRUE(v) << text;
    return v ? v->asDouble() : 0.0;
  };
  EXPECT_EQ(value(R"("1.5")"), 1.5);
  EXPECT_EQ(value("7"), 7.0);
  EXPECT_EQ(value(R"(".5")"), 0.5);
  EXPECT_EQ(value(R"("-Infinity")"), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(value(R"("NaN")")));
  const auto f = valueFromJson(*scalar(TypeKind::kFloat), "0.1");
  ASSERT_TRUE(f);
  EXPECT_EQ(static_cast<float>(f->asDouble()), 0.1F);
}

TEST(DocValuesTest, DecimalsKeepTheirScale) {
  const auto decimal = scalar(TypeKind::kDecimal);
  const auto parts = [&](std::string_view text) {
    const auto v = valueFromJson(*decimal, text);
    EXPECT_TRUE(v) << text << ": " << (v ? "" : v.error().message);
    return v ? v->asDecimal() : cql::Decimal{};
  };
  EXPECT_EQ(parts("1.10"), (cql::Decimal{Bytes{110}, 2}));  // a JSON number, by its text
  EXPECT_EQ(parts(R"("1.10")"), (cql::Decimal{Bytes{110}, 2}));
  EXPECT_EQ(parts(R"("4.5E+4")"), (cql::Decimal{Bytes{45}, -3}));
  EXPECT_EQ(parts(R"("-1.5e-3")"), (cql::Decimal{cql::varintFromInt64(-15), 4}));
  EXPECT_EQ(
      parts("123456789012345678901234567890.5"),
      (cql::Decimal{
          Bytes{0x0F, 0x95, 0x1A, 0x9F, 0xA3, 0xA2, 0x86, 0xC9, 0x4F, 0x0E, 0x76, 0x6C, 0x39}, 1}));
}

TEST(DocValuesTest, LenientTimestamps) {
  const auto ts = scalar(TypeKind::kTimestamp);
  const auto millis = [&](std::string_view text) {
    const auto v = valueFromJson(*ts, text);
    EXPECT_TRUE(v) << text << ": " << (v ? "" : v.error().message);
    return v ? v->asInt() : std::int64_t{-42};
  };
  constexpr std::int64_t kBase = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
  EXPECT_EQ(millis(R"("2023-11-14T22:13:20.123Z")"), kBase + 123);
  EXPECT_EQ(millis(R"("2023-11-14T22:13:20Z")"), kBase);
  EXPECT_EQ(millis(R"("2023-11-14T22:13:20")"), kBase);
  EXPECT_EQ(millis(R"("2023-11-14T22:13:20.1Z")"), kBase + 100);
  EXPECT_EQ(millis(R"("2023-11-14T22:13:20.123456789Z")"), kBase + 123);
  EXPECT_EQ(millis(R"("2023-11-15T00:13:20.123+02:00")"), kBase + 123);
  EXPECT_EQ(millis(R"("2023-11-14T20:13:20-0200")"), kBase);
  EXPECT_EQ(millis(R"("2023-11-15T00:13:20+02")"), kBase);
  EXPECT_EQ(millis(R"("2023-11-14 22:13:20Z")"), kBase);
  EXPECT_EQ(millis(R"("2023-11-14T22:13Z")"), kBase - 20'000);
  EXPECT_EQ(millis(R"("2024-01-01")"), 1'704'067'200'000);
  EXPECT_EQ(millis(R"("+10000-01-01T00:00:00.000Z")"), 253'402'300'800'000);
  EXPECT_EQ(millis(R"("-0001-12-31T23:59:59.999Z")"), -62'167'219'200'001);
  EXPECT_EQ(millis("1700000000123"), kBase + 123);
  EXPECT_EQ(millis("-1"), -1);
}

TEST(DocValuesTest, LenientDatesTimesUuidsDurations) {
  const auto date = scalar(TypeKind::kDate);
  for (const char* text : {R"("2024-01-01")", R"("2024-01-01T00:00:00Z")",
                           R"("2024-01-01T02:00:00+02:00")", "1704067200000"}) {
    const auto v = valueFromJson(*date, text);
    ASSERT_TRUE(v) << text << ": " << v.error().message;
    EXPECT_EQ(v->asInt(), 19'723) << text;
  }
  const auto time = valueFromJson(*scalar(TypeKind::kTime), "3000000000");
  ASSERT_TRUE(time);
  EXPECT_EQ(time->asInt(), 3'000'000'000);
  const auto short_fraction = valueFromJson(*scalar(TypeKind::kTime), R"("10:00:00.5")");
  ASSERT_TRUE(short_fraction);
  EXPECT_EQ(short_fraction->asInt(), 36'000'500'000'000);

  const auto upper =
      valueFromJson(*scalar(TypeKind::kUuid), R"("123E4567-E89B-12D3-A456-426614174000")");
  ASSERT_TRUE(upper);
  EXPECT_EQ(json(*upper), R"("123e4567-e89b-12d3-a456-426614174000")");

  const auto partial = valueFromJson(*scalar(TypeKind::kDuration), R"({"days":3})");
  ASSERT_TRUE(partial);
  EXPECT_EQ(partial->asDuration(), (cql::Duration{0, 3, 0}));
}

TEST(DocValuesTest, LenientCollectionsTuplesUdts) {
  const auto int_t = scalar(TypeKind::kInt);
  const auto text_t = scalar(TypeKind::kVarchar);
  // A lone value stands for a one-element list or set, as the search engines read it.
  EXPECT_EQ(json(*valueFromJson(*CqlType::list(int_t), "5")), "[5]");
  EXPECT_EQ(json(*valueFromJson(*CqlType::set(text_t), R"("a")")), R"(["a"])");
  // Sets keep the order given, duplicates included (Cassandra folds them).
  EXPECT_EQ(json(*valueFromJson(*CqlType::set(int_t), "[3,1,3]")), "[3,1,3]");
  // A short tuple is padded with nulls.
  const auto tuple = valueFromJson(*CqlType::tuple({int_t, text_t, int_t}), "[1]");
  ASSERT_TRUE(tuple);
  EXPECT_EQ(json(*tuple), "[1,null,null]");
  // UDT fields may be missing (null) and come in any order.
  const auto udt_t = CqlType::udt("ks", "u", {"a", "b", "c"}, {int_t, text_t, int_t});
  const auto udt = valueFromJson(*udt_t, R"({"c":3,"a":1})");
  ASSERT_TRUE(udt);
  EXPECT_EQ(json(*udt), R"({"a":1,"b":null,"c":3})");
  // Map keys in their text form, for each key type.
  const auto keyed =
      valueFromJson(*CqlType::map(scalar(TypeKind::kBoolean), int_t), R"({"true":1,"false":0})");
  ASSERT_TRUE(keyed);
  EXPECT_EQ(keyed->entries().size(), 2U);
}

TEST(DocValuesTest, TextFormIsTheInverseOfValueText) {
  const auto pair_t = CqlType::tuple({scalar(TypeKind::kInt), scalar(TypeKind::kVarchar)});
  const Value pair = Value::tuple({Value::integer(1), Value::text("a")});
  const auto back = valueFromText(*pair_t, valueText(pair));
  ASSERT_TRUE(back);
  EXPECT_EQ(encoded(*pair_t, *back), encoded(*pair_t, pair));
  const auto ts = valueFromText(*scalar(TypeKind::kTimestamp), "2023-11-14T22:13:20.123Z");
  ASSERT_TRUE(ts);
  EXPECT_EQ(ts->asInt(), 1'700'000'000'123);
  const auto text = valueFromText(*scalar(TypeKind::kVarchar), "[not json]");
  ASSERT_TRUE(text);
  EXPECT_EQ(text->asString(), "[not json]");
}

TEST(DocValuesErrorsTest, ScalarsSayWhatWasExpectedAndFound) {
  EXPECT_EQ(errorOf(scalar(TypeKind::kInt), R"("abc")"),
            R"(expected an integer for int, got "abc")");
  EXPECT_EQ(errorOf(scalar(TypeKind::kInt), "true"), "expected an integer for int, got true");
  EXPECT_EQ(errorOf(scalar(TypeKind::kInt), "[1]"), "expected an integer for int, got an array");
  EXPECT_EQ(errorOf(scalar(TypeKind::kInt), "1.5"),
            "expected an integer for int, got 1.5 (a fraction)");
  EXPECT_EQ(errorOf(scalar(TypeKind::kInt), "2147483648"),
            "2147483648 is out of range for int (-2147483648 to 2147483647)");
  EXPECT_EQ(errorOf(scalar(TypeKind::kTinyint), R"("-129")"),
            R"("-129" is out of range for tinyint (-128 to 127))");
  EXPECT_EQ(errorOf(scalar(TypeKind::kBigint), "9223372036854775808"),
            "9223372036854775808 is out of range for bigint (-9223372036854775808 to "
            "9223372036854775807)");
  EXPECT_EQ(errorOf(scalar(TypeKind::kBigint), "1e30"),
            "1e30 is out of range for bigint (-9223372036854775808 to 9223372036854775807)");
  EXPECT_EQ(errorOf(scalar(TypeKind::kVarchar), "[12]"),
            "expected a string for text, got an array");
  EXPECT_EQ(errorOf(scalar(TypeKind::kVarchar), R"({"a":1})"),
            "expected a string for text, got an object");
  EXPECT_EQ(errorOf(scalar(TypeKind::kAscii), R"("café")"),
            R"(expected ASCII text for ascii, got "café")");
  EXPECT_EQ(errorOf(scalar(TypeKind::kBoolean), R"("yes")"),
            R"(expected true or false for boolean, got "yes")");
  EXPECT_EQ(errorOf(scalar(TypeKind::kFloat), "1e39"), "1e39 is out of range for float");
  EXPECT_EQ(errorOf(scalar(TypeKind::kDouble), R"("1,5")"),
            R"(expected a number for double, got "1,5")");
  EXPECT_EQ(errorOf(scalar(TypeKind::kVarint), R"("12a")"),
            R"(expected an integer for varint, got "12a")");
  EXPECT_EQ(errorOf(scalar(TypeKind::kDecimal), R"("1.2.3")"),
            R"(expected a decimal number for decimal, got "1.2.3")");
  EXPECT_EQ(errorOf(scalar(TypeKind::kUuid), R"("123e4567-e89b-12d3-a456-42661417400")"),
            R"(expected a uuid for uuid, got "123e4567-e89b-12d3-a456-42661417400")");
  EXPECT_EQ(errorOf(scalar(TypeKind::kUuid), R"("123e4567e89b12d3a456426614174000")"),
            R"(expected a uuid for uuid, got "123e4567e89b12d3a456426614174000")");
  EXPECT_EQ(errorOf(scalar(TypeKind::kTimeuuid), R"("123e4567-e89b-42d3-a456-426614174000")"),
            "expected a version 1 uuid for timeuuid, got "
            R"("123e4567-e89b-42d3-a456-426614174000" (version 4))");
  EXPECT_EQ(errorOf(scalar(TypeKind::kInet), R"("300.1.1.1")"),
            R"(expected an IPv4 or IPv6 address for inet, got "300.1.1.1")");
  EXPECT_EQ(errorOf(scalar(TypeKind::kBlob), R"("yv4")"),
            R"(expected a base64 string for blob, got "yv4")");
  EXPECT_EQ(errorOf(scalar(TypeKind::kBlob), R"("yv4*")"),
            R"(expected a base64 string for blob, got "yv4*")");
}

TEST(DocValuesErrorsTest, HugeNumbersAreRefusedCheaply) {
  EXPECT_EQ(errorOf(scalar(TypeKind::kVarint), "1e999999999"),
            "1e999999999 has more than 10000 digits, too large for varint");
  const std::string many(10'001, '7');
  const std::string error = errorOf(scalar(TypeKind::kDecimal), "\"" + many + ".5\"");
  EXPECT_NE(error.find("has more than 10000 digits, too large for decimal"), std::string::npos);
  // Messages quote at most 64 bytes of the value, cut on a character boundary.
  EXPECT_EQ(error.substr(0, 73), "\"" + std::string(64, '7') + "...\" has");
  EXPECT_EQ(errorOf(scalar(TypeKind::kDecimal), "1e9999999999"),
            R"(expected a decimal number for decimal, got 1e9999999999)");
  // A tiny exponent costs nothing: it only sets the scale.
  EXPECT_EQ(valueFromJson(*scalar(TypeKind::kDecimal), "1e-999999999")->asDecimal(),
            (cql::Decimal{Bytes{1}, 999'999'999}));
  const std::string accents = errorOf(scalar(TypeKind::kInt), "\"" + std::string(63, 'a') + "é\"");
  EXPECT_EQ(accents, "expected an integer for int, got \"" + std::string(63, 'a') + "...\"");
  // The largest varint under the cap converts.
  EXPECT_TRUE(valueFromJson(*scalar(TypeKind::kVarint), "\"" + std::string(10'000, '9') + "\""));
}

TEST(DocValuesErrorsTest, TimesAndDates) {
  const auto ts = scalar(TypeKind::kTimestamp);
  EXPECT_EQ(errorOf(ts, R"("2023-02-29T00:00:00Z")"),
            R"(expected an ISO-8601 timestamp or epoch milliseconds for timestamp, got )"
            R"("2023-02-29T00:00:00Z")");
  EXPECT_EQ(errorOf(ts, R"("14/11/2023")"),
            R"(expected an ISO-8601 timestamp or epoch milliseconds for timestamp, got )"
            R"("14/11/2023")");
  EXPECT_FALSE(valueFromJson(*ts, R"("2023-11-14T24:00:00Z")"));
  EXPECT_FALSE(valueFromJson(*ts, R"("2023-11-14T22:13:20.Z")"));
  EXPECT_FALSE(valueFromJson(*ts, R"("2023-11-14T22:13:20.1234567891Z")"));
  EXPECT_FALSE(valueFromJson(*ts, R"("2023-11-14T22:13:20Zjunk")"));
  EXPECT_FALSE(valueFromJson(*ts, R"("+999999999-01-01T00:00:00Z")"));  // beyond int64 ms
  EXPECT_EQ(errorOf(ts, "1.5"),
            "expected an ISO-8601 timestamp or epoch milliseconds for timestamp, got 1.5 (a "
            "fraction)");
  const auto date = scalar(TypeKind::kDate);
  EXPECT_EQ(errorOf(date, R"("2024-13-01")"),
            R"(expected a date YYYY-MM-DD for date, got "2024-13-01")");
  EXPECT_EQ(
      errorOf(date, R"("2024-01-01T10:00:00Z")"),
      R"(expected a date YYYY-MM-DD for date, got "2024-01-01T10:00:00Z" (not midnight UTC))");
  EXPECT_EQ(errorOf(date, R"("+999999999-01-01")"),
            R"("+999999999-01-01" is out of range for date)");
  const auto time = scalar(TypeKind::kTime);
  EXPECT_EQ(errorOf(time, R"("25:00:00")"),
            R"(expected a time HH:MM:SS[.fffffffff] for time, got "25:00:00")");
  EXPECT_EQ(errorOf(time, R"("10:00")"),
            R"(expected a time HH:MM:SS[.fffffffff] for time, got "10:00")");
  EXPECT_EQ(errorOf(time, "86400000000000"),
            "86400000000000 is out of range for time (0 to 86399999999999)");
  const auto duration = scalar(TypeKind::kDuration);
  EXPECT_EQ(errorOf(duration, R"("1d")"),
            R"(expected an object {months, days, nanoseconds} for duration, got "1d")");
  EXPECT_EQ(errorOf(duration, R"({"weeks":1})"),
            R"(unknown field "weeks" in duration (expected months, days, nanoseconds))");
  EXPECT_EQ(errorOf(duration, R"({"months":1,"days":-1})"),
            "the parts of a duration must not have different signs");
  EXPECT_EQ(errorOf(duration, R"({"months":3000000000})"),
            "months: 3000000000 is out of range for int (-2147483648 to 2147483647)");
}

TEST(DocValuesErrorsTest, CollectionsNameTheElement) {
  const auto int_t = scalar(TypeKind::kInt);
  EXPECT_EQ(errorOf(CqlType::list(int_t), R"([1,"x"])"),
            R"(element 1: expected an integer for int, got "x")");
  EXPECT_EQ(errorOf(CqlType::list(int_t), "[1,null]"),
            "element 1: null is not allowed inside list<int>");
  // NaN is written as null by the forward mapping, and so cannot come back inside a collection.
  EXPECT_EQ(errorOf(CqlType::list(scalar(TypeKind::kDouble)),
                    json(Value::list({Value::doublePrecision(std::nan(""))}))),
            "element 0: null is not allowed inside list<double>");
  EXPECT_EQ(errorOf(CqlType::map(int_t, int_t), R"({"1":null})"),
            R"(value of key "1": null is not allowed inside map<int, int>)");
  EXPECT_EQ(errorOf(CqlType::vector(scalar(TypeKind::kFloat), 2), "[1,null]"),
            "element 1: null is not allowed inside vector<float, 2>");
  EXPECT_EQ(errorOf(CqlType::list(int_t), R"({"a":1})"),
            "expected an array for list<int>, got an object");
  EXPECT_EQ(errorOf(CqlType::vector(scalar(TypeKind::kFloat), 3), "[1,2]"),
            "expected 3 elements for vector<float, 3>, got 2");
  EXPECT_EQ(errorOf(CqlType::vector(scalar(TypeKind::kFloat), 2), "[1,2,3,4]"),
            "expected 2 elements for vector<float, 2>, got 4");
  EXPECT_EQ(errorOf(CqlType::tuple({int_t}), "[1,2]"),
            "expected at most 1 components for tuple<int>, got 2");
  EXPECT_EQ(errorOf(CqlType::map(int_t, int_t), R"({"x":1})"),
            R"(key "x": expected an integer for int, got "x")");
  EXPECT_EQ(errorOf(CqlType::map(int_t, int_t), R"({"1":"y"})"),
            R"(value of key "1": expected an integer for int, got "y")");
  const auto udt_t =
      CqlType::udt("ks", "address", {"street", "zip"}, {scalar(TypeKind::kVarchar), int_t});
  const std::string udt_error = errorOf(udt_t, R"({"street":"Main","city":"X"})");
  EXPECT_NE(udt_error.find(R"(unknown field "city")"), std::string::npos) << udt_error;
  EXPECT_EQ(errorOf(udt_t, R"({"zip":"abc"})"),
            R"(field zip: expected an integer for int, got "abc")");
  EXPECT_FALSE(valueFromJson(*int_t, "1 2"));
  EXPECT_FALSE(valueFromJson(*int_t, "[1"));
  EXPECT_FALSE(valueFromJson(*int_t, ""));
}

TableSchema testSchema() {
  TableSchema schema;
  schema.keyspace = "shop";
  schema.table = "items";
  const auto column = [&](std::string name, CqlTypePtr type) {
    schema.columns.push_back(cql::ColumnSpec{"shop", "items", std::move(name), std::move(type)});
  };
  column("id", scalar(TypeKind::kInt));
  column("sku", scalar(TypeKind::kVarchar));
  column("price", scalar(TypeKind::kDecimal));
  column("tags", CqlType::set(scalar(TypeKind::kVarchar)));
  column("seen", scalar(TypeKind::kTimestamp));
  schema.partition_key = {"id"};
  schema.clustering = {"sku"};
  return schema;
}

TEST(DocValuesRowTest, ColumnsByNameAbsentIsUnsetNullIsNull) {
  DocValues reader(testSchema());
  const auto row = reader.row(R"({"price":"1.10","sku":"a-1","id":7,"tags":null,"cesync_token":-5,)"
                              R"("cesync_id":"[7,\"a-1\"]","deleted":true,"extra":{"x":[1,2]}})");
  ASSERT_TRUE(row) << row.error().message;
  ASSERT_EQ(row->size(), 5U);
  EXPECT_EQ((*row)[0], Value::integer(7));
  EXPECT_EQ((*row)[1], Value::text("a-1"));
  EXPECT_EQ((*row)[2], Value::decimal({Bytes{110}, 2}));
  EXPECT_TRUE((*row)[3].isNull());
  EXPECT_FALSE((*row)[3].isUnset());
  EXPECT_TRUE((*row)[4].isUnset());

  // The reader is reused; the second document does not see the first.
  const auto second = reader.row(R"({"id":8,"sku":"b","seen":"2024-01-01"})");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ((*second)[0], Value::integer(8));
  EXPECT_TRUE((*second)[2].isUnset());
  EXPECT_EQ((*second)[4], Value::timestamp(1'704'067'200'000));
}

TEST(DocValuesRowTest, RoundTripsADocumentBuiltByTheForwardPath) {
  const TableSchema schema = testSchema();
  const std::vector<Value> values = {
      Value::integer(-3), Value::text("o'b ✓"), Value::decimal({cql::varintFromInt64(-12345), 3}),
      Value::set({Value::text("x"), Value::text("y")}), Value::timestamp(-62'198'755'200'000)};
  std::string doc = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    doc += (i ? ",\"" : "\"") + schema.columns[i].name + "\":" + json(values[i]);
  }
  doc += ",\"cesync_token\":1}";
  const auto row = rowFromDocument(schema, doc);
  ASSERT_TRUE(row) << row.error().message;
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(encoded(*schema.columns[i].type, (*row)[i]),
              encoded(*schema.columns[i].type, values[i]))
        << schema.columns[i].name;
  }
}

std::string rowError(std::string_view doc) {
  const auto row = rowFromDocument(testSchema(), doc);
  EXPECT_FALSE(row) << doc;
  return row ? "" : row.error().message;
}

TEST(DocValuesRowTest, ErrorsNameTheColumn) {
  EXPECT_EQ(rowError(R"({"id":1,"sku":"a","price":"cheap"})"),
            R"(column price: expected a decimal number for decimal, got "cheap")");
  EXPECT_EQ(rowError(R"({"id":"x","sku":"a"})"),
            R"(column id: expected an integer for int, got "x")");
  EXPECT_EQ(rowError(R"({"id":1,"sku":"a","tags":["a",{"b":7}]})"),
            "column tags: element 1: expected a string for text, got an object");
  EXPECT_EQ(rowError(R"({"id":1,"sku":"a","seen":"yesterday"})"),
            "column seen: expected an ISO-8601 timestamp or epoch milliseconds for timestamp, "
            R"(got "yesterday")");
  EXPECT_EQ(rowError(R"({"id":1})"), "column sku: primary key column missing from the document");
  EXPECT_EQ(rowError(R"({"sku":"a"})"), "column id: primary key column missing from the document");
  EXPECT_EQ(rowError(R"({"id":null,"sku":"a"})"), "column id: primary key column is null");
  EXPECT_EQ(rowError(R"({"id":1,"sku":"a","id":2})"), "column id: appears twice in the document");
  EXPECT_EQ(rowError(R"([1,2])"), "document: expected a JSON object");
  EXPECT_NE(rowError(R"({"id":1,"sku":"a",)").find("invalid JSON"), std::string::npos)
      << rowError(R"({"id":1,"sku":"a",)");
}

}  // namespace
}  // namespace cesync::sync
