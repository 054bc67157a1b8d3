#include "cql/types/cql_type.h"

#include <charconv>
#include <map>

namespace cesync::cql {
namespace {

// Nesting deeper than this in type metadata is treated as hostile input.
constexpr int kMaxTypeDepth = 64;

std::string_view scalarName(TypeKind kind) {
  switch (kind) {
    case TypeKind::kAscii:
      return "ascii";
    case TypeKind::kBigint:
      return "bigint";
    case TypeKind::kBlob:
      return "blob";
    case TypeKind::kBoolean:
      return "boolean";
    case TypeKind::kCounter:
      return "counter";
    case TypeKind::kDecimal:
      return "decimal";
    case TypeKind::kDouble:
      return "double";
    case TypeKind::kFloat:
      return "float";
    case TypeKind::kInt:
      return "int";
    case TypeKind::kTimestamp:
      return "timestamp";
    case TypeKind::kUuid:
      return "uuid";
    case TypeKind::kVarchar:
      return "text";
    case TypeKind::kVarint:
      return "varint";
    case TypeKind::kTimeuuid:
      return "timeuuid";
    case TypeKind::kInet:
      return "inet";
    case TypeKind::kDate:
      return "date";
    case TypeKind::kTime:
      return "time";
    case TypeKind::kSmallint:
      return "smallint";
    case TypeKind::kTinyint:
      return "tinyint";
    case TypeKind::kDuration:
      return "duration";
    case TypeKind::kCustom:
    case TypeKind::kList:
    case TypeKind::kMap:
    case TypeKind::kSet:
    case TypeKind::kUdt:
    case TypeKind::kTuple:
    case TypeKind::kVector:
      return {};
  }
  return {};
}

const std::map<std::string_view, TypeKind>& marshalNames() {
  static const std::map<std::string_view, TypeKind> names{
      {"AsciiType", TypeKind::kAscii},
      {"LongType", TypeKind::kBigint},
      {"BytesType", TypeKind::kBlob},
      {"BooleanType", TypeKind::kBoolean},
      {"CounterColumnType", TypeKind::kCounter},
      {"DecimalType", TypeKind::kDecimal},
      {"DoubleType", TypeKind::kDouble},
      {"FloatType", TypeKind::kFloat},
      {"Int32Type", TypeKind::kInt},
      {"TimestampType", TypeKind::kTimestamp},
      {"DateType", TypeKind::kTimestamp},
      {"UUIDType", TypeKind::kUuid},
      {"UTF8Type", TypeKind::kVarchar},
      {"IntegerType", TypeKind::kVarint},
      {"TimeUUIDType", TypeKind::kTimeuuid},
      {"InetAddressType", TypeKind::kInet},
      {"SimpleDateType", TypeKind::kDate},
      {"TimeType", TypeKind::kTime},
      {"ShortType", TypeKind::kSmallint},
      {"ByteType", TypeKind::kTinyint},
      {"DurationType", TypeKind::kDuration},
  };
  return names;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') {
    s.remove_prefix(1);
  }
  while (!s.empty() && s.back() == ' ') {
    s.remove_suffix(1);
  }
  return s;
}

// Splits "a,b(c,d),e" at top-level commas.
std::vector<std::string_view> splitTopLevel(std::string_view s) {
  std::vector<std::string_view> out;
  int depth = 0;
  std::size_t begin = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '(') {
      ++depth;
    } else if (s[i] == ')') {
      --depth;
    } else if (s[i] == ',' && depth == 0) {
      out.push_back(trim(s.substr(begin, i - begin)));
      begin = i + 1;
    }
  }
  out.push_back(trim(s.substr(begin)));
  return out;
}

