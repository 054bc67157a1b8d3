#include "cql/types/value_codec.h"

#include <bit>
#include <cstring>
#include <limits>
#include <string>

#include "cql/wire/byte_reader.h"

namespace cesync::cql {
namespace {

constexpr std::int64_t kDateEpoch = std::int64_t{1} << 31;
// Collections larger than this many elements in one cell are treated as corrupt input.
constexpr std::int32_t kMaxElements = 1 << 26;

Error protocolError(const CqlType& type, const std::string& what) {
  return makeError(ErrorCode::kProtocol, "bad " + type.toString() + " value: " + what);
}

std::int64_t readBigEndian(ByteView b) {
  std::uint64_t v = 0;
  for (const auto c : b) {
    v = (v << 8) | c;
  }
  // Sign-extend from the width read.
  const auto bits = static_cast<unsigned>(b.size() * 8);
  if (bits < 64 && bits > 0 && (v >> (bits - 1)) != 0) {
    v |= ~std::uint64_t{0} << bits;
  }
  return static_cast<std::int64_t>(v);
}

void putBigEndian(Bytes& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = n; i > 0; --i) {
    out.push_back(static_cast<std::uint8_t>(v >> (8 * (i - 1))));
  }
}

Result<Value> decodeFixedInt(const CqlType& type, ByteView b, std::size_t width) {
  if (b.size() != width) {
    return tl::unexpected(protocolError(
        type, std::to_string(b.size()) + " bytes, expected " + std::to_string(width)));
  }
  const std::int64_t v = readBigEndian(b);
  if (type.kind == TypeKind::kTinyint) {
    return Value::tinyint(static_cast<std::int8_t>(v));
  }
  if (type.kind == TypeKind::kSmallint) {
    return Value::smallint(static_cast<std::int16_t>(v));
  }
  if (type.kind == TypeKind::kInt) {
    return Value::integer(static_cast<std::int32_t>(v));
  }
  if (type.kind == TypeKind::kCounter) {
    return Value::counter(v);
  }
  if (type.kind == TypeKind::kTimestamp) {
    return Value::timestamp(v);
  }
  if (type.kind == TypeKind::kTime) {
    return Value::time(v);
  }
  if (type.kind == TypeKind::kDate) {
    const auto raw = static_cast<std::int64_t>(static_cast<std::uint64_t>(v) & 0xFFFFFFFFU);
    return Value::date(static_cast<std::int32_t>(raw - kDateEpoch));
  }
  return Value::bigint(v);
}

Result<std::vector<Value>> decodeElements(const CqlType& type, const CqlType& element,
                                          ByteReader& r, std::int32_t n) {
  std::vector<Value> out;
  out.reserve(static_cast<std::size_t>(std::min<std::int32_t>(n, 1024)));
  for (std::int32_t i = 0; i < n; ++i) {
    CESYNC_ASSIGN_OR_RETURN(cell, r.readBytes());
    CESYNC_ASSIGN_OR_RETURN(v, decodeCell(element, cell));
    out.push_back(std::move(v));
  }
  (void)type;
  return out;
}

Result<std::int32_t> readCount(const CqlType& type, ByteReader& r) {
  CESYNC_ASSIGN_OR_RETURN(n, r.readInt());
  // Each element takes at least 4 bytes ([bytes] length), which bounds an honest count.
  if (n < 0 || n > kMaxElements || static_cast<std::size_t>(n) > r.remaining() / 4 + 1) {
    return tl::unexpected(protocolError(type, "element count " + std::to_string(n)));
  }
  return n;
}

Result<Value> decodeVector(const CqlType& type, ByteView b) {
  const CqlType& element = *type.params.at(0);
  ByteReader r(b);
  std::vector<Value> out;
  out.reserve(type.dimension);
  const auto fixed = element.fixedSize();
  for (std::uint32_t i = 0; i < type.dimension; ++i) {
    std::size_t size = 0;
    if (fixed) {
      size = *fixed;
    } else {
      CESYNC_ASSIGN_OR_RETURN(len, r.readUnsignedVint());
      if (len > r.remaining()) {
        return tl::unexpected(protocolError(type, "element length " + std::to_string(len)));
      }
      size = static_cast<std::size_t>(len);
    }
    CESYNC_ASSIGN_OR_RETURN(raw, r.readRaw(size));
    CESYNC_ASSIGN_OR_RETURN(v, decodeValue(element, raw));
    out.push_back(std::move(v));
  }
  if (!r.empty()) {
    return tl::unexpected(protocolError(type, std::to_string(r.remaining()) + " trailing bytes"));
  }
  return Value::vector(std::move(out));
}

}  // namespace

