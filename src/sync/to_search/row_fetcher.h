#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "common/result.h"
#include "cql/session.h"
#include "sync/table_schema.h"
#include "sync/to_search/coalescer.h"

namespace cesync::sync {

/// The current rows for one piece of work: none (the row or partition is gone), one, or many.
/// Partition and slice reads may span several pages.
struct FetchedRows {
  std::vector<cql::Rows> pages;

  [[nodiscard]] std::size_t rowCount() const;
};

/// Re-reads the rows named by coalesced work, with the table's columns, the partition token and
/// the newest write time of each row's cells. Row reads run many in flight; partition and slice
/// reads page through their rows.
///
/// Result columns: the table's columns in schema order, then `token(...)`, then one
/// `maxwritetime(...)` per non-key column.
class RowFetcher {
 public:
  RowFetcher(cql::Session& session, TableSchema schema, cql::Consistency consistency,
             std::size_t max_in_flight);

  /// Fetches every work item; results in work order. Any failed read fails the call (the caller
  /// retries the whole batch later: re-reading is idempotent).
  [[nodiscard]] Result<std::vector<FetchedRows>> fetch(const std::vector<KeyWork>& work);

  [[nodiscard]] const TableSchema& schema() const { return schema_; }
  /// "SELECT <the result columns> FROM ks.t", for callers that add their own WHERE clause.
  [[nodiscard]] const std::string& selectText() const { return select_; }
  /// The column holding the partition token.
  [[nodiscard]] std::size_t tokenColumn() const { return schema_.columns.size(); }
  /// The newest cell write time of a fetched row (µs), 0 when it has no non-key cell set.
  [[nodiscard]] std::int64_t rowWriteTime(const cql::Row& row) const;
  /// Prepares the rows of a token range: selectText() WHERE token(pk) > ? AND token(pk) <= ?
  /// (>= for the start when `inclusive_start`). kConfig, naming `task`, when the table's tokens
  /// are not bigints (only the Murmur3Partitioner's are).
  [[nodiscard]] Result<cql::PreparedPtr> prepareTokenRange(bool inclusive_start,
                                                           const std::string& task);

 private:
  using SliceShape = std::tuple<std::size_t, bool, std::size_t, bool>;

  Result<cql::PreparedPtr> prepared(const std::string& where);
  Result<cql::PreparedPtr> statementFor(const KeyWork& work);
  Result<std::vector<cql::Value>> bind(const KeyWork& work) const;

  cql::Session& session_;
  TableSchema schema_;
  cql::Consistency consistency_;
  std::size_t max_in_flight_;
  std::string select_;  // "SELECT <columns> FROM ks.t"
  std::vector<std::size_t> regular_columns_;
  std::map<std::string, cql::PreparedPtr> prepared_;
};

}  // namespace cesync::sync
