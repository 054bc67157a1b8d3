#include "sync/to_cassandra/doc_values.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <system_error>
#include <utility>

#include "util/base64.h"

namespace cesync::sync {
namespace {

using cql::CqlType;
using cql::TypeKind;
using cql::Value;
namespace ondemand = simdjson::ondemand;

constexpr std::int64_t kMillisPerDay = 86'400'000;
constexpr std::int64_t kNanosPerDay = 86'400'000'000'000;
// The most decimal digits a varint or decimal may have (after expanding an exponent, as in 1e30):
// converting digits to binary costs their square, and a hostile "1e999999999" must not.
constexpr std::size_t kMaxDigits = 10'000;
// How much of an offending value an error message quotes.
constexpr std::size_t kMaxQuoted = 64;

std::string clipped(std::string_view text) {
  if (text.size() <= kMaxQuoted) {
    return std::string(text);
  }
  // Cut before a UTF-8 continuation byte, not inside a character.
  std::size_t end = kMaxQuoted;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  return std::string(text.substr(0, end)) + "...";
}

// How an error shows text that was read as a string (a JSON string's content or a map key).
std::string quotedText(std::string_view text) {
  return "\"" + clipped(text) + "\"";
}

// How an error shows the offending input, built only when there is an error: a JSON token as
// written, or the content of a JSON string (or a map key) in quotes.
struct Got {
  std::string_view text;
  bool quoted = false;
  [[nodiscard]] std::string str() const { return quoted ? quotedText(text) : clipped(text); }
};

Error mismatch(const CqlType& type, std::string_view expected, std::string_view shown) {
  return makeError(ErrorCode::kInvalidArgument, "expected " + std::string(expected) + " for " +
                                                    type.toString() + ", got " +
                                                    std::string(shown));
}

Error withContext(std::string_view context, Error error) {
  error.message = std::string(context) + ": " + error.message;
  return error;
}

Error jsonError(simdjson::error_code code) {
  return makeError(ErrorCode::kInvalidArgument,
                   std::string("invalid JSON: ") + simdjson::error_message(code));
}

std::string_view trimRight(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// What an error says it found for a JSON value that has the wrong shape.
std::string describe(ondemand::value& v, ondemand::json_type type) {
  switch (type) {
    case ondemand::json_type::array:
      return "an array";
    case ondemand::json_type::object:
      return "an object";
    case ondemand::json_type::number:
    case ondemand::json_type::string:
    case ondemand::json_type::boolean:
    case ondemand::json_type::null:
      break;
  }
  return clipped(trimRight(v.raw_json_token()));
}

// A number read exactly: sign, significant digits without leading zeros (empty for zero) and a
// scale (value = digits * 10^-scale).
struct DecimalParts {
  bool negative = false;
  std::string digits;
  std::int64_t scale = 0;
};

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// [+-]? digits [. digits]? ([eE] [+-]? digits)? with at least one digit before the exponent; the
// JSON grammar plus the forms Java's BigDecimal also reads ("+1", ".5", "5.", "007").
std::optional<DecimalParts> parseDecimalParts(std::string_view s) {
  DecimalParts out;
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    out.negative = s[i] == '-';
    ++i;
  }
  std::size_t mantissa_digits = 0;
  std::int64_t fraction_digits = 0;
  bool seen_point = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (isDigit(c)) {
      ++mantissa_digits;
      if (!(out.digits.empty() && c == '0')) {
        out.digits.push_back(c);
      }
      if (seen_point) {
        ++fraction_digits;
      }
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      break;
    }
  }
  if (mantissa_digits == 0) {
    return std::nullopt;
  }
  std::int64_t exponent = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool negative_exponent = false;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
      negative_exponent = s[i] == '-';
      ++i;
    }
    const std::size_t start = i;
    for (; i < s.size() && isDigit(s[i]); ++i) {
      // Beyond nine digits the value cannot fit any CQL type; stop before int64 overflows.
      if (i - start >= 9) {
        return std::nullopt;
      }
      exponent = exponent * 10 + (s[i] - '0');
    }
    if (i == start) {
      return std::nullopt;
    }
    exponent = negative_exponent ? -exponent : exponent;
  }
  if (i != s.size()) {
    return std::nullopt;
  }
  out.scale = fraction_digits - exponent;
  if (out.digits.empty()) {
    out.negative = false;
  }
  return out;
}

// Minimal two's-complement big-endian bytes of a sign and decimal digits.
cql::Bytes twosComplement(bool negative, std::string_view digits) {
  // Magnitude, little-endian base 256, by repeated multiply-and-add of up to six digits at a time
  // (255 * 10^6 plus a carry below 2^24 fits 32 bits).
  std::vector<std::uint8_t> magnitude;
  magnitude.reserve(digits.size() / 2 + 1);
  for (std::size_t at = 0; at < digits.size();) {
    const std::size_t n = std::min<std::size_t>(6, digits.size() - at);
    std::uint32_t scale = 1;
    std::uint32_t carry = 0;
    for (std::size_t i = 0; i < n; ++i) {
      scale *= 10;
      carry = carry * 10 + static_cast<std::uint32_t>(digits[at + i] - '0');
    }
    at += n;
    for (auto& b : magnitude) {
      const std::uint32_t cur = std::uint32_t{b} * scale + carry;
      b = static_cast<std::uint8_t>(cur & 0xFF);
      carry = cur >> 8;
    }
    while (carry != 0) {
      magnitude.push_back(static_cast<std::uint8_t>(carry & 0xFF));
      carry >>= 8;
    }
  }
  cql::Bytes out(magnitude.rbegin(), magnitude.rend());
  if (out.empty()) {
    return cql::Bytes{0};
  }
  if (!negative) {
    if ((out[0] & 0x80) != 0) {
      out.insert(out.begin(), 0x00);
    }
    return out;
  }
  for (auto& b : out) {
    b = static_cast<std::uint8_t>(~b);
  }
  for (std::size_t i = out.size(); i > 0; --i) {
    if (++out[i - 1] != 0) {
      break;
    }
  }
  if ((out[0] & 0x80) == 0) {
    out.insert(out.begin(), 0xFF);
  }
  std::size_t drop = 0;
  while (drop + 1 < out.size() && out[drop] == 0xFF && (out[drop + 1] & 0x80) != 0) {
    ++drop;
  }
  out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(drop));
  return out;
}