Result<Value> decodeCell(const CqlType& type, std::optional<ByteView> bytes) {
  if (!bytes) {
    return Value::null(type.kind);
  }
  return decodeValue(type, *bytes);
}

Result<Value> decodeValue(const CqlType& type, ByteView b) {
  switch (type.kind) {
    case TypeKind::kAscii:
    case TypeKind::kVarchar: {
      std::string s(asChars(b));
      return type.kind == TypeKind::kAscii ? Value::ascii(std::move(s)) : Value::text(std::move(s));
    }
    case TypeKind::kBlob:
    case TypeKind::kCustom: {
      Value v = Value::blob(Bytes(b.begin(), b.end()));
      return v;
    }
    case TypeKind::kBoolean:
      if (b.empty()) {
        return Value::null(type.kind);
      }
      if (b.size() != 1) {
        return tl::unexpected(protocolError(type, std::to_string(b.size()) + " bytes"));
      }
      return Value::boolean(b[0] != 0);
    case TypeKind::kTinyint:
      return b.empty() ? Value::null(type.kind) : decodeFixedInt(type, b, 1);
    case TypeKind::kSmallint:
      return b.empty() ? Value::null(type.kind) : decodeFixedInt(type, b, 2);
    case TypeKind::kInt:
    case TypeKind::kDate:
      return b.empty() ? Value::null(type.kind) : decodeFixedInt(type, b, 4);
    case TypeKind::kBigint:
    case TypeKind::kCounter:
    case TypeKind::kTimestamp:
    case TypeKind::kTime:
      return b.empty() ? Value::null(type.kind) : decodeFixedInt(type, b, 8);
    case TypeKind::kFloat: {
      if (b.empty()) {
        return Value::null(type.kind);
      }
      if (b.size() != 4) {
        return tl::unexpected(protocolError(type, std::to_string(b.size()) + " bytes"));
      }
      const auto bits = static_cast<std::uint32_t>(readBigEndian(b));
      return Value::floating(std::bit_cast<float>(bits));
    }
    case TypeKind::kDouble: {
      if (b.empty()) {
        return Value::null(type.kind);
      }
      if (b.size() != 8) {
        return tl::unexpected(protocolError(type, std::to_string(b.size()) + " bytes"));
      }
      return Value::doublePrecision(
          std::bit_cast<double>(static_cast<std::uint64_t>(readBigEndian(b))));
    }
    case TypeKind::kUuid:
    case TypeKind::kTimeuuid: {
      if (b.empty()) {
        return Value::null(type.kind);
      }
      if (b.size() != 16) {
        return tl::unexpected(protocolError(type, std::to_string(b.size()) + " bytes"));
      }
      UuidBytes u{};
      std::memcpy(u.data(), b.data(), 16);
      return type.kind == TypeKind::kUuid ? Value::uuid(u) : Value::timeuuid(u);
    }
    case TypeKind::kVarint:
      if (b.empty()) {
        return Value::null(type.kind);
      }
      return Value::varint(Bytes(b.begin(), b.end()));
    case TypeKind::kDecimal: {
      if (b.empty()) {
        return Value::null(type.kind);
      }
      ByteReader r(b);
      CESYNC_ASSIGN_OR_RETURN(scale, r.readInt());
      const ByteView rest = r.rest();
      return Value::decimal(Decimal{Bytes(rest.begin(), rest.end()), scale});
    }
    case TypeKind::kInet: {
      if (b.empty()) {
        return Value::null(type.kind);
      }
      if (b.size() != 4 && b.size() != 16) {
        return tl::unexpected(protocolError(type, std::to_string(b.size()) + " bytes"));
      }
      InetAddress a;
      a.size = static_cast<std::uint8_t>(b.size());
      std::memcpy(a.bytes.data(), b.data(), b.size());
      return Value::inet(a);
    }
    case TypeKind::kDuration: {
      ByteReader r(b);
      CESYNC_ASSIGN_OR_RETURN(months, r.readVint());
      CESYNC_ASSIGN_OR_RETURN(days, r.readVint());
      CESYNC_ASSIGN_OR_RETURN(nanos, r.readVint());
      if (months < std::numeric_limits<std::int32_t>::min() ||
          months > std::numeric_limits<std::int32_t>::max() ||
          days < std::numeric_limits<std::int32_t>::min() ||
          days > std::numeric_limits<std::int32_t>::max()) {
        return tl::unexpected(protocolError(type, "months or days out of range"));
      }
      return Value::duration(
          Duration{static_cast<std::int32_t>(months), static_cast<std::int32_t>(days), nanos});
    }
    case TypeKind::kList:
    case TypeKind::kSet: {
      ByteReader r(b);
      CESYNC_ASSIGN_OR_RETURN(n, readCount(type, r));
      CESYNC_ASSIGN_OR_RETURN(elements, decodeElements(type, *type.params.at(0), r, n));
      return type.kind == TypeKind::kList ? Value::list(std::move(elements))
                                          : Value::set(std::move(elements));
    }
    case TypeKind::kMap: {
      ByteReader r(b);
      CESYNC_ASSIGN_OR_RETURN(n, readCount(type, r));
      MapEntries entries;
      entries.reserve(static_cast<std::size_t>(std::min<std::int32_t>(n, 1024)));
      for (std::int32_t i = 0; i < n; ++i) {
        CESYNC_ASSIGN_OR_RETURN(kb, r.readBytes());
        CESYNC_ASSIGN_OR_RETURN(key, decodeCell(*type.params.at(0), kb));
        CESYNC_ASSIGN_OR_RETURN(vb, r.readBytes());
        CESYNC_ASSIGN_OR_RETURN(val, decodeCell(*type.params.at(1), vb));
        entries.emplace_back(std::move(key), std::move(val));
      }
      return Value::map(std::move(entries));
    }
    case TypeKind::kTuple:
    case TypeKind::kUdt: {
      ByteReader r(b);
      std::vector<Value> fields;
      fields.reserve(type.params.size());
      for (const auto& field_type : type.params) {
        // A UDT value may stop early: the missing trailing fields are null.
        if (r.empty()) {
          fields.push_back(Value::null(field_type->kind));
          continue;
        }
        CESYNC_ASSIGN_OR_RETURN(cell, r.readBytes());
        CESYNC_ASSIGN_OR_RETURN(v, decodeCell(*field_type, cell));
        fields.push_back(std::move(v));
      }
      if (type.kind == TypeKind::kTuple) {
        return Value::tuple(std::move(fields));
      }
      return Value::udt(type.field_names, std::move(fields));
    }
    case TypeKind::kVector:
      return decodeVector(type, b);
  }
  return tl::unexpected(protocolError(type, "unsupported type"));
}

