#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "cql/rows.h"
#include "cql/types/value.h"
#include "sync/table_schema.h"
#include "util/json_writer.h"

namespace cesync::sync {

/// Appends the JSON form of a CQL value, as docs/TYPES.md defines it.
void appendValueJson(util::JsonWriter& writer, const cql::Value& value);

/// The text form of a CQL value used for map keys and single-column document ids: text as is,
/// numbers in decimal, timestamps and dates in ISO-8601, uuids canonical, blobs in base64;
/// collections, tuples and UDTs as their compact JSON.
std::string valueText(const cql::Value& value);

/// The longest document id the engines accept (bytes); a longer id fails the whole `_bulk`
/// request, so it must be caught before sending.
inline constexpr std::size_t kMaxDocumentIdBytes = 512;

/// kRejected with the reason when the engines would refuse `id`.
Status checkDocumentId(std::string_view id);

/// Turns fetched CQL rows into documents and document ids (docs/TYPES.md).
class DocBuilder {
 public:
  /// `field_columns`: the result columns that become document fields (by their names);
  /// `key_columns`: the primary key columns, partition key then clustering, in key order.
  /// `token_field` and `id_field`: the fields that carry the partition token and the document
  /// id (empty = none).
  DocBuilder(std::vector<std::size_t> field_columns, std::vector<std::size_t> key_columns,
             std::string token_field, std::string id_field);

  /// The document id: the key's text for a single-column key, else a JSON array of the parts.
  [[nodiscard]] Result<std::string> documentId(const cql::Row& row) const;

  /// Appends `row` as one JSON object (no newline) to `out`; `id` is its documentId().
  [[nodiscard]] Status appendDocument(std::string& out, const cql::Row& row,
                                      const std::vector<cql::ColumnSpec>& columns,
                                      std::int64_t token, std::string_view id) const;

 private:
  std::vector<std::size_t> field_columns_;
  std::vector<std::size_t> key_columns_;
  std::string token_field_;
  std::string id_field_;
};

/// The builder of a table's documents as cesync indexes them: every column of the table (in
/// schema order, as RowFetcher reads them), the key columns in key order, and the token and id
/// fields of sync/doc_fields.h.
DocBuilder documentBuilderFor(const TableSchema& schema);

}  // namespace cesync::sync
