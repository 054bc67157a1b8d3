#include "cql/rows.h"

#include <bit>
#include <cstring>
#include <limits>

#include "cql/types/value_codec.h"

namespace cesync::cql {
namespace {

std::int64_t bigEndian(ByteView b) {
  std::uint64_t v = 0;
  for (const auto c : b) {
    v = (v << 8) | c;
  }
  const auto bits = static_cast<unsigned>(b.size() * 8);
  if (bits > 0 && bits < 64 && (v >> (bits - 1)) != 0) {
    v |= ~std::uint64_t{0} << bits;
  }
  return static_cast<std::int64_t>(v);
}

Error typeError(const ColumnSpec& col, const char* wanted) {
  return makeError(ErrorCode::kInvalidArgument,
                   "column " + col.name + " is " + col.type->toString() + ", not " + wanted);
}

struct CellAccess {
  const ColumnSpec* column = nullptr;
  ByteView bytes;
};

Result<CellAccess> access(const Rows& rows, std::size_t row, std::size_t column) {
  if (row >= rows.size() || column >= rows.columnCount()) {
    return fail(ErrorCode::kInvalidArgument,
                "no cell at row " + std::to_string(row) + ", column " + std::to_string(column));
  }
  const auto cell = rows.cell(row, column);
  const ColumnSpec& spec = rows.columns()[column];
  if (!cell) {
    return fail(ErrorCode::kInvalidArgument, "column " + spec.name + " is null");
  }
  return CellAccess{&spec, *cell};
}

Result<std::int64_t> integerOf(const CellAccess& c, const char* wanted) {
  std::size_t width = 0;
  switch (c.column->type->kind) {
    case TypeKind::kTinyint:
      width = 1;
      break;
    case TypeKind::kSmallint:
      width = 2;
      break;
    case TypeKind::kInt:
      width = 4;
      break;
    case TypeKind::kBigint:
    case TypeKind::kCounter:
    case TypeKind::kTimestamp:
    case TypeKind::kTime:
      width = 8;
      break;
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
    case TypeKind::kDate:
    case TypeKind::kDuration:
    case TypeKind::kList:
    case TypeKind::kMap:
    case TypeKind::kSet:
    case TypeKind::kUdt:
    case TypeKind::kTuple:
    case TypeKind::kVector:
      return tl::unexpected(typeError(*c.column, wanted));
  }
  if (c.bytes.size() != width) {
    return fail(ErrorCode::kProtocol,
                "column " + c.column->name + " has " + std::to_string(c.bytes.size()) + " bytes");
  }
  return bigEndian(c.bytes);
}

template <typename Int>
Result<Int> narrow(const CellAccess& c, const char* wanted) {
  CESYNC_ASSIGN_OR_RETURN(v, integerOf(c, wanted));
  if (v < std::numeric_limits<Int>::min() || v > std::numeric_limits<Int>::max()) {
    return tl::unexpected(typeError(*c.column, wanted));
  }
  return static_cast<Int>(v);
}

}  // namespace

std::optional<std::size_t> Rows::columnIndex(std::string_view name) const {
  for (std::size_t i = 0; i < columns_->size(); ++i) {
    if ((*columns_)[i].name == name) {
      return i;
    }
  }
  return std::nullopt;
}

Rows Rows::only(std::size_t row) const {
  const auto first = static_cast<std::ptrdiff_t>(row * columns_->size());
  return {columns_, body_,
          std::vector<std::int64_t>(
              cells_.begin() + first,
              cells_.begin() + first + static_cast<std::ptrdiff_t>(columns_->size())),
          1};
}

std::optional<ByteView> Rows::cell(std::size_t row, std::size_t column) const {
  const std::int64_t packed = cells_[row * columns_->size() + column];
  const auto length = static_cast<std::int32_t>(static_cast<std::uint64_t>(packed) & 0xFFFFFFFFU);
  if (length < 0) {
    return std::nullopt;
  }
  const auto offset = static_cast<std::size_t>(static_cast<std::uint64_t>(packed) >> 32);
  return ByteView(body_->data() + offset, static_cast<std::size_t>(length));
}

std::size_t Row::size() const {
  return rows_->columnCount();
}

bool Row::isNull(std::size_t column) const {
  return column >= rows_->columnCount() || !rows_->cell(index_, column).has_value();
}

std::optional<ByteView> Row::raw(std::size_t column) const {
  if (column >= rows_->columnCount()) {
    return std::nullopt;
  }
  return rows_->cell(index_, column);
}

Result<Value> Row::value(std::size_t column) const {
  if (column >= rows_->columnCount()) {
    return fail(ErrorCode::kInvalidArgument, "no column " + std::to_string(column));
  }
  return decodeCell(*rows_->columns()[column].type, rows_->cell(index_, column));
}

Result<Value> Row::value(std::string_view column) const {
  const auto i = rows_->columnIndex(column);
  if (!i) {
    return fail(ErrorCode::kNotFound, "no column named " + std::string(column));
  }
  return value(*i);
}

template <>
Result<bool> Row::get<bool>(std::size_t column) const {
  CESYNC_ASSIGN_OR_RETURN(c, access(*rows_, index_, column));
  if (c.column->type->kind != TypeKind::kBoolean || c.bytes.size() != 1) {
    return tl::unexpected(typeError(*c.column, "boolean"));
  }
  return c.bytes[0] != 0;
}

template <>
Result<std::int8_t> Row::get<std::int8_t>(std::size_t column) const {
  CESYNC_ASSIGN_OR_RETURN(c, access(*rows_, index_, column));
  return narrow<std::int8_t>(c, "tinyint");
}

template <>
Result<std::int16_t> Row::get<std::int16_t>(std::size_t column) const {
  CESYNC_ASSIGN_OR_RETURN(c, access(*rows_, index_, column));
  return narrow<std::int16_t>(c, "smallint");
}

template <>
Result<std::int32_t> Row::get<std::int32_t>(std::size_t column) const {
  CESYNC_ASSIGN_OR_RETURN(c, access(*rows_, index_, column));
  return narrow<std::int32_t>(c, "int");
}

template <>
Result<std::int64_t> Row::get<std::int64_t>(std::size_t column) const {
  CESYNC_ASSIGN_OR_RETURN(c, access(*rows_, index_, column));
  return integerOf(c, "bigint");
}

template <>
Result<double> Row::get<double>(std::size_t column) const {
  CESYNC_ASSIGN_OR_RETURN(c, access(*rows_, index_, column));
  if (c.column->type->kind == TypeKind::kDouble && c.bytes.size() == 8) {
    return std::bit_cast<double>(static_cast<std::uint64_t>(bigEndian(c.bytes)));
  }
  if (c.column->type->kind == TypeKind::kFloat && c.bytes.size() == 4) {
    return static_cast<double>(
        std::bit_cast<float>(static_cast<std::uint32_t>(bigEndian(c.bytes))));
  }
  return tl::unexpected(typeError(*c.column, "double"));
}

template <>
Result<float> Row::get<float>(std::size_t column) const {
  CESYNC_ASSIGN_OR_RETURN(c, access(*rows_, index_, column));
  if (c.column->type->kind == TypeKind::kFloat && c.bytes.size() == 4) {
    return std::bit_cast<float>(static_cast<std::uint32_t>(bigEndian(c.bytes)));
  }
  return tl::unexpected(typeError(*c.column, "float"));
}

template <>
Result<std::string_view> Row::get<std::string_view>(std::size_t column) const {
  CESYNC_ASSIGN_OR_RETURN(c, access(*rows_, index_, column));
  const TypeKind k = c.column->type->kind;
  if (k != TypeKind::kVarchar && k != TypeKind::kAscii && k != TypeKind::kBlob) {
    return tl::unexpected(typeError(*c.column, "text"));
  }
  return asChars(c.bytes);
}

template <>
Result<std::string> Row::get<std::string>(std::size_t column) const {
  CESYNC_ASSIGN_OR_RETURN(v, get<std::string_view>(column));
  return std::string(v);
}

template <>
Result<Bytes> Row::get<Bytes>(std::size_t column) const {
  CESYNC_ASSIGN_OR_RETURN(c, access(*rows_, index_, column));
  return Bytes(c.bytes.begin(), c.bytes.end());
}

template <>
Result<UuidBytes> Row::get<UuidBytes>(std::size_t column) const {
  CESYNC_ASSIGN_OR_RETURN(c, access(*rows_, index_, column));
  const TypeKind k = c.column->type->kind;
  if ((k != TypeKind::kUuid && k != TypeKind::kTimeuuid) || c.bytes.size() != 16) {
    return tl::unexpected(typeError(*c.column, "uuid"));
  }
  UuidBytes u{};
  std::memcpy(u.data(), c.bytes.data(), 16);
  return u;
}

}  // namespace cesync::cql