Result<CqlTypePtr> parseMarshal(std::string_view text, int depth) {
  if (depth > kMaxTypeDepth) {
    return fail(ErrorCode::kProtocol, "type nesting too deep");
  }
  text = trim(text);
  std::string_view args;
  std::string_view cls = text;
  if (const auto open = text.find('('); open != std::string_view::npos) {
    if (text.back() != ')') {
      return fail(ErrorCode::kProtocol, "malformed type name '" + std::string(text) + "'");
    }
    cls = text.substr(0, open);
    args = text.substr(open + 1, text.size() - open - 2);
  }
  if (const auto dot = cls.rfind('.'); dot != std::string_view::npos) {
    cls = cls.substr(dot + 1);
  }
  if (const auto it = marshalNames().find(cls); it != marshalNames().end()) {
    return CqlType::scalar(it->second);
  }
  std::vector<CqlTypePtr> params;
  if (cls == "FrozenType" || cls == "ReversedType") {
    return parseMarshal(args, depth + 1);
  }
  if (cls == "VectorType") {
    const auto parts = splitTopLevel(args);
    if (parts.size() != 2) {
      return fail(ErrorCode::kProtocol, "malformed vector type '" + std::string(text) + "'");
    }
    CESYNC_ASSIGN_OR_RETURN(element, parseMarshal(parts[0], depth + 1));
    std::uint32_t dim = 0;
    const auto res = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), dim);
    if (res.ec != std::errc{} || dim == 0) {
      return fail(ErrorCode::kProtocol, "bad vector dimension in '" + std::string(text) + "'");
    }
    return CqlType::vector(std::move(element), dim);
  }
  if (cls == "ListType" || cls == "SetType" || cls == "MapType" || cls == "TupleType") {
    for (const auto part : splitTopLevel(args)) {
      CESYNC_ASSIGN_OR_RETURN(p, parseMarshal(part, depth + 1));
      params.push_back(std::move(p));
    }
    if (cls == "ListType" && params.size() == 1) {
      return CqlType::list(params[0]);
    }
    if (cls == "SetType" && params.size() == 1) {
      return CqlType::set(params[0]);
    }
    if (cls == "MapType" && params.size() == 2) {
      return CqlType::map(params[0], params[1]);
    }
    if (cls == "TupleType") {
      return CqlType::tuple(std::move(params));
    }
    return fail(ErrorCode::kProtocol, "malformed collection type '" + std::string(text) + "'");
  }
  auto custom = std::make_shared<CqlType>();
  custom->kind = TypeKind::kCustom;
  custom->custom_class = std::string(text);
  return CqlTypePtr(std::move(custom));
}

Result<CqlTypePtr> readTypeAt(ByteReader& r, int depth) {
  if (depth > kMaxTypeDepth) {
    return fail(ErrorCode::kProtocol, "type nesting too deep");
  }
  CESYNC_ASSIGN_OR_RETURN(id, r.readShort());
  const auto kind = static_cast<TypeKind>(id);
  switch (kind) {
    case TypeKind::kCustom: {
      CESYNC_ASSIGN_OR_RETURN(cls, r.readString());
      return parseMarshal(cls, depth + 1);
    }
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
      return CqlType::scalar(kind);
    case TypeKind::kList:
    case TypeKind::kSet: {
      CESYNC_ASSIGN_OR_RETURN(element, readTypeAt(r, depth + 1));
      return kind == TypeKind::kList ? CqlType::list(element) : CqlType::set(element);
    }
    case TypeKind::kMap: {
      CESYNC_ASSIGN_OR_RETURN(key, readTypeAt(r, depth + 1));
      CESYNC_ASSIGN_OR_RETURN(value, readTypeAt(r, depth + 1));
      return CqlType::map(key, value);
    }
    case TypeKind::kUdt: {
      CESYNC_ASSIGN_OR_RETURN(ks, r.readString());
      CESYNC_ASSIGN_OR_RETURN(name, r.readString());
      CESYNC_ASSIGN_OR_RETURN(n, r.readShort());
      std::vector<std::string> fields;
      std::vector<CqlTypePtr> types;
      for (std::uint16_t i = 0; i < n; ++i) {
        CESYNC_ASSIGN_OR_RETURN(field, r.readString());
        CESYNC_ASSIGN_OR_RETURN(type, readTypeAt(r, depth + 1));
        fields.emplace_back(field);
        types.push_back(std::move(type));
      }
      return CqlType::udt(std::string(ks), std::string(name), std::move(fields), std::move(types));
    }
    case TypeKind::kTuple: {
      CESYNC_ASSIGN_OR_RETURN(n, r.readShort());
      std::vector<CqlTypePtr> types;
      for (std::uint16_t i = 0; i < n; ++i) {
        CESYNC_ASSIGN_OR_RETURN(type, readTypeAt(r, depth + 1));
        types.push_back(std::move(type));
      }
      return CqlType::tuple(std::move(types));
    }
    case TypeKind::kVector:
      break;
  }
  return fail(ErrorCode::kProtocol, "unknown type id " + std::to_string(id));
}

std::string frozenIfComposite(const CqlType& t) {
  switch (t.kind) {
    case TypeKind::kList:
    case TypeKind::kSet:
    case TypeKind::kMap:
    case TypeKind::kUdt:
    case TypeKind::kTuple:
      return "frozen<" + t.toString() + ">";
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
    case TypeKind::kVector:
      return t.toString();
  }
  return t.toString();
}

}  // namespace

bool isIntegerKind(TypeKind kind) {
  switch (kind) {
    case TypeKind::kBigint:
    case TypeKind::kCounter:
    case TypeKind::kInt:
    case TypeKind::kTimestamp:
    case TypeKind::kDate:
    case TypeKind::kTime:
    case TypeKind::kSmallint:
    case TypeKind::kTinyint:
      return true;
    case TypeKind::kCustom:
    case TypeKind::kAscii:
    case TypeKind::kBlob:
    case TypeKind::kBoolean:
    case TypeKind::kDecimal:
    case TypeKind::kDouble:
    case TypeKind::kFloat:
    case TypeKind::kUuid:
    case TypeKind::kVarchar:
    case TypeKind::kVarint:
    case TypeKind::kTimeuuid:
    case TypeKind::kInet:
    case TypeKind::kDuration:
    case TypeKind::kList:
    case TypeKind::kMap:
    case TypeKind::kSet:
    case TypeKind::kUdt:
    case TypeKind::kTuple:
    case TypeKind::kVector:
      return false;
  }
  return false;
}