// The integral value of `parts`, as decimal digits with no fraction; nullopt when the number has
// a fractional part. `max_digits` bounds the expansion of an exponent.
std::optional<std::string> integralDigits(DecimalParts parts, std::size_t max_digits,
                                          bool& too_large) {
  too_large = false;
  while (parts.scale > 0 && !parts.digits.empty() && parts.digits.back() == '0') {
    parts.digits.pop_back();
    --parts.scale;
  }
  if (parts.digits.empty()) {
    return std::string();
  }
  if (parts.scale > 0) {
    return std::nullopt;
  }
  const auto zeros = static_cast<std::uint64_t>(-parts.scale);
  if (zeros + parts.digits.size() > max_digits) {
    too_large = true;
    return std::string();
  }
  parts.digits.append(static_cast<std::size_t>(zeros), '0');
  return std::move(parts.digits);
}

struct IntRange {
  std::int64_t min;
  std::int64_t max;
};

IntRange rangeOf(TypeKind kind) {
  switch (kind) {
    case TypeKind::kTinyint:
      return {std::numeric_limits<std::int8_t>::min(), std::numeric_limits<std::int8_t>::max()};
    case TypeKind::kSmallint:
      return {std::numeric_limits<std::int16_t>::min(), std::numeric_limits<std::int16_t>::max()};
    case TypeKind::kInt:
      return {std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max()};
    default:
      return {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()};
  }
}

// An integer in any exact number form (42, "42", 4.2e1, "42.0") within `range`. `expected` names
// the form in errors; `got` is how the offending text is shown.
Result<std::int64_t> parseInteger(const CqlType& type, std::string_view text, const Got& got,
                                  IntRange range, std::string_view expected = "an integer") {
  const auto parts = parseDecimalParts(text);
  if (!parts) {
    return tl::unexpected(mismatch(type, expected, got.str()));
  }
  bool too_large = false;
  const auto digits = integralDigits(*parts, 20, too_large);
  if (!digits) {
    return tl::unexpected(mismatch(type, expected, got.str() + " (a fraction)"));
  }
  std::uint64_t magnitude = 0;
  const auto [end, ec] =
      std::from_chars(digits->data(), digits->data() + digits->size(), magnitude);
  const std::uint64_t limit = parts->negative
                                  ? std::uint64_t{0} - static_cast<std::uint64_t>(range.min)
                                  : static_cast<std::uint64_t>(range.max);
  if (too_large || (!digits->empty() && ec != std::errc()) || magnitude > limit) {
    return fail(ErrorCode::kInvalidArgument, got.str() + " is out of range for " + type.toString() +
                                                 " (" + std::to_string(range.min) + " to " +
                                                 std::to_string(range.max) + ")");
  }
  if (parts->negative) {
    // -magnitude without overflow for magnitude 2^63.
    return static_cast<std::int64_t>(std::uint64_t{0} - magnitude);
  }
  return static_cast<std::int64_t>(magnitude);
}

Result<Value> integerValue(const CqlType& type, std::string_view text, const Got& got) {
  CESYNC_ASSIGN_OR_RETURN(n, parseInteger(type, text, got, rangeOf(type.kind)));
  switch (type.kind) {
    case TypeKind::kTinyint:
      return Value::tinyint(static_cast<std::int8_t>(n));
    case TypeKind::kSmallint:
      return Value::smallint(static_cast<std::int16_t>(n));
    case TypeKind::kInt:
      return Value::integer(static_cast<std::int32_t>(n));
    case TypeKind::kCounter:
      return Value::counter(n);
    default:
      return Value::bigint(n);
  }
}

Result<Value> varintValue(const CqlType& type, std::string_view text, const Got& got) {
  const auto parts = parseDecimalParts(text);
  if (!parts) {
    return tl::unexpected(mismatch(type, "an integer", got.str()));
  }
  bool too_large = false;
  const auto digits = integralDigits(*parts, kMaxDigits, too_large);
  if (!digits) {
    return tl::unexpected(mismatch(type, "an integer", got.str() + " (a fraction)"));
  }
  if (too_large) {
    return fail(ErrorCode::kInvalidArgument, got.str() + " has more than " +
                                                 std::to_string(kMaxDigits) +
                                                 " digits, too large for varint");
  }
  return Value::varint(twosComplement(parts->negative, *digits));
}

Result<Value> decimalValue(const CqlType& type, std::string_view text, const Got& got) {
  const auto parts = parseDecimalParts(text);
  if (!parts) {
    return tl::unexpected(mismatch(type, "a decimal number", got.str()));
  }
  if (parts->scale < std::numeric_limits<std::int32_t>::min() ||
      parts->scale > std::numeric_limits<std::int32_t>::max()) {
    return fail(ErrorCode::kInvalidArgument,
                got.str() + ": the exponent is out of range for decimal");
  }
  if (parts->digits.size() > kMaxDigits) {
    return fail(ErrorCode::kInvalidArgument, got.str() + " has more than " +
                                                 std::to_string(kMaxDigits) +
                                                 " digits, too large for decimal");
  }
  return Value::decimal(cql::Decimal{twosComplement(parts->negative, parts->digits),
                                     static_cast<std::int32_t>(parts->scale)});
}

