#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "cql/types/cql_type.h"
#include "cql/types/value.h"
#include "sync/table_schema.h"

namespace cesync::sync {

/// Converts one JSON value (a field of a document, as text) to a CQL value of `type`: the inverse
/// of docs/TYPES.md, with the lenient forms listed in its section "From documents back to CQL".
/// JSON null gives a null of `type`. Errors are kInvalidArgument and say what was expected and
/// what was found, e.g. `expected an integer for int, got "abc"`.
[[nodiscard]] Result<cql::Value> valueFromJson(const cql::CqlType& type, std::string_view json);

/// The inverse of valueText(): parses a map key or a single-column document id as `type`
/// (text as is, numbers in decimal, ISO-8601 times, canonical uuids, base64 blobs, and the compact
/// JSON of durations, collections, tuples and UDTs).
[[nodiscard]] Result<cql::Value> valueFromText(const cql::CqlType& type, std::string_view text);

/// Reads the documents of one table back into the values of its columns. Holds a JSON parser and
/// a padded copy buffer that are reused from one document to the next, so converting a stream of
/// documents allocates little beyond the values themselves. Not thread-safe: one per reader.
class DocValues {
 public:
  explicit DocValues(TableSchema schema);
  ~DocValues();
  DocValues(DocValues&&) noexcept;
  DocValues& operator=(DocValues&&) noexcept;
  DocValues(const DocValues&) = delete;
  DocValues& operator=(const DocValues&) = delete;

  /// One value per column of the schema, in `columns` order, from a document's `_source` (a JSON
  /// object). A column absent from the source is Value::unset() (left as it is in Cassandra); JSON
  /// null is a CQL null. Fields that are not columns (cesync_token, cesync_id, a soft-delete
  /// field, anything else) are ignored. A primary key column that is missing or null, a column
  /// given twice, or a value that does not convert is a kInvalidArgument error naming the column:
  /// "column price: expected a number for double, got \"x\"".
  [[nodiscard]] Result<std::vector<cql::Value>> row(std::string_view source);

  [[nodiscard]] const TableSchema& schema() const { return schema_; }

 private:
  struct Parser;

  TableSchema schema_;
  /// Column names sorted, with their index in schema_.columns, for lookups by field name.
  std::vector<std::pair<std::string, std::size_t>> by_name_;
  std::vector<bool> is_key_;
  std::unique_ptr<Parser> parser_;
};

/// One document at a time: as DocValues::row() with a parser made for the call.
[[nodiscard]] Result<std::vector<cql::Value>> rowFromDocument(const TableSchema& schema,
                                                              std::string_view source);

}  // namespace cesync::sync
