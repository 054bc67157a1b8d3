#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "cql/wire/byte_reader.h"

namespace cesync::cql {

/// CQL data types by their [option] id (spec v4 section 4.2.5.2, v5 6). kVector is not a wire id:
/// Cassandra 5.0 sends vectors as custom types (org.apache.cassandra.db.marshal.VectorType).
enum class TypeKind : std::uint16_t {
  kCustom = 0x0000,
  kAscii = 0x0001,
  kBigint = 0x0002,
  kBlob = 0x0003,
  kBoolean = 0x0004,
  kCounter = 0x0005,
  kDecimal = 0x0006,
  kDouble = 0x0007,
  kFloat = 0x0008,
  kInt = 0x0009,
  kTimestamp = 0x000B,
  kUuid = 0x000C,
  kVarchar = 0x000D,
  kVarint = 0x000E,
  kTimeuuid = 0x000F,
  kInet = 0x0010,
  kDate = 0x0011,
  kTime = 0x0012,
  kSmallint = 0x0013,
  kTinyint = 0x0014,
  kDuration = 0x0015,
  kList = 0x0020,
  kMap = 0x0021,
  kSet = 0x0022,
  kUdt = 0x0030,
  kTuple = 0x0031,
  kVector = 0x0100,
};

struct CqlType;
using CqlTypePtr = std::shared_ptr<const CqlType>;

/// A CQL type as described by the server's metadata: a kind and, for composite types, its
/// parameters (element types of list/set/vector, key and value of map, components of tuple,
/// field types of a UDT).
struct CqlType {
  TypeKind kind = TypeKind::kBlob;
  std::vector<CqlTypePtr> params;
  std::vector<std::string> field_names;  // UDT
  std::string keyspace;                  // UDT
  std::string name;                      // UDT
  std::string custom_class;              // custom
  std::uint32_t dimension = 0;           // vector

  /// The type in CQL syntax, e.g. "map<text, frozen<list<int>>>".
  [[nodiscard]] std::string toString() const;
  /// The encoded size of every value if the type has one (used by vector element layout).
  [[nodiscard]] std::optional<std::size_t> fixedSize() const;

  static CqlTypePtr scalar(TypeKind kind);
  static CqlTypePtr list(CqlTypePtr element);
  static CqlTypePtr set(CqlTypePtr element);
  static CqlTypePtr map(CqlTypePtr key, CqlTypePtr value);
  static CqlTypePtr tuple(std::vector<CqlTypePtr> components);
  static CqlTypePtr vector(CqlTypePtr element, std::uint32_t dimension);
  static CqlTypePtr udt(std::string keyspace, std::string name, std::vector<std::string> fields,
                        std::vector<CqlTypePtr> types);
};

/// True for the kinds whose Value holds an integer.
bool isIntegerKind(TypeKind kind);

/// Reads an [option] type description; custom types naming a known marshal class (vector,
/// duration and the native types in marshal form) become their native kinds.
[[nodiscard]] Result<CqlTypePtr> readType(ByteReader& reader);

/// Parses a marshal class name such as
/// "org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType,3)".
[[nodiscard]] Result<CqlTypePtr> parseMarshalType(std::string_view text);

}  // namespace cesync::cql
