#include "cql/types/value.h"

#include <arpa/inet.h>

#include <cinttypes>
#include <cstdio>

namespace cesync::cql {

bool InetAddress::parse(std::string_view text, InetAddress& out) {
  const std::string s(text);
  out = InetAddress{};
  if (inet_pton(AF_INET, s.c_str(), out.bytes.data()) == 1) {
    out.size = 4;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), out.bytes.data()) == 1) {
    out.size = 16;
    return true;
  }
  out.size = 0;
  return false;
}

std::string InetAddress::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(size == 4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf) == nullptr) {
    return "?";
  }
  return buf;
}

Value Value::null(TypeKind kind) {
  return Value(kind, std::monostate{});
}

Value Value::unset() {
  Value v;
  v.unset_ = true;
  return v;
}

Value Value::boolean(bool v) {
  return {TypeKind::kBoolean, v};
}
Value Value::tinyint(std::int8_t v) {
  return {TypeKind::kTinyint, std::int64_t{v}};
}
Value Value::smallint(std::int16_t v) {
  return {TypeKind::kSmallint, std::int64_t{v}};
}
Value Value::integer(std::int32_t v) {
  return {TypeKind::kInt, std::int64_t{v}};
}
Value Value::bigint(std::int64_t v) {
  return {TypeKind::kBigint, v};
}
Value Value::counter(std::int64_t v) {
  return {TypeKind::kCounter, v};
}
Value Value::timestamp(std::int64_t millis) {
  return {TypeKind::kTimestamp, millis};
}
Value Value::date(std::int32_t days) {
  return {TypeKind::kDate, std::int64_t{days}};
}
Value Value::time(std::int64_t nanos) {
  return {TypeKind::kTime, nanos};
}
Value Value::floating(float v) {
  return {TypeKind::kFloat, static_cast<double>(v)};
}
Value Value::doublePrecision(double v) {
  return {TypeKind::kDouble, v};
}
Value Value::text(std::string v) {
  return {TypeKind::kVarchar, std::move(v)};
}
Value Value::ascii(std::string v) {
  return {TypeKind::kAscii, std::move(v)};
}
Value Value::blob(Bytes v) {
  return {TypeKind::kBlob, std::move(v)};
}
Value Value::varint(Bytes v) {
  return {TypeKind::kVarint, std::move(v)};
}
Value Value::varintFromInt(std::int64_t v) {
  return {TypeKind::kVarint, varintFromInt64(v)};
}
Value Value::decimal(Decimal v) {
  return {TypeKind::kDecimal, std::move(v)};
}
Value Value::duration(Duration v) {
  return {TypeKind::kDuration, v};
}
Value Value::uuid(const UuidBytes& v) {
  return {TypeKind::kUuid, v};
}
Value Value::timeuuid(const UuidBytes& v) {
  return {TypeKind::kTimeuuid, v};
}
Value Value::inet(const InetAddress& v) {
  return {TypeKind::kInet, v};
}
Value Value::list(std::vector<Value> e) {
  return {TypeKind::kList, std::move(e)};
}
Value Value::set(std::vector<Value> e) {
  return {TypeKind::kSet, std::move(e)};
}
Value Value::tuple(std::vector<Value> c) {
  return {TypeKind::kTuple, std::move(c)};
}
Value Value::vector(std::vector<Value> e) {
  return {TypeKind::kVector, std::move(e)};
}
Value Value::map(MapEntries entries) {
  return {TypeKind::kMap, std::move(entries)};
}

Value Value::udt(std::vector<std::string> field_names, std::vector<Value> fields) {
  Value v(TypeKind::kUdt, std::move(fields));
  v.field_names_ = std::move(field_names);
  return v;
}

Bytes varintFromInt64(std::int64_t v) {
  Bytes out;
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(v) >> shift));
  }
  // Drop leading bytes that only repeat the sign.
  std::size_t drop = 0;
  while (drop + 1 < out.size() && ((out[drop] == 0x00 && (out[drop + 1] & 0x80) == 0) ||
                                   (out[drop] == 0xFF && (out[drop + 1] & 0x80) != 0))) {
    ++drop;
  }
  out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(drop));
  return out;
}