// A float or double from number text; `allow_words` also reads "NaN", "Infinity" and
// "-Infinity" (string forms only: JSON numbers cannot spell them).
Result<Value> floatingValue(const CqlType& type, std::string_view text, const Got& got,
                            bool allow_words) {
  const bool is_float = type.kind == TypeKind::kFloat;
  if (allow_words) {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    std::optional<double> word;
    if (text == "NaN") {
      word = std::numeric_limits<double>::quiet_NaN();
    } else if (text == "Infinity" || text == "+Infinity") {
      word = kInf;
    } else if (text == "-Infinity") {
      word = -kInf;
    }
    if (word) {
      return is_float ? Value::floating(static_cast<float>(*word)) : Value::doublePrecision(*word);
    }
  }
  if (!parseDecimalParts(text)) {
    return tl::unexpected(mismatch(type, "a number", got.str()));
  }
  // from_chars reads neither a leading '+' nor "5." / ".5" consistently; normalise them.
  std::string normal;
  std::string_view s = text;
  if (!s.empty() && s[0] == '+') {
    s.remove_prefix(1);
  }
  const bool negative = !s.empty() && s[0] == '-';
  if (negative) {
    s.remove_prefix(1);
  }
  if (!s.empty() && s[0] == '.') {
    normal = "0";
  }
  normal += s;
  const auto point = normal.find('.');
  if (point != std::string::npos && (point + 1 == normal.size() || !isDigit(normal[point + 1]))) {
    normal.insert(point + 1, "0");
  }
  const char* begin = normal.data();
  const char* end = normal.data() + normal.size();
  if (is_float) {
    float f = 0;
    const auto [ptr, ec] = std::from_chars(begin, end, f);
    if (ec == std::errc::result_out_of_range) {
      return fail(ErrorCode::kInvalidArgument, got.str() + " is out of range for float");
    }
    if (ec != std::errc() || ptr != end) {
      return tl::unexpected(mismatch(type, "a number", got.str()));
    }
    return Value::floating(negative ? -f : f);
  }
  double d = 0;
  const auto [ptr, ec] = std::from_chars(begin, end, d);
  if (ec == std::errc::result_out_of_range) {
    return fail(ErrorCode::kInvalidArgument, got.str() + " is out of range for double");
  }
  if (ec != std::errc() || ptr != end) {
    return tl::unexpected(mismatch(type, "a number", got.str()));
  }
  return Value::doublePrecision(negative ? -d : d);
}

// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of civilFromDays in
// doc_builder.cc).
std::int64_t daysFromCivil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto yoe = static_cast<std::uint64_t>(year - era * 400);
  const std::uint64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const std::uint64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool isLeap(std::int64_t year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

unsigned daysInMonth(std::int64_t year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && isLeap(year) ? 29 : kDays[month - 1];
}

// Reads exactly `n` digits at `pos`.
bool readDigits(std::string_view s, std::size_t& pos, std::size_t n, std::int64_t& out) {
  if (pos + n > s.size()) {
    return false;
  }
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!isDigit(s[pos + i])) {
      return false;
    }
    out = out * 10 + (s[pos + i] - '0');
  }
  pos += n;
  return true;
}

bool readChar(std::string_view s, std::size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

// YYYY-MM-DD, or the ISO-8601 expanded form: a sign and 4 to 9 year digits. Days since the epoch.
bool readDate(std::string_view s, std::size_t& pos, std::int64_t& days) {
  bool negative = false;
  std::int64_t year = 0;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    negative = s[pos] == '-';
    ++pos;
    const std::size_t start = pos;
    while (pos < s.size() && isDigit(s[pos]) && pos - start < 9) {
      year = year * 10 + (s[pos] - '0');
      ++pos;
    }
    if (pos - start < 4) {
      return false;
    }
  } else if (!readDigits(s, pos, 4, year)) {
    return false;
  }
  year = negative ? -year : year;
  std::int64_t month = 0;
  std::int64_t day = 0;
  if (!readChar(s, pos, '-') || !readDigits(s, pos, 2, month) || !readChar(s, pos, '-') ||
      !readDigits(s, pos, 2, day) || month < 1 || month > 12 || day < 1 ||
      day > daysInMonth(year, static_cast<unsigned>(month))) {
    return false;
  }
  days = daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return true;
}

// HH[:MM[:SS[.f{1,9}]]] (`require_seconds`: HH:MM:SS[.f]), as nanoseconds since midnight.
bool readTimeOfDay(std::string_view s, std::size_t& pos, bool require_seconds,
                   std::int64_t& nanos) {
  std::int64_t hours = 0;
  std::int64_t minutes = 0;
  std::int64_t seconds = 0;
  std::int64_t fraction = 0;
  if (!readDigits(s, pos, 2, hours) || hours > 23) {
    return false;
  }
  if (readChar(s, pos, ':')) {
    if (!readDigits(s, pos, 2, minutes) || minutes > 59) {
      return false;
    }
    if (readChar(s, pos, ':')) {
      if (!readDigits(s, pos, 2, seconds) || seconds > 59) {
        return false;
      }
      if (readChar(s, pos, '.') || readChar(s, pos, ',')) {
        std::size_t n = 0;
        while (pos < s.size() && isDigit(s[pos]) && n < 9) {
          fraction = fraction * 10 + (s[pos] - '0');
          ++pos;
          ++n;
        }
        if (n == 0 || (pos < s.size() && isDigit(s[pos]))) {
          return false;
        }
        for (; n < 9; ++n) {
          fraction *= 10;
        }
      }
    } else if (require_seconds) {
      return false;
    }
  } else if (require_seconds) {
    return false;
  }
  nanos = ((hours * 60 + minutes) * 60 + seconds) * 1'000'000'000 + fraction;
  return true;
}