namespace {

Error mismatch(const CqlType& type, const Value& value) {
  return makeError(ErrorCode::kInvalidArgument, "cannot encode " + inferType(value)->toString() +
                                                    " value " + value.toString().substr(0, 64) +
                                                    " as " + type.toString());
}

Status encodeInt(const CqlType& type, const Value& value, std::int64_t lo, std::int64_t hi,
                 std::size_t width, Bytes& out) {
  if (!isIntegerKind(value.kind())) {
    return tl::unexpected(mismatch(type, value));
  }
  const std::int64_t v = value.asInt();
  if (v < lo || v > hi) {
    return fail(ErrorCode::kInvalidArgument,
                std::to_string(v) + " is out of range for " + type.toString());
  }
  putBigEndian(out, static_cast<std::uint64_t>(v), width);
  return {};
}

Status encodeElements(const CqlType& type, const CqlType& element, const std::vector<Value>& values,
                      Bytes& out) {
  ByteWriter w(out);
  w.writeInt(static_cast<std::int32_t>(values.size()));
  for (const auto& v : values) {
    CESYNC_TRY(writeValue(element, v, w));
  }
  (void)type;
  return {};
}

}  // namespace

Status writeValue(const CqlType& type, const Value& value, ByteWriter& writer) {
  if (value.isUnset()) {
    writer.writeUnset();
    return {};
  }
  if (value.isNull()) {
    writer.writeNull();
    return {};
  }
  const std::size_t at = writer.reserveInt();
  CESYNC_TRY(encodeValue(type, value, writer.buffer()));
  const std::size_t len = writer.size() - at - 4;
  if (len > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    return fail(ErrorCode::kInvalidArgument, "value of " + std::to_string(len) + " bytes");
  }
  writer.patchInt(at, static_cast<std::int32_t>(len));
  return {};
}

