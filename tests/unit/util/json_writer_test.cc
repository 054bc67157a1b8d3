#include "util/json_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace cesync::util {
namespace {

std::string escaped(std::string_view s) {
  std::string out;
  appendJsonEscaped(out, s);
  return out;
}

TEST(JsonEscapeTest, PlainTextIsCopied) {
  EXPECT_EQ(escaped("hello world 123 ~!@#$%^&*()"), "hello world 123 ~!@#$%^&*()");
  EXPECT_EQ(escaped(""), "");
}

TEST(JsonEscapeTest, QuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(escaped("a\"b\\c/d"), R"(a\"b\\c/d)");
  EXPECT_EQ(escaped("\n\r\t\b\f"), R"(\n\r\t\b\f)");
  EXPECT_EQ(escaped(std::string("\x00\x01\x1f\x7f", 4)), "\\u0000\\u0001\\u001f\x7f");
}

TEST(JsonEscapeTest, ValidUtf8IsKeptVerbatim) {
  // 2-, 3- and 4-byte sequences: e-acute, euro sign, U+2028, CJK, an emoji.
  const std::string text = "caf\xC3\xA9 \xE2\x82\xAC \xE2\x80\xA8 \xE4\xB8\xAD \xF0\x9F\x98\x80";
  EXPECT_EQ(escaped(text), text);
}

TEST(JsonEscapeTest, InvalidUtf8BecomesReplacementCharacter) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(escaped("a\xFF"
                    "b"),
            "a" + fffd + "b");
  EXPECT_EQ(escaped("\xC3"), fffd) << "truncated 2-byte sequence";
  EXPECT_EQ(escaped("\xC0\xAF"), fffd + fffd) << "overlong '/'";
  EXPECT_EQ(escaped("\xED\xA0\x80"), fffd + fffd + fffd) << "UTF-16 surrogate";
  EXPECT_EQ(escaped("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd) << "above U+10FFFF";
  EXPECT_EQ(escaped("\xE2\x82"), fffd + fffd) << "truncated 3-byte sequence";
}

TEST(JsonWriterTest, NestedStructureWithCommas) {
  std::string buf = "prefix:";
  JsonWriter w(buf);
  w.beginObject();
  w.key("a");
  w.value(std::int64_t{1});
  w.key("b");
  w.beginArray();
  w.value(true);
  w.value(false);
  w.null();
  w.beginObject();
  w.endObject();
  w.beginArray();
  w.endArray();
  w.value("x");
  w.endArray();
  w.key("c\"d");
  w.rawValue(R"({"raw":[1,2]})");
  w.endObject();
  EXPECT_EQ(buf, R"(prefix:{"a":1,"b":[true,false,null,{},[],"x"],"c\"d":{"raw":[1,2]}})");
}

TEST(JsonWriterTest, Integers) {
  std::string buf;
  JsonWriter w(buf);
  w.beginArray();
  w.value(std::numeric_limits<std::int64_t>::min());
  w.value(std::numeric_limits<std::int64_t>::max());
  w.value(std::numeric_limits<std::uint64_t>::max());
  w.value(std::int32_t{-7});
  w.value(std::uint32_t{7});
  w.endArray();
  EXPECT_EQ(buf, "[-9223372036854775808,9223372036854775807,18446744073709551615,-7,7]");
}

TEST(JsonWriterTest, DoublesRoundTripAndNonFiniteIsNull) {
  std::string buf;
  JsonWriter w(buf);
  w.beginArray();
  w.value(0.1);
  w.value(1.5e300);
  w.value(-2.0);
  w.value(std::numeric_limits<double>::quiet_NaN());
  w.value(std::numeric_limits<double>::infinity());
  w.endArray();
  EXPECT_EQ(buf, "[0.1,1.5e+300,-2,null,null]");
}

TEST(JsonWriterTest, LargeStringsAreWrittenWhole) {
  std::string big(1 << 20, 'x');
  big[12345] = '"';
  std::string buf;
  JsonWriter w(buf);
  w.value(big);
  EXPECT_EQ(buf.size(), big.size() + 3) << "two quotes and one escaping backslash";
  EXPECT_EQ(buf.substr(12341, 8), "xxxxx\\\"x");
}

}  // namespace
}  // namespace cesync::util