std::string CqlType::toString() const {
  switch (kind) {
    case TypeKind::kCustom:
      return "'" + custom_class + "'";
    case TypeKind::kList:
      return "list<" + frozenIfComposite(*params.at(0)) + ">";
    case TypeKind::kSet:
      return "set<" + frozenIfComposite(*params.at(0)) + ">";
    case TypeKind::kMap:
      return "map<" + frozenIfComposite(*params.at(0)) + ", " + frozenIfComposite(*params.at(1)) +
             ">";
    case TypeKind::kVector:
      return "vector<" + frozenIfComposite(*params.at(0)) + ", " + std::to_string(dimension) + ">";
    case TypeKind::kTuple: {
      std::string out = "tuple<";
      for (std::size_t i = 0; i < params.size(); ++i) {
        out += (i ? ", " : "") + frozenIfComposite(*params[i]);
      }
      return out + ">";
    }
    case TypeKind::kUdt:
      return keyspace.empty() ? name : keyspace + "." + name;
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
      return std::string(scalarName(kind));
  }
  return "unknown";
}

std::optional<std::size_t> CqlType::fixedSize() const {
  // The element sizes Cassandra and the official drivers agree on for vector layout.
  switch (kind) {
    case TypeKind::kBoolean:
      return 1;
    case TypeKind::kInt:
    case TypeKind::kFloat:
      return 4;
    case TypeKind::kBigint:
    case TypeKind::kCounter:
    case TypeKind::kDouble:
    case TypeKind::kTimestamp:
      return 8;
    case TypeKind::kUuid:
    case TypeKind::kTimeuuid:
      return 16;
    case TypeKind::kVector:
      if (const auto inner = params.at(0)->fixedSize()) {
        return *inner * dimension;
      }
      return std::nullopt;
    case TypeKind::kCustom:
    case TypeKind::kAscii:
    case TypeKind::kBlob:
    case TypeKind::kDecimal:
    case TypeKind::kVarchar:
    case TypeKind::kVarint:
    case TypeKind::kInet:
    case TypeKind::kDate:
    case TypeKind::kTime:
    case TypeKind::kSmallint:
    case TypeKind::kTinyint:
    case TypeKind::kDuration:
    case TypeKind::kList:
    case TypeKind::kMap:
    case TypeKind::kSet:
    case TypeKind::kUdt:
    case TypeKind::kTuple:
      return std::nullopt;
  }
  return std::nullopt;
}

CqlTypePtr CqlType::scalar(TypeKind kind) {
  auto t = std::make_shared<CqlType>();
  t->kind = kind;
  return t;
}

CqlTypePtr CqlType::list(CqlTypePtr element) {
  auto t = std::make_shared<CqlType>();
  t->kind = TypeKind::kList;
  t->params.push_back(std::move(element));
  return t;
}

CqlTypePtr CqlType::set(CqlTypePtr element) {
  auto t = std::make_shared<CqlType>();
  t->kind = TypeKind::kSet;
  t->params.push_back(std::move(element));
  return t;
}

CqlTypePtr CqlType::map(CqlTypePtr key, CqlTypePtr value) {
  auto t = std::make_shared<CqlType>();
  t->kind = TypeKind::kMap;
  t->params.push_back(std::move(key));
  t->params.push_back(std::move(value));
  return t;
}

CqlTypePtr CqlType::tuple(std::vector<CqlTypePtr> components) {
  auto t = std::make_shared<CqlType>();
  t->kind = TypeKind::kTuple;
  t->params = std::move(components);
  return t;
}

CqlTypePtr CqlType::vector(CqlTypePtr element, std::uint32_t dimension) {
  auto t = std::make_shared<CqlType>();
  t->kind = TypeKind::kVector;
  t->params.push_back(std::move(element));
  t->dimension = dimension;
  return t;
}

CqlTypePtr CqlType::udt(std::string keyspace, std::string name, std::vector<std::string> fields,
                        std::vector<CqlTypePtr> types) {
  auto t = std::make_shared<CqlType>();
  t->kind = TypeKind::kUdt;
  t->keyspace = std::move(keyspace);
  t->name = std::move(name);
  t->field_names = std::move(fields);
  t->params = std::move(types);
  return t;
}

Result<CqlTypePtr> readType(ByteReader& reader) {
  return readTypeAt(reader, 0);
}

Result<CqlTypePtr> parseMarshalType(std::string_view text) {
  return parseMarshal(text, 0);
}

}  // namespace cesync::cql