Status encodeValue(const CqlType& type, const Value& value, Bytes& out) {
  if (value.isNull() || value.isUnset()) {
    return fail(ErrorCode::kInvalidArgument, "null inside " + type.toString());
  }
  switch (type.kind) {
    case TypeKind::kAscii:
    case TypeKind::kVarchar:
      if (value.kind() != TypeKind::kAscii && value.kind() != TypeKind::kVarchar) {
        return tl::unexpected(mismatch(type, value));
      }
      out.insert(out.end(), value.asString().begin(), value.asString().end());
      return {};
    case TypeKind::kBlob:
    case TypeKind::kCustom:
      if (value.kind() == TypeKind::kAscii || value.kind() == TypeKind::kVarchar) {
        out.insert(out.end(), value.asString().begin(), value.asString().end());
        return {};
      }
      if (value.kind() != TypeKind::kBlob && value.kind() != TypeKind::kCustom) {
        return tl::unexpected(mismatch(type, value));
      }
      out.insert(out.end(), value.asBytes().begin(), value.asBytes().end());
      return {};
    case TypeKind::kBoolean:
      if (value.kind() != TypeKind::kBoolean) {
        return tl::unexpected(mismatch(type, value));
      }
      out.push_back(value.asBool() ? 1 : 0);
      return {};
    case TypeKind::kTinyint:
      return encodeInt(type, value, -128, 127, 1, out);
    case TypeKind::kSmallint:
      return encodeInt(type, value, -32768, 32767, 2, out);
    case TypeKind::kInt:
      return encodeInt(type, value, std::numeric_limits<std::int32_t>::min(),
                       std::numeric_limits<std::int32_t>::max(), 4, out);
    case TypeKind::kDate: {
      if (!isIntegerKind(value.kind())) {
        return tl::unexpected(mismatch(type, value));
      }
      const std::int64_t raw = value.asInt() + kDateEpoch;
      if (raw < 0 || raw > std::numeric_limits<std::uint32_t>::max()) {
        return fail(ErrorCode::kInvalidArgument, "date out of range");
      }
      putBigEndian(out, static_cast<std::uint64_t>(raw), 4);
      return {};
    }
    case TypeKind::kBigint:
    case TypeKind::kCounter:
    case TypeKind::kTimestamp:
      return encodeInt(type, value, std::numeric_limits<std::int64_t>::min(),
                       std::numeric_limits<std::int64_t>::max(), 8, out);
    case TypeKind::kTime:
      return encodeInt(type, value, 0, 86'399'999'999'999, 8, out);
    case TypeKind::kFloat:
    case TypeKind::kDouble: {
      double d = 0;
      if (value.kind() == TypeKind::kFloat || value.kind() == TypeKind::kDouble) {
        d = value.asDouble();
      } else if (isIntegerKind(value.kind())) {
        d = static_cast<double>(value.asInt());
      } else {
        return tl::unexpected(mismatch(type, value));
      }
      if (type.kind == TypeKind::kFloat) {
        putBigEndian(out, std::bit_cast<std::uint32_t>(static_cast<float>(d)), 4);
      } else {
        putBigEndian(out, std::bit_cast<std::uint64_t>(d), 8);
      }
      return {};
    }
    case TypeKind::kUuid:
    case TypeKind::kTimeuuid:
      if (value.kind() != TypeKind::kUuid && value.kind() != TypeKind::kTimeuuid) {
        return tl::unexpected(mismatch(type, value));
      }
      out.insert(out.end(), value.asUuid().begin(), value.asUuid().end());
      return {};
    case TypeKind::kVarint:
      if (value.kind() == TypeKind::kVarint) {
        out.insert(out.end(), value.asBytes().begin(), value.asBytes().end());
        return {};
      }
      if (!isIntegerKind(value.kind())) {
        return tl::unexpected(mismatch(type, value));
      }
      {
        const Bytes b = varintFromInt64(value.asInt());
        out.insert(out.end(), b.begin(), b.end());
      }
      return {};
    case TypeKind::kDecimal: {
      if (value.kind() != TypeKind::kDecimal) {
        return tl::unexpected(mismatch(type, value));
      }
      ByteWriter w(out);
      w.writeInt(value.asDecimal().scale);
      w.writeRaw(value.asDecimal().unscaled);
      return {};
    }
    case TypeKind::kInet:
      if (value.kind() != TypeKind::kInet) {
        return tl::unexpected(mismatch(type, value));
      }
      out.insert(out.end(), value.asInet().bytes.begin(),
                 value.asInet().bytes.begin() + value.asInet().size);
      return {};
    case TypeKind::kDuration: {
      if (value.kind() != TypeKind::kDuration) {
        return tl::unexpected(mismatch(type, value));
      }
      ByteWriter w(out);
      w.writeVint(value.asDuration().months);
      w.writeVint(value.asDuration().days);
      w.writeVint(value.asDuration().nanos);
      return {};
    }
    case TypeKind::kList:
    case TypeKind::kSet:
      if (value.kind() != TypeKind::kList && value.kind() != TypeKind::kSet &&
          value.kind() != TypeKind::kVector) {
        return tl::unexpected(mismatch(type, value));
      }
      return encodeElements(type, *type.params.at(0), value.elements(), out);
    case TypeKind::kMap: {
      if (value.kind() != TypeKind::kMap) {
        return tl::unexpected(mismatch(type, value));
      }
      ByteWriter w(out);
      w.writeInt(static_cast<std::int32_t>(value.entries().size()));
      for (const auto& [k, v] : value.entries()) {
        CESYNC_TRY(writeValue(*type.params.at(0), k, w));
        CESYNC_TRY(writeValue(*type.params.at(1), v, w));
      }
      return {};
    }
    case TypeKind::kTuple:
    case TypeKind::kUdt: {
      if (value.kind() != TypeKind::kTuple && value.kind() != TypeKind::kUdt) {
        return tl::unexpected(mismatch(type, value));
      }
      const auto& fields = value.elements();
      if (fields.size() > type.params.size()) {
        return fail(ErrorCode::kInvalidArgument,
                    std::to_string(fields.size()) + " components for " + type.toString());
      }
      ByteWriter w(out);
      for (std::size_t i = 0; i < type.params.size(); ++i) {
        // Missing trailing components are sent as null.
        if (i >= fields.size()) {
          w.writeNull();
          continue;
        }
        if (fields[i].isUnset()) {
          return fail(ErrorCode::kInvalidArgument, "unset inside " + type.toString());
        }
        CESYNC_TRY(writeValue(*type.params[i], fields[i], w));
      }
      return {};
    }
    case TypeKind::kVector: {
      if (value.kind() != TypeKind::kVector && value.kind() != TypeKind::kList) {
        return tl::unexpected(mismatch(type, value));
      }
      const auto& elements = value.elements();
      if (elements.size() != type.dimension) {
        return fail(ErrorCode::kInvalidArgument,
                    std::to_string(elements.size()) + " elements for " + type.toString());
      }
      const CqlType& element = *type.params.at(0);
      const bool fixed = element.fixedSize().has_value();
      Bytes cell;
      for (const auto& e : elements) {
        if (e.isNull() || e.isUnset()) {
          return fail(ErrorCode::kInvalidArgument, "null element in " + type.toString());
        }
        cell.clear();
        CESYNC_TRY(encodeValue(element, e, cell));
        if (!fixed) {
          ByteWriter(out).writeUnsignedVint(cell.size());
        }
        out.insert(out.end(), cell.begin(), cell.end());
      }
      return {};
    }
  }
  return tl::unexpected(mismatch(type, value));
}

