#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "cql/session.h"

namespace cesync::sync {

/// What the sync needs to know about a Cassandra table.
struct TableSchema {
  std::string keyspace;
  std::string table;
  cql::UuidBytes id{};
  /// Every column, in the order of `SELECT *`.
  std::vector<cql::ColumnSpec> columns;
  /// Key column names in key order.
  std::vector<std::string> partition_key;
  std::vector<std::string> clustering;
  /// Static column names.
  std::vector<std::string> statics;

  /// Partition key then clustering names.
  [[nodiscard]] std::vector<std::string> primaryKey() const;
  /// Index of a column in `columns`, or -1.
  [[nodiscard]] int columnIndex(const std::string& name) const;
};

/// A CQL identifier in double quotes (embedded quotes doubled), safe for any name.
std::string quoteIdentifier(const std::string& name);

/// `"keyspace"."table"`.
std::string quotedTableName(const TableSchema& schema);

/// Reads a table's columns and key from the cluster. kNotFound names the table when it does not
/// exist.
Result<TableSchema> loadTableSchema(cql::Session& session, const std::string& keyspace,
                                    const std::string& table);

}  // namespace cesync::sync
