#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "cql/types/cql_type.h"
#include "cql/wire/bytes.h"

namespace cesync::cql {

/// A decimal: unscaled two's-complement big-endian integer bytes and a scale
/// (value = unscaled * 10^-scale).
struct Decimal {
  Bytes unscaled;
  std::int32_t scale = 0;
  bool operator==(const Decimal&) const = default;
};

/// A duration: months, days and nanoseconds, each signed (all with the same sign).
struct Duration {
  std::int32_t months = 0;
  std::int32_t days = 0;
  std::int64_t nanos = 0;
  bool operator==(const Duration&) const = default;
};

/// An IPv4 (4 bytes) or IPv6 (16 bytes) address.
struct InetAddress {
  std::array<std::uint8_t, 16> bytes{};
  std::uint8_t size = 4;
  bool operator==(const InetAddress&) const = default;
  /// Parses dotted IPv4 or IPv6 text; nullopt-like empty size 0 on failure.
  static bool parse(std::string_view text, InetAddress& out);
  [[nodiscard]] std::string toString() const;
};

class Value;
using MapEntries = std::vector<std::pair<Value, Value>>;

/// A CQL value of any type, as a tree: scalars hold their value, collections, tuples, vectors
/// and UDTs hold child Values. The kind says which CQL type the value is meant as, so a Value
/// can be encoded without server metadata (for unprepared queries) and converted when it is.
///
/// Storage by kind: integers (tinyint, smallint, int, bigint, counter, timestamp in ms since the
/// epoch, date as days since the epoch, time as ns since midnight) as int64; float and double as
/// double; ascii and text as std::string; blob and varint (two's complement big-endian) as
/// Bytes; uuid and timeuuid as 16 bytes; list, set, tuple, vector and UDT as child Values (UDT
/// with field names); map as key/value pairs.
class Value {
 public:
  /// A null value of unspecified type.
  Value() = default;

  static Value null(TypeKind kind = TypeKind::kBlob);
  /// "Not set": a bound value that leaves the column unchanged (v4+).
  static Value unset();
  static Value boolean(bool v);
  static Value tinyint(std::int8_t v);
  static Value smallint(std::int16_t v);
  static Value integer(std::int32_t v);
  static Value bigint(std::int64_t v);
  static Value counter(std::int64_t v);
  static Value timestamp(std::int64_t millis_since_epoch);
  static Value date(std::int32_t days_since_epoch);
  static Value time(std::int64_t nanos_since_midnight);
  static Value floating(float v);
  static Value doublePrecision(double v);
  static Value text(std::string v);
  static Value ascii(std::string v);
  static Value blob(Bytes v);
  static Value varint(Bytes twos_complement_big_endian);
  /// A varint from a machine integer (minimal two's-complement encoding).
  static Value varintFromInt(std::int64_t v);
  static Value decimal(Decimal v);
  static Value duration(Duration v);
  static Value uuid(const UuidBytes& v);
  static Value timeuuid(const UuidBytes& v);
  static Value inet(const InetAddress& v);
  static Value list(std::vector<Value> elements);
  static Value set(std::vector<Value> elements);
  static Value tuple(std::vector<Value> components);
  static Value vector(std::vector<Value> elements);
  static Value map(MapEntries entries);
  static Value udt(std::vector<std::string> field_names, std::vector<Value> fields);

  [[nodiscard]] TypeKind kind() const { return kind_; }
  [[nodiscard]] bool isNull() const { return std::holds_alternative<std::monostate>(data_); }
  [[nodiscard]] bool isUnset() const { return unset_; }

  // Accessors; each is valid only for the matching storage (see the class comment).
  [[nodiscard]] bool asBool() const { return std::get<bool>(data_); }
  [[nodiscard]] std::int64_t asInt() const { return std::get<std::int64_t>(data_); }
  [[nodiscard]] double asDouble() const { return std::get<double>(data_); }
  [[nodiscard]] const std::string& asString() const { return std::get<std::string>(data_); }
  [[nodiscard]] const Bytes& asBytes() const { return std::get<Bytes>(data_); }
  [[nodiscard]] const UuidBytes& asUuid() const { return std::get<UuidBytes>(data_); }
  [[nodiscard]] const InetAddress& asInet() const { return std::get<InetAddress>(data_); }
  [[nodiscard]] const Decimal& asDecimal() const { return std::get<Decimal>(data_); }
  [[nodiscard]] const Duration& asDuration() const { return std::get<Duration>(data_); }
  [[nodiscard]] const std::vector<Value>& elements() const {
    return std::get<std::vector<Value>>(data_);
  }
  [[nodiscard]] const MapEntries& entries() const { return std::get<MapEntries>(data_); }
  [[nodiscard]] const std::vector<std::string>& fieldNames() const { return field_names_; }

  /// A canonical text rendering (used in logs and to compare with other drivers): null; true;
  /// 42; 1.5 (%.17g); "text" (JSON-style escapes); 0xcafe; uuids in 8-4-4-4-12 form; inet as
  /// text; decimal as <unscaled>e<-scale>; varint in decimal; duration as 1mo2d3ns; date as days
  /// since the epoch; time as ns; timestamp as ms; [list], {set}, {k: v} maps, (tuple),
  /// {field: v} UDTs, [vector].
  [[nodiscard]] std::string toString() const;

  bool operator==(const Value& other) const = default;

 private:
  using Storage =
      std::variant<std::monostate, bool, std::int64_t, double, std::string, Bytes, UuidBytes,
                   InetAddress, Decimal, Duration, std::vector<Value>, MapEntries>;
  Value(TypeKind kind, Storage data) : kind_(kind), data_(std::move(data)) {}

  TypeKind kind_ = TypeKind::kBlob;
  bool unset_ = false;
  Storage data_;
  std::vector<std::string> field_names_;
};

/// Decimal text of a two's-complement big-endian integer of any length.
std::string varintToString(ByteView twos_complement);

/// Minimal two's-complement big-endian bytes of an integer.
Bytes varintFromInt64(std::int64_t v);

}  // namespace cesync::cql