CqlTypePtr inferType(const Value& value) {
  switch (value.kind()) {
    case TypeKind::kList:
    case TypeKind::kSet:
    case TypeKind::kVector: {
      const auto& e = value.isNull() ? std::vector<Value>{} : value.elements();
      CqlTypePtr element = e.empty() ? CqlType::scalar(TypeKind::kVarchar) : inferType(e[0]);
      if (value.kind() == TypeKind::kList) {
        return CqlType::list(element);
      }
      if (value.kind() == TypeKind::kSet) {
        return CqlType::set(element);
      }
      return CqlType::vector(element, static_cast<std::uint32_t>(e.size()));
    }
    case TypeKind::kMap: {
      if (value.isNull() || value.entries().empty()) {
        return CqlType::map(CqlType::scalar(TypeKind::kVarchar),
                            CqlType::scalar(TypeKind::kVarchar));
      }
      return CqlType::map(inferType(value.entries()[0].first),
                          inferType(value.entries()[0].second));
    }
    case TypeKind::kTuple:
    case TypeKind::kUdt: {
      std::vector<CqlTypePtr> types;
      if (!value.isNull()) {
        for (const auto& f : value.elements()) {
          types.push_back(inferType(f));
        }
      }
      if (value.kind() == TypeKind::kTuple) {
        return CqlType::tuple(std::move(types));
      }
      return CqlType::udt("", "udt", value.fieldNames(), std::move(types));
    }
    case TypeKind::kCustom:
    case TypeKind::kAscii:
    case TypeKind::kBigint:
    case TypeKind::kBlob:
    case TypeKind::kBoolean:
    case TypeKind::kCounter:
    case TypeKind::kDecimal:
    case TypeKind::kDouble:
    case TypeKind::kFloat:
    case TypeKind::kInt:
    case TypeKind::kTimestamp:
    case TypeKind::kUuid:
    case TypeKind::kVarchar:
    case TypeKind::kVarint:
    case TypeKind::kTimeuuid:
    case TypeKind::kInet:
    case TypeKind::kDate:
    case TypeKind::kTime:
    case TypeKind::kSmallint:
    case TypeKind::kTinyint:
    case TypeKind::kDuration:
      return CqlType::scalar(value.kind());
  }
  return CqlType::scalar(TypeKind::kBlob);
}

}  // namespace cesync::cql
