#include "sync/to_search/doc_builder.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "sync/doc_fields.h"
#include "util/base64.h"

namespace cesync::sync {
namespace {

using cql::TypeKind;
using cql::Value;

struct CivilDate {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

// Days since 1970-01-01 to a proleptic Gregorian date (any sign; the well-known era-based
// conversion).
CivilDate civilFromDays(std::int64_t days) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<std::uint64_t>(days - era * 146097);
  const std::uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::uint64_t mp = (5 * doy + 2) / 153;
  const auto day = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  const auto month = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  const std::int64_t year = static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
  return {year, month, day};
}

std::int64_t floorDiv(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

// ISO-8601 years: four digits for 0000..9999, else a sign and at least four digits (expanded
// form).
void appendYear(std::string& out, std::int64_t year) {
  char buf[64];
  if (year >= 0 && year <= 9999) {
    std::snprintf(buf, sizeof buf, "%04lld", static_cast<long long>(year));
  } else {
    std::snprintf(buf, sizeof buf, "%c%04lld", year < 0 ? '-' : '+',
                  static_cast<long long>(year < 0 ? -year : year));
  }
  out += buf;
}

void appendDate(std::string& out, std::int64_t days) {
  const CivilDate d = civilFromDays(days);
  appendYear(out, d.year);
  char buf[64];
  std::snprintf(buf, sizeof buf, "-%02u-%02u", d.month, d.day);
  out += buf;
}

void appendTimestamp(std::string& out, std::int64_t millis) {
  const std::int64_t days = floorDiv(millis, 86'400'000);
  const std::int64_t ms_of_day = millis - days * 86'400'000;
  appendDate(out, days);
  char buf[64];
  std::snprintf(buf, sizeof buf, "T%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(ms_of_day / 3'600'000),
                static_cast<long long>(ms_of_day / 60'000 % 60),
                static_cast<long long>(ms_of_day / 1000 % 60),
                static_cast<long long>(ms_of_day % 1000));
  out += buf;
}

void appendTime(std::string& out, std::int64_t nanos) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld.%09lld",
                static_cast<long long>(nanos / 3'600'000'000'000),
                static_cast<long long>(nanos / 60'000'000'000 % 60),
                static_cast<long long>(nanos / 1'000'000'000 % 60),
                static_cast<long long>(nanos % 1'000'000'000));
  out += buf;
}

void appendUuid(std::string& out, const cql::UuidBytes& u) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < u.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out.push_back('-');
    }
    out.push_back(kHex[u[i] >> 4]);
    out.push_back(kHex[u[i] & 0x0f]);
  }
}

std::string inetText(const cql::InetAddress& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(a.size == 4 ? AF_INET : AF_INET6, a.bytes.data(), buf, sizeof buf);
  return buf;
}

// unscaled * 10^-scale in plain notation, exactly: 12345 scale 2 -> "123.45", scale -2 ->
// "1234500", 12 scale 5 -> "0.00012".
std::string decimalText(const cql::Decimal& d) {
  std::string digits = cql::varintToString(d.unscaled);
  const bool negative = !digits.empty() && digits[0] == '-';
  if (negative) {
    digits.erase(0, 1);
  }
  if (d.scale <= 0) {
    if (digits != "0") {
      digits.append(static_cast<std::size_t>(-static_cast<std::int64_t>(d.scale)), '0');
    }
  } else {
    const auto scale = static_cast<std::size_t>(d.scale);
    if (digits.size() <= scale) {
      digits.insert(0, scale - digits.size() + 1, '0');
    }
    digits.insert(digits.size() - scale, 1, '.');
  }
  return negative ? "-" + digits : digits;
}

std::string bytesText(const cql::Bytes& b) {
  return util::base64Encode(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

void appendFloat(util::JsonWriter& w, double d) {
  if (!std::isfinite(d)) {
    w.null();
    return;
  }
  // A float printed through double would show its binary expansion (0.1f -> 0.100000001...);
  // the shortest float form round-trips exactly.
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<float>(d));
  w.rawValue(std::string_view(buf, static_cast<std::size_t>(end - buf)));
}

}  // namespace

void appendValueJson(util::JsonWriter& w, const Value& v) {
  if (v.isNull()) {
    w.null();
    return;
  }
  switch (v.kind()) {
    case TypeKind::kAscii:
    case TypeKind::kVarchar:
      w.value(v.asString());
      return;
    case TypeKind::kBoolean:
      w.value(v.asBool());
      return;
    case TypeKind::kTinyint:
    case TypeKind::kSmallint:
    case TypeKind::kInt:
    case TypeKind::kBigint:
    case TypeKind::kCounter:
      w.value(v.asInt());
      return;
    case TypeKind::kFloat:
      appendFloat(w, v.asDouble());
      return;
    case TypeKind::kDouble:
      w.value(v.asDouble());
      return;
    case TypeKind::kVarint:
    case TypeKind::kDecimal:
    case TypeKind::kTimestamp:
    case TypeKind::kDate:
    case TypeKind::kTime:
    case TypeKind::kUuid:
    case TypeKind::kTimeuuid:
    case TypeKind::kInet:
    case TypeKind::kBlob:
    case TypeKind::kCustom:
      w.value(valueText(v));
      return;
    case TypeKind::kDuration: {
      const auto& d = v.asDuration();
      w.beginObject();
      w.key("months");
      w.value(d.months);
      w.key("days");
      w.value(d.days);
      w.key("nanoseconds");
      w.value(d.nanos);
      w.endObject();
      return;
    }
    case TypeKind::kList:
    case TypeKind::kSet:
    case TypeKind::kTuple:
    case TypeKind::kVector:
      w.beginArray();
      for (const auto& e : v.elements()) {
        appendValueJson(w, e);
      }
      w.endArray();
      return;
    case TypeKind::kMap:
      w.beginObject();
      for (const auto& [key, value] : v.entries()) {
        w.key(valueText(key));
        appendValueJson(w, value);
      }
      w.endObject();
      return;
    case TypeKind::kUdt: {
      w.beginObject();
      const auto& names = v.fieldNames();
      const auto& fields = v.elements();
      for (std::size_t i = 0; i < names.size(); ++i) {
        w.key(names[i]);
        if (i < fields.size()) {
          appendValueJson(w, fields[i]);
        } else {
          w.null();  // a UDT value may omit trailing fields: they are null
        }
      }
      w.endObject();
      return;
    }
  }
  w.null();
}

std::string valueText(const Value& v) {
  std::string out;
  if (v.isNull()) {
    return "null";
  }
  switch (v.kind()) {
    case TypeKind::kAscii:
    case TypeKind::kVarchar:
      return v.asString();
    case TypeKind::kBoolean:
      return v.asBool() ? "true" : "false";
    case TypeKind::kTinyint:
    case TypeKind::kSmallint:
    case TypeKind::kInt:
    case TypeKind::kBigint:
    case TypeKind::kCounter:
      return std::to_string(v.asInt());
    case TypeKind::kVarint:
      return cql::varintToString(v.asBytes());
    case TypeKind::kDecimal:
      return decimalText(v.asDecimal());
    case TypeKind::kTimestamp:
      appendTimestamp(out, v.asInt());
      return out;
    case TypeKind::kDate:
      appendDate(out, v.asInt());
      return out;
    case TypeKind::kTime:
      appendTime(out, v.asInt());
      return out;
    case TypeKind::kUuid:
    case TypeKind::kTimeuuid:
      appendUuid(out, v.asUuid());
      return out;
    case TypeKind::kInet:
      return inetText(v.asInet());
    case TypeKind::kBlob:
    case TypeKind::kCustom:
      return bytesText(v.asBytes());
    case TypeKind::kFloat:
    case TypeKind::kDouble:
    case TypeKind::kDuration:
    case TypeKind::kList:
    case TypeKind::kSet:
    case TypeKind::kTuple:
    case TypeKind::kVector:
    case TypeKind::kMap:
    case TypeKind::kUdt: {
      util::JsonWriter w(out);
      appendValueJson(w, v);
      return out;
    }
  }
  return out;
}

DocBuilder::DocBuilder(std::vector<std::size_t> field_columns, std::vector<std::size_t> key_columns,
                       std::string token_field, std::string id_field)
    : field_columns_(std::move(field_columns)),
      key_columns_(std::move(key_columns)),
      token_field_(std::move(token_field)),
      id_field_(std::move(id_field)) {}

Result<std::string> DocBuilder::documentId(const cql::Row& row) const {
  if (key_columns_.size() == 1) {
    CESYNC_ASSIGN_OR_RETURN(key, row.value(key_columns_[0]));
    return valueText(key);
  }
  std::string out;
  util::JsonWriter w(out);
  w.beginArray();
  for (const std::size_t column : key_columns_) {
    CESYNC_ASSIGN_OR_RETURN(part, row.value(column));
    appendValueJson(w, part);
  }
  w.endArray();
  return out;
}

Status DocBuilder::appendDocument(std::string& out, const cql::Row& row,
                                  const std::vector<cql::ColumnSpec>& columns, std::int64_t token,
                                  std::string_view id) const {
  util::JsonWriter w(out);
  w.beginObject();
  for (const std::size_t column : field_columns_) {
    CESYNC_ASSIGN_OR_RETURN(value, row.value(column));
    w.key(columns[column].name);
    appendValueJson(w, value);
  }
  if (!token_field_.empty()) {
    w.key(token_field_);
    w.value(token);
  }
  if (!id_field_.empty()) {
    w.key(id_field_);
    w.value(id);
  }
  w.endObject();
  return {};
}

DocBuilder documentBuilderFor(const TableSchema& schema) {
  std::vector<std::size_t> fields(schema.columns.size());
  for (std::size_t i = 0; i < fields.size(); ++i) {
    fields[i] = i;
  }
  std::vector<std::size_t> keys;
  for (const auto& name : schema.primaryKey()) {
    keys.push_back(static_cast<std::size_t>(schema.columnIndex(name)));
  }
  return DocBuilder(std::move(fields), std::move(keys), kTokenField, kIdField);
}

Status checkDocumentId(std::string_view id) {
  if (id.size() > kMaxDocumentIdBytes) {
    return fail(ErrorCode::kRejected, "the document id is " + std::to_string(id.size()) +
                                          " bytes long; the index accepts at most " +
                                          std::to_string(kMaxDocumentIdBytes));
  }
  return {};
}

}  // namespace cesync::sync