std::string varintToString(ByteView bytes) {
  if (bytes.empty()) {
    return "0";
  }
  const bool negative = (bytes[0] & 0x80) != 0;
  // Magnitude, big-endian, as 32-bit limbs would be faster; bytes keep it short and simple.
  Bytes mag(bytes.begin(), bytes.end());
  if (negative) {
    for (auto& b : mag) {
      b = static_cast<std::uint8_t>(~b);
    }
    for (std::size_t i = mag.size(); i > 0; --i) {
      if (++mag[i - 1] != 0) {
        break;
      }
    }
  }
  std::string digits;
  bool nonzero = true;
  while (nonzero) {
    nonzero = false;
    std::uint32_t rem = 0;
    for (auto& b : mag) {
      const std::uint32_t cur = (rem << 8) | b;
      b = static_cast<std::uint8_t>(cur / 10);
      rem = cur % 10;
      nonzero = nonzero || b != 0;
    }
    digits.push_back(static_cast<char>('0' + rem));
  }
  if (negative) {
    digits.push_back('-');
  }
  return {digits.rbegin(), digits.rend()};
}

namespace {

std::string hex(ByteView b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(b.size() * 2);
  for (const auto c : b) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out.push_back(c);
    }
  }
  return out + "\"";
}

std::string joined(const std::vector<Value>& values, const char* open, const char* close) {
  std::string out = open;
  for (std::size_t i = 0; i < values.size(); ++i) {
    out += (i ? ", " : "") + values[i].toString();
  }
  return out + close;
}

}  // namespace

std::string Value::toString() const {
  if (unset_) {
    return "unset";
  }
  if (isNull()) {
    return "null";
  }
  switch (kind_) {
    case TypeKind::kBoolean:
      return asBool() ? "true" : "false";
    case TypeKind::kTinyint:
    case TypeKind::kSmallint:
    case TypeKind::kInt:
    case TypeKind::kBigint:
    case TypeKind::kCounter:
    case TypeKind::kTimestamp:
    case TypeKind::kDate:
    case TypeKind::kTime:
      return std::to_string(asInt());
    case TypeKind::kFloat:
    case TypeKind::kDouble: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", asDouble());
      return buf;
    }
    case TypeKind::kAscii:
    case TypeKind::kVarchar:
      return quoted(asString());
    case TypeKind::kBlob:
    case TypeKind::kCustom:
      return "0x" + hex(asBytes());
    case TypeKind::kVarint:
      return varintToString(asBytes());
    case TypeKind::kDecimal:
      return varintToString(asDecimal().unscaled) + "e" + std::to_string(-asDecimal().scale);
    case TypeKind::kDuration: {
      const auto& d = asDuration();
      return std::to_string(d.months) + "mo" + std::to_string(d.days) + "d" +
             std::to_string(d.nanos) + "ns";
    }
    case TypeKind::kUuid:
    case TypeKind::kTimeuuid: {
      const std::string h = hex(asUuid());
      return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
             "-" + h.substr(20);
    }
    case TypeKind::kInet:
      return asInet().toString();
    case TypeKind::kList:
    case TypeKind::kVector:
      return joined(elements(), "[", "]");
    case TypeKind::kSet:
      return joined(elements(), "{", "}");
    case TypeKind::kTuple:
      return joined(elements(), "(", ")");
    case TypeKind::kMap: {
      std::string out = "{";
      const auto& e = entries();
      for (std::size_t i = 0; i < e.size(); ++i) {
        out += (i ? ", " : "") + e[i].first.toString() + ": " + e[i].second.toString();
      }
      return out + "}";
    }
    case TypeKind::kUdt: {
      std::string out = "{";
      const auto& f = elements();
      for (std::size_t i = 0; i < f.size(); ++i) {
        const std::string name = i < field_names_.size() ? field_names_[i] : std::to_string(i);
        out += (i ? ", " : "") + name + ": " + f[i].toString();
      }
      return out + "}";
    }
  }
  return "?";
}

}  // namespace cesync::cql