// Z, or +HH:MM, +HHMM, +HH (and the same with '-'); the offset in milliseconds east of UTC.
bool readOffset(std::string_view s, std::size_t& pos, std::int64_t& offset_ms) {
  offset_ms = 0;
  if (readChar(s, pos, 'Z') || readChar(s, pos, 'z')) {
    return true;
  }
  if (pos >= s.size() || (s[pos] != '+' && s[pos] != '-')) {
    return false;
  }
  const bool negative = s[pos] == '-';
  ++pos;
  std::int64_t hours = 0;
  std::int64_t minutes = 0;
  if (!readDigits(s, pos, 2, hours) || hours > 23) {
    return false;
  }
  if (pos < s.size()) {
    readChar(s, pos, ':');
    if (!readDigits(s, pos, 2, minutes) || minutes > 59) {
      return false;
    }
  }
  offset_ms = (hours * 60 + minutes) * 60'000 * (negative ? -1 : 1);
  return true;
}

// An ISO-8601 date or date-time (see docs/TYPES.md) as milliseconds since the epoch, UTC when no
// offset is given; digits below the millisecond are dropped. `has_time` tells whether a time
// part was present.
std::optional<std::int64_t> parseIsoMillis(std::string_view s, bool& has_time) {
  std::size_t pos = 0;
  std::int64_t days = 0;
  if (!readDate(s, pos, days)) {
    return std::nullopt;
  }
  std::int64_t nanos = 0;
  std::int64_t offset_ms = 0;
  has_time = pos < s.size();
  if (has_time) {
    if (!readChar(s, pos, 'T') && !readChar(s, pos, 't') && !readChar(s, pos, ' ')) {
      return std::nullopt;
    }
    if (!readTimeOfDay(s, pos, false, nanos)) {
      return std::nullopt;
    }
    if (pos < s.size() && !readOffset(s, pos, offset_ms)) {
      return std::nullopt;
    }
    if (pos != s.size()) {
      return std::nullopt;
    }
  }
  std::int64_t millis = 0;
  if (__builtin_mul_overflow(days, kMillisPerDay, &millis) ||
      __builtin_add_overflow(millis, nanos / 1'000'000 - offset_ms, &millis)) {
    return std::nullopt;
  }
  return millis;
}

constexpr std::string_view kTimestampForm = "an ISO-8601 timestamp or epoch milliseconds";

Result<Value> timestampValue(const CqlType& type, std::string_view text, const Got& got) {
  bool has_time = false;
  const auto millis = parseIsoMillis(text, has_time);
  if (!millis) {
    return tl::unexpected(mismatch(type, kTimestampForm, got.str()));
  }
  return Value::timestamp(*millis);
}

constexpr std::string_view kDateForm = "a date YYYY-MM-DD";

Result<Value> dateFromMillis(const CqlType& type, std::int64_t millis, const Got& got) {
  if (millis % kMillisPerDay != 0) {
    return tl::unexpected(mismatch(type, kDateForm, got.str() + " (not midnight UTC)"));
  }
  const std::int64_t days = millis / kMillisPerDay;
  if (days < std::numeric_limits<std::int32_t>::min() ||
      days > std::numeric_limits<std::int32_t>::max()) {
    return fail(ErrorCode::kInvalidArgument, got.str() + " is out of range for date");
  }
  return Value::date(static_cast<std::int32_t>(days));
}

Result<Value> dateValue(const CqlType& type, std::string_view text, const Got& got) {
  std::size_t pos = 0;
  std::int64_t days = 0;
  if (readDate(text, pos, days) && pos == text.size()) {
    if (days < std::numeric_limits<std::int32_t>::min() ||
        days > std::numeric_limits<std::int32_t>::max()) {
      return fail(ErrorCode::kInvalidArgument, got.str() + " is out of range for date");
    }
    return Value::date(static_cast<std::int32_t>(days));
  }
  bool has_time = false;
  const auto millis = parseIsoMillis(text, has_time);
  if (!millis) {
    return tl::unexpected(mismatch(type, kDateForm, got.str()));
  }
  return dateFromMillis(type, *millis, got);
}

constexpr std::string_view kTimeForm = "a time HH:MM:SS[.fffffffff]";

Result<Value> timeValue(const CqlType& type, std::string_view text, const Got& got) {
  std::size_t pos = 0;
  std::int64_t nanos = 0;
  if (!readTimeOfDay(text, pos, true, nanos) || pos != text.size()) {
    return tl::unexpected(mismatch(type, kTimeForm, got.str()));
  }
  return Value::time(nanos);
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

Result<Value> uuidValue(const CqlType& type, std::string_view text, const Got& got) {
  const bool time_based = type.kind == TypeKind::kTimeuuid;
  const std::string_view form = time_based ? "a version 1 uuid" : "a uuid";
  cql::UuidBytes u{};
  bool ok = text.size() == 36;
  std::size_t byte = 0;
  for (std::size_t i = 0; ok && i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      ok = text[i] == '-';
      ++i;
      continue;
    }
    const int hi = hexDigit(text[i]);
    const int lo = i + 1 < text.size() ? hexDigit(text[i + 1]) : -1;
    ok = hi >= 0 && lo >= 0 && byte < u.size();
    if (ok) {
      u[byte++] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    i += 2;
  }
  if (!ok || byte != u.size()) {
    return tl::unexpected(mismatch(type, form, got.str()));
  }
  if (time_based) {
    if ((u[6] >> 4) != 1) {
      return tl::unexpected(
          mismatch(type, form, got.str() + " (version " + std::to_string(u[6] >> 4) + ")"));
    }
    return Value::timeuuid(u);
  }
  return Value::uuid(u);
}

Result<Value> bytesValue(const CqlType& type, std::string_view text, const Got& got) {
  auto decoded = util::base64Decode(text);
  if (!decoded) {
    return tl::unexpected(mismatch(type, "a base64 string", got.str()));
  }
  return Value::blob(cql::Bytes(decoded->begin(), decoded->end()));
}

Result<Value> asciiValue(const CqlType& type, std::string_view text, const Got& got) {
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0x80) != 0) {
      return tl::unexpected(mismatch(type, "ASCII text", got.str()));
    }
  }
  return Value::ascii(std::string(text));
}

