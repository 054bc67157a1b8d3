#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "cql/types/cql_type.h"
#include "cql/types/value.h"
#include "cql/wire/bytes.h"

namespace cesync::cql {

/// Name and type of a result or bound column.
struct ColumnSpec {
  std::string keyspace;
  std::string table;
  std::string name;
  CqlTypePtr type;
};

/// Column metadata shared by every page of one result.
using Columns = std::shared_ptr<const std::vector<ColumnSpec>>;

class Rows;

/// One row of a result: a view into its Rows (which must outlive it). Cells decode on access,
/// so reading two columns of a wide row costs two decodes, not one per column.
class Row {
 public:
  Row(const Rows& rows, std::size_t index) : rows_(&rows), index_(index) {}

  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] bool isNull(std::size_t column) const;
  /// The raw serialized cell, nullopt when null.
  [[nodiscard]] std::optional<ByteView> raw(std::size_t column) const;
  /// The cell as a generic Value tree.
  [[nodiscard]] Result<Value> value(std::size_t column) const;
  /// The cell of the named column as a Value; kNotFound when there is no such column.
  [[nodiscard]] Result<Value> value(std::string_view column) const;

  /// Typed access without building a Value. Fails with kInvalidArgument when the column's type
  /// does not convert to T, the index is out of range or the cell is null (check isNull first,
  /// or use value()).
  /// T: bool, std::int8_t, std::int16_t, std::int32_t, std::int64_t, float, double, std::string,
  /// std::string_view (text/ascii/blob, viewing the result buffer), UuidBytes, Bytes.
  template <typename T>
  [[nodiscard]] Result<T> get(std::size_t column) const;

 private:
  const Rows* rows_;
  std::size_t index_;
};

/// A page of rows: the raw result body, the offsets of every cell, and the column metadata.
class Rows {
 public:
  Rows() : columns_(std::make_shared<std::vector<ColumnSpec>>()) {}
  Rows(Columns columns, std::shared_ptr<const Bytes> body, std::vector<std::int64_t> cells,
       std::size_t row_count)
      : columns_(std::move(columns)),
        body_(std::move(body)),
        cells_(std::move(cells)),
        row_count_(row_count) {}

  [[nodiscard]] std::size_t size() const { return row_count_; }
  [[nodiscard]] bool empty() const { return row_count_ == 0; }
  [[nodiscard]] std::size_t columnCount() const { return columns_->size(); }
  [[nodiscard]] const std::vector<ColumnSpec>& columns() const { return *columns_; }
  [[nodiscard]] const Columns& sharedColumns() const { return columns_; }
  /// Index of a column by name, or nullopt.
  [[nodiscard]] std::optional<std::size_t> columnIndex(std::string_view name) const;
  [[nodiscard]] Row operator[](std::size_t i) const { return Row(*this, i); }

  /// Row `row` alone, as a page of its own sharing this page's body; `row` must be in range.
  [[nodiscard]] Rows only(std::size_t row) const;

  /// Raw cell (nullopt when null) of row `row`, column `column`; both must be in range.
  [[nodiscard]] std::optional<ByteView> cell(std::size_t row, std::size_t column) const;

  class Iterator {
   public:
    Iterator(const Rows* rows, std::size_t i) : rows_(rows), i_(i) {}
    Row operator*() const { return Row(*rows_, i_); }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator==(const Iterator& o) const { return i_ == o.i_; }

   private:
    const Rows* rows_;
    std::size_t i_;
  };
  [[nodiscard]] Iterator begin() const { return {this, 0}; }
  [[nodiscard]] Iterator end() const { return {this, row_count_}; }

 private:
  Columns columns_;
  std::shared_ptr<const Bytes> body_;
  // Per cell: offset into body_ in the high 32 bits and length in the low 32 (-1 = null),
  // packed so that a page of a million cells costs 8 MB, not 24.
  std::vector<std::int64_t> cells_;
  std::size_t row_count_ = 0;
};

// The typed accessors Row::get supports (defined in rows.cc).
template <>
Result<bool> Row::get<bool>(std::size_t column) const;
template <>
Result<std::int8_t> Row::get<std::int8_t>(std::size_t column) const;
template <>
Result<std::int16_t> Row::get<std::int16_t>(std::size_t column) const;
template <>
Result<std::int32_t> Row::get<std::int32_t>(std::size_t column) const;
template <>
Result<std::int64_t> Row::get<std::int64_t>(std::size_t column) const;
template <>
Result<float> Row::get<float>(std::size_t column) const;
template <>
Result<double> Row::get<double>(std::size_t column) const;
template <>
Result<std::string_view> Row::get<std::string_view>(std::size_t column) const;
template <>
Result<std::string> Row::get<std::string>(std::size_t column) const;
template <>
Result<Bytes> Row::get<Bytes>(std::size_t column) const;
template <>
Result<UuidBytes> Row::get<UuidBytes>(std::size_t column) const;

}  // namespace cesync::cql
