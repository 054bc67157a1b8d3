#pragma once

#include <string>
#include <vector>

#include "cql/rows.h"
#include "es/server_info.h"

namespace cesync::sync {

/// What a derived index mapping depends on besides the table's columns.
struct MappingOptions {
  es::ServerInfo server;
  /// Names of the primary key columns (mapped as exact values, whatever their CQL type).
  std::vector<std::string> key_columns;
  /// The field that carries the partition token (empty = none).
  std::string token_field;
  /// The field that repeats the document id (empty = none).
  std::string id_field;
};

/// The index mapping for a table's documents (docs/TYPES.md "Mapping"): the `mappings` object
/// of an index creation request, as JSON.
std::string deriveMapping(const std::vector<cql::ColumnSpec>& columns,
                          const MappingOptions& options);

}  // namespace cesync::sync