bool isScalarKind(TypeKind kind) {
  switch (kind) {
    case TypeKind::kDuration:
    case TypeKind::kList:
    case TypeKind::kSet:
    case TypeKind::kMap:
    case TypeKind::kTuple:
    case TypeKind::kUdt:
    case TypeKind::kVector:
      return false;
    default:
      return true;
  }
}

// What a value of `type` looks like in JSON, for errors.
std::string_view expectedForm(const CqlType& type) {
  switch (type.kind) {
    case TypeKind::kAscii:
    case TypeKind::kVarchar:
      return "a string";
    case TypeKind::kBoolean:
      return "true or false";
    case TypeKind::kTinyint:
    case TypeKind::kSmallint:
    case TypeKind::kInt:
    case TypeKind::kBigint:
    case TypeKind::kCounter:
    case TypeKind::kVarint:
      return "an integer";
    case TypeKind::kFloat:
    case TypeKind::kDouble:
      return "a number";
    case TypeKind::kDecimal:
      return "a decimal number";
    case TypeKind::kTimestamp:
      return kTimestampForm;
    case TypeKind::kDate:
      return kDateForm;
    case TypeKind::kTime:
      return kTimeForm;
    case TypeKind::kDuration:
      return "an object {months, days, nanoseconds}";
    case TypeKind::kUuid:
      return "a uuid";
    case TypeKind::kTimeuuid:
      return "a version 1 uuid";
    case TypeKind::kInet:
      return "an IPv4 or IPv6 address";
    case TypeKind::kBlob:
    case TypeKind::kCustom:
      return "a base64 string";
    case TypeKind::kList:
    case TypeKind::kSet:
    case TypeKind::kTuple:
    case TypeKind::kVector:
      return "an array";
    case TypeKind::kMap:
    case TypeKind::kUdt:
      return "an object";
  }
  return "a value";
}

// A scalar of `type` from its text form (a JSON string's content, or a map key). `got` is how
// errors show the text.
Result<Value> scalarFromText(const CqlType& type, std::string_view text, const Got& got) {
  switch (type.kind) {
    case TypeKind::kVarchar:
      return Value::text(std::string(text));
    case TypeKind::kAscii:
      return asciiValue(type, text, got);
    case TypeKind::kBoolean:
      if (text == "true" || text == "false") {
        return Value::boolean(text == "true");
      }
      return tl::unexpected(mismatch(type, "true or false", got.str()));
    case TypeKind::kTinyint:
    case TypeKind::kSmallint:
    case TypeKind::kInt:
    case TypeKind::kBigint:
    case TypeKind::kCounter:
      return integerValue(type, text, got);
    case TypeKind::kFloat:
    case TypeKind::kDouble:
      return floatingValue(type, text, got, true);
    case TypeKind::kVarint:
      return varintValue(type, text, got);
    case TypeKind::kDecimal:
      return decimalValue(type, text, got);
    case TypeKind::kTimestamp:
      return timestampValue(type, text, got);
    case TypeKind::kDate:
      return dateValue(type, text, got);
    case TypeKind::kTime:
      return timeValue(type, text, got);
    case TypeKind::kUuid:
    case TypeKind::kTimeuuid:
      return uuidValue(type, text, got);
    case TypeKind::kInet: {
      cql::InetAddress address;
      if (!cql::InetAddress::parse(text, address)) {
        return tl::unexpected(mismatch(type, "an IPv4 or IPv6 address", got.str()));
      }
      return Value::inet(address);
    }
    case TypeKind::kBlob:
    case TypeKind::kCustom:
      return bytesValue(type, text, got);
    case TypeKind::kDuration:
    case TypeKind::kList:
    case TypeKind::kSet:
    case TypeKind::kMap:
    case TypeKind::kTuple:
    case TypeKind::kUdt:
    case TypeKind::kVector:
      break;
  }
  return tl::unexpected(mismatch(type, expectedForm(type), got.str()));
}

Result<Value> fromJson(const CqlType& type, ondemand::value v);
Result<Value> fromTextForm(const CqlType& type, std::string_view text);

const CqlType& param(const CqlType& type, std::size_t i) {
  return *type.params.at(i);
}

// An element of the list, set or vector `collection` (the value of a map): Cassandra
// collections cannot hold nulls, so a null here is an error now rather than a rejected write
// later.
Result<Value> elementFromJson(const CqlType& collection, ondemand::value v) {
  const CqlType& element = param(collection, collection.kind == TypeKind::kMap ? 1 : 0);
  CESYNC_ASSIGN_OR_RETURN(value, fromJson(element, v));
  if (value.isNull()) {
    return fail(ErrorCode::kInvalidArgument, "null is not allowed inside " + collection.toString());
  }
  return value;
}

Result<Value> durationFromJson(const CqlType& type, ondemand::object object) {
  cql::Duration d;
  static const cql::CqlTypePtr kInt32 = CqlType::scalar(TypeKind::kInt);
  static const cql::CqlTypePtr kInt64 = CqlType::scalar(TypeKind::kBigint);
  for (auto item : object) {
    ondemand::field field;
    std::string_view key;
    ondemand::value part;
    if (auto ec = std::move(item).get(field); ec != simdjson::SUCCESS) {
      return tl::unexpected(jsonError(ec));
    }
    if (auto ec = field.unescaped_key().get(key); ec != simdjson::SUCCESS) {
      return tl::unexpected(jsonError(ec));
    }
    part = field.value();
    const bool is_nanos = key == "nanoseconds";
    if (key != "months" && key != "days" && !is_nanos) {
      return fail(ErrorCode::kInvalidArgument, "unknown field " + quotedText(key) + " in " +
                                                   type.toString() +
                                                   " (expected months, days, nanoseconds)");
    }
    auto n = fromJson(is_nanos ? *kInt64 : *kInt32, part);
    if (!n) {
      return tl::unexpected(withContext(std::string(key), std::move(n).error()));
    }
    if (n->isNull()) {
      continue;
    }
    if (key == "months") {
      d.months = static_cast<std::int32_t>(n->asInt());
    } else if (key == "days") {
      d.days = static_cast<std::int32_t>(n->asInt());
    } else {
      d.nanos = n->asInt();
    }
  }
  const bool some_negative = d.months < 0 || d.days < 0 || d.nanos < 0;
  const bool some_positive = d.months > 0 || d.days > 0 || d.nanos > 0;
  if (some_negative && some_positive) {
    return fail(ErrorCode::kInvalidArgument,
                "the parts of a duration must not have different signs");
  }
  return Value::duration(d);
}

Result<Value> arrayFromJson(const CqlType& type, ondemand::array array) {
  std::vector<Value> elements;
  std::size_t index = 0;
  const bool is_tuple = type.kind == TypeKind::kTuple;
  const std::size_t limit = is_tuple ? type.params.size()
                            : type.kind == TypeKind::kVector
                                ? type.dimension
                                : std::numeric_limits<std::size_t>::max();
  for (auto item : array) {
    ondemand::value element;
    if (auto ec = item.get(element); ec != simdjson::SUCCESS) {
      return tl::unexpected(jsonError(ec));
    }
    if (index >= limit) {
      // Only counted, for the message.
      ++index;
      continue;
    }
    auto value = is_tuple ? fromJson(param(type, index), element) : elementFromJson(type, element);
    if (!value) {
      return tl::unexpected(
          withContext((is_tuple ? "component " : "element ") + std::to_string(index),
                      std::move(value).error()));
    }
    elements.push_back(std::move(*value));
    ++index;
  }
  if (index > limit || (type.kind == TypeKind::kVector && index != limit)) {
    return fail(ErrorCode::kInvalidArgument,
                (is_tuple ? "expected at most " : "expected ") + std::to_string(limit) +
                    (is_tuple ? " components" : " elements") + " for " + type.toString() +
                    ", got " + std::to_string(index));
  }
  switch (type.kind) {
    case TypeKind::kTuple:
      for (std::size_t i = elements.size(); i < type.params.size(); ++i) {
        elements.push_back(Value::null(param(type, i).kind));
      }
      return Value::tuple(std::move(elements));
    case TypeKind::kVector:
      return Value::vector(std::move(elements));
    case TypeKind::kSet:
      return Value::set(std::move(elements));
    default:
      return Value::list(std::move(elements));
  }
}

Result<Value> mapFromJson(const CqlType& type, ondemand::object object) {
  cql::MapEntries entries;
  for (auto item : object) {
    ondemand::field field;
    std::string_view key_text;
    ondemand::value value_json;
    if (auto ec = std::move(item).get(field); ec != simdjson::SUCCESS) {
      return tl::unexpected(jsonError(ec));
    }
    if (auto ec = field.unescaped_key().get(key_text); ec != simdjson::SUCCESS) {
      return tl::unexpected(jsonError(ec));
    }
    auto key = fromTextForm(param(type, 0), key_text);
    if (!key) {
      return tl::unexpected(withContext("key " + quotedText(key_text), std::move(key).error()));
    }
    value_json = field.value();
    auto value = elementFromJson(type, value_json);
    if (!value) {
      return tl::unexpected(
          withContext("value of key " + quotedText(key_text), std::move(value).error()));
    }
    entries.emplace_back(std::move(*key), std::move(*value));
  }
  return Value::map(std::move(entries));
}

Result<Value> udtFromJson(const CqlType& type, ondemand::object object) {
  std::vector<Value> fields(type.params.size());
  std::vector<bool> seen(type.params.size(), false);
  for (auto item : object) {
    ondemand::field field;
    std::string_view name;
    ondemand::value value_json;
    if (auto ec = std::move(item).get(field); ec != simdjson::SUCCESS) {
      return tl::unexpected(jsonError(ec));
    }
    if (auto ec = field.unescaped_key().get(name); ec != simdjson::SUCCESS) {
      return tl::unexpected(jsonError(ec));
    }
    const auto it = std::find(type.field_names.begin(), type.field_names.end(), name);
    if (it == type.field_names.end()) {
      return fail(ErrorCode::kInvalidArgument,
                  "unknown field " + quotedText(name) + " in " + type.toString());
    }
    const auto index = static_cast<std::size_t>(it - type.field_names.begin());
    if (index >= fields.size() || seen[index]) {
      return fail(ErrorCode::kInvalidArgument, "field " + quotedText(name) + " appears twice");
    }
    seen[index] = true;
    value_json = field.value();
    auto value = fromJson(param(type, index), value_json);
    if (!value) {
      return tl::unexpected(withContext("field " + std::string(name), std::move(value).error()));
    }
    fields[index] = std::move(*value);
  }
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (!seen[i]) {
      fields[i] = Value::null(param(type, i).kind);
    }
  }
  return Value::udt(type.field_names, std::move(fields));
}

Result<Value> fromJson(const CqlType& type, ondemand::value v) {
  ondemand::json_type json_type{};
  if (auto ec = v.type().get(json_type); ec != simdjson::SUCCESS) {
    return tl::unexpected(jsonError(ec));
  }
  if (json_type == ondemand::json_type::null) {
    return Value::null(type.kind);
  }
  switch (json_type) {
    case ondemand::json_type::string: {
      if (!isScalarKind(type.kind)) {
        break;
      }
      std::string_view text;
      if (auto ec = v.get_string().get(text); ec != simdjson::SUCCESS) {
        return tl::unexpected(jsonError(ec));
      }
      if (type.kind == TypeKind::kVarchar) {
        return Value::text(std::string(text));
      }
      return scalarFromText(type, text, Got{text, true});
    }
    case ondemand::json_type::number: {
      const std::string_view raw = trimRight(v.raw_json_token());
      switch (type.kind) {
        case TypeKind::kVarchar:
          // The search engines index a number given for a text field as its text.
          return Value::text(std::string(raw));
        case TypeKind::kAscii:
          return Value::ascii(std::string(raw));
        case TypeKind::kTinyint:
        case TypeKind::kSmallint:
        case TypeKind::kInt:
        case TypeKind::kBigint:
        case TypeKind::kCounter:
          return integerValue(type, raw, Got{raw});
        case TypeKind::kFloat:
        case TypeKind::kDouble:
          return floatingValue(type, raw, Got{raw}, false);
        case TypeKind::kVarint:
          return varintValue(type, raw, Got{raw});
        case TypeKind::kDecimal:
          return decimalValue(type, raw, Got{raw});
        case TypeKind::kTimestamp: {
          CESYNC_ASSIGN_OR_RETURN(millis, parseInteger(type, raw, Got{raw},
                                                       rangeOf(TypeKind::kBigint), kTimestampForm));
          return Value::timestamp(millis);
        }
        case TypeKind::kDate: {
          CESYNC_ASSIGN_OR_RETURN(
              millis, parseInteger(type, raw, Got{raw}, rangeOf(TypeKind::kBigint), kDateForm));
          return dateFromMillis(type, millis, Got{raw});
        }
        case TypeKind::kTime: {
          CESYNC_ASSIGN_OR_RETURN(
              nanos, parseInteger(type, raw, Got{raw}, IntRange{0, kNanosPerDay - 1}, kTimeForm));
          return Value::time(nanos);
        }
        default:
          break;
      }
      break;
    }
    case ondemand::json_type::boolean: {
      if (type.kind != TypeKind::kBoolean && type.kind != TypeKind::kVarchar &&
          type.kind != TypeKind::kAscii) {
        break;
      }
      bool b = false;
      if (auto ec = v.get_bool().get(b); ec != simdjson::SUCCESS) {
        return tl::unexpected(jsonError(ec));
      }
      if (type.kind == TypeKind::kBoolean) {
        return Value::boolean(b);
      }
      // As for numbers: the engines index true and false given for a text field as text.
      std::string text = b ? "true" : "false";
      return type.kind == TypeKind::kAscii ? Value::ascii(std::move(text))
                                           : Value::text(std::move(text));
    }
    case ondemand::json_type::array:
      if (type.kind == TypeKind::kList || type.kind == TypeKind::kSet ||
          type.kind == TypeKind::kTuple || type.kind == TypeKind::kVector) {
        ondemand::array array;
        if (auto ec = v.get_array().get(array); ec != simdjson::SUCCESS) {
          return tl::unexpected(jsonError(ec));
        }
        return arrayFromJson(type, array);
      }
      break;
    case ondemand::json_type::object:
      if (type.kind == TypeKind::kMap || type.kind == TypeKind::kUdt ||
          type.kind == TypeKind::kDuration) {
        ondemand::object object;
        if (auto ec = v.get_object().get(object); ec != simdjson::SUCCESS) {
          return tl::unexpected(jsonError(ec));
        }
        if (type.kind == TypeKind::kMap) {
          return mapFromJson(type, object);
        }
        if (type.kind == TypeKind::kUdt) {
          return udtFromJson(type, object);
        }
        return durationFromJson(type, object);
      }
      break;
    case ondemand::json_type::null:
      break;
  }
  // A lone scalar where a list or set is expected stands for a one-element array, as the search
  // engines read it.
  if ((type.kind == TypeKind::kList || type.kind == TypeKind::kSet) &&
      (json_type == ondemand::json_type::string || json_type == ondemand::json_type::number ||
       json_type == ondemand::json_type::boolean)) {
    auto element = elementFromJson(type, v);
    if (!element) {
      return tl::unexpected(withContext("element 0", std::move(element).error()));
    }
    std::vector<Value> one;
    one.push_back(std::move(*element));
    return type.kind == TypeKind::kSet ? Value::set(std::move(one)) : Value::list(std::move(one));
  }
  return tl::unexpected(mismatch(type, expectedForm(type), describe(v, json_type)));
}

// Parses `json` (one JSON value) into a padded buffer wrapped as a one-element array, so that a
// scalar is an ondemand::value like any other.
Result<Value> parseOne(const CqlType& type, std::string_view json) {
  std::string buffer;
  buffer.reserve(json.size() + 2 + simdjson::SIMDJSON_PADDING);
  buffer.push_back('[');
  buffer.append(json);
  buffer.push_back(']');
  ondemand::parser parser;
  ondemand::document doc;
  ondemand::array array;
  if (auto ec = parser.iterate(buffer.data(), buffer.size(), buffer.capacity()).get(doc);
      ec != simdjson::SUCCESS) {
    return tl::unexpected(jsonError(ec));
  }
  if (auto ec = doc.get_array().get(array); ec != simdjson::SUCCESS) {
    return tl::unexpected(jsonError(ec));
  }
  std::optional<Value> result;
  for (auto item : array) {
    ondemand::value v;
    if (auto ec = item.get(v); ec != simdjson::SUCCESS) {
      return tl::unexpected(jsonError(ec));
    }
    if (result) {
      return fail(ErrorCode::kInvalidArgument, "invalid JSON: more than one value");
    }
    CESYNC_ASSIGN_OR_RETURN(value, fromJson(type, v));
    result = std::move(value);
  }
  if (!result) {
    return fail(ErrorCode::kInvalidArgument, "invalid JSON: no value");
  }
  return std::move(*result);
}

Result<Value> fromTextForm(const CqlType& type, std::string_view text) {
  if (isScalarKind(type.kind)) {
    // Floating point is written as its JSON number, which the number parser reads as text too.
    return scalarFromText(type, text, Got{text, true});
  }
  // Durations, collections, tuples and UDTs are written as their compact JSON.
  auto value = parseOne(type, text);
  if (value && value->isNull()) {
    return tl::unexpected(mismatch(type, expectedForm(type), quotedText(text)));
  }
  return value;
}

}  // namespace

Result<Value> valueFromJson(const CqlType& type, std::string_view json) {
  return parseOne(type, json);
}

Result<Value> valueFromText(const CqlType& type, std::string_view text) {
  return fromTextForm(type, text);
}

struct DocValues::Parser {
  ondemand::parser parser;
  std::string buffer;
  std::vector<bool> seen;
};

DocValues::DocValues(TableSchema schema)
    : schema_(std::move(schema)), parser_(std::make_unique<Parser>()) {
  by_name_.reserve(schema_.columns.size());
  for (std::size_t i = 0; i < schema_.columns.size(); ++i) {
    by_name_.emplace_back(schema_.columns[i].name, i);
  }
  std::sort(by_name_.begin(), by_name_.end());
  is_key_.assign(schema_.columns.size(), false);
  for (const auto& name : schema_.primaryKey()) {
    const int index = schema_.columnIndex(name);
    if (index >= 0) {
      is_key_[static_cast<std::size_t>(index)] = true;
    }
  }
}

DocValues::~DocValues() = default;
DocValues::DocValues(DocValues&&) noexcept = default;
DocValues& DocValues::operator=(DocValues&&) noexcept = default;

Result<std::vector<Value>> DocValues::row(std::string_view source) {
  auto& buffer = parser_->buffer;
  buffer.clear();
  buffer.reserve(source.size() + simdjson::SIMDJSON_PADDING);
  buffer.append(source);
  ondemand::document doc;
  ondemand::object object;
  if (auto ec = parser_->parser.iterate(buffer.data(), buffer.size(), buffer.capacity()).get(doc);
      ec != simdjson::SUCCESS) {
    return tl::unexpected(withContext("document", jsonError(ec)));
  }
  if (auto ec = doc.get_object().get(object); ec != simdjson::SUCCESS) {
    if (ec == simdjson::INCORRECT_TYPE) {
      return fail(ErrorCode::kInvalidArgument, "document: expected a JSON object");
    }
    return tl::unexpected(withContext("document", jsonError(ec)));
  }
  std::vector<Value> values(schema_.columns.size(), Value::unset());
  auto& seen = parser_->seen;
  seen.assign(schema_.columns.size(), false);
  for (auto item : object) {
    ondemand::field field;
    std::string_view name;
    if (auto ec = std::move(item).get(field); ec != simdjson::SUCCESS) {
      return tl::unexpected(withContext("document", jsonError(ec)));
    }
    if (auto ec = field.unescaped_key().get(name); ec != simdjson::SUCCESS) {
      return tl::unexpected(withContext("document", jsonError(ec)));
    }
    const auto it =
        std::lower_bound(by_name_.begin(), by_name_.end(), name,
                         [](const std::pair<std::string, std::size_t>& entry,
                            std::string_view key) { return std::string_view(entry.first) < key; });
    if (it == by_name_.end() || it->first != name) {
      continue;  // not a column: cesync's own fields and anything else
    }
    const std::size_t column = it->second;
    if (seen[column]) {
      return fail(ErrorCode::kInvalidArgument,
                  "column " + it->first + ": appears twice in the document");
    }
    seen[column] = true;
    auto value = fromJson(*schema_.columns[column].type, field.value());
    if (!value) {
      return tl::unexpected(withContext("column " + it->first, std::move(value).error()));
    }
    values[column] = std::move(*value);
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!is_key_[i]) {
      continue;
    }
    if (!seen[i]) {
      return fail(
          ErrorCode::kInvalidArgument,
          "column " + schema_.columns[i].name + ": primary key column missing from the document");
    }
    if (values[i].isNull()) {
      return fail(ErrorCode::kInvalidArgument,
                  "column " + schema_.columns[i].name + ": primary key column is null");
    }
  }
  return values;
}

Result<std::vector<Value>> rowFromDocument(const TableSchema& schema, std::string_view source) {
  DocValues reader(schema);
  return reader.row(source);
}

}  // namespace cesync::sync
