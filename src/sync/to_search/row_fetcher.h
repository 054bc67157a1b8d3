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
/// reads page through their rows. In a table keyed by one partition column alone, row reads
/// list up to `keys_per_read` keys each (`WHERE pk IN ?`), the keys of one node together: one
/// request then serves many rows, which costs the server far less than a request a row.
///
/// Result columns: the table's columns in schema order, then `token(...)`, then one
/// `maxwritetime(...)` per non-key column, then one `ttl(...)` per non-key column.
class RowFetcher {
 public:
  /// Keys a list holds unless configured otherwise (sync.fetch_keys_per_read): as cheap per row
  /// as longer lists, short enough for any coordinator (BENCHMARKS.md).
  static constexpr std::size_t kKeysPerRead = 20;

  RowFetcher(cql::Session& session, TableSchema schema, cql::Consistency consistency,
             std::size_t max_in_flight, std::size_t keys_per_read = 1);

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
  /// The least TTL (seconds left) of any cell of a fetched row, -1 when none has one: the row
  /// must be read again when it runs out (expiry writes nothing to the change log). A row
  /// marker's TTL (INSERT ... USING TTL of key columns alone) cannot be selected.
  [[nodiscard]] std::int32_t rowLeastTtl(const cql::Row& row) const;
  /// Prepares the rows of a token range: selectText() WHERE token(pk) > ? AND token(pk) <= ?
  /// (>= for the start when `inclusive_start`). kConfig, naming `task`, when the table's tokens
  /// are not bigints (only the Murmur3Partitioner's are).
  [[nodiscard]] Result<cql::PreparedPtr> prepareTokenRange(bool inclusive_start,
                                                           const std::string& task);

 private:
  using SliceShape = std::tuple<std::size_t, bool, std::size_t, bool>;

  /// One request, and the work items its rows answer.
  struct Read {
    cql::Statement statement;
    std::vector<std::size_t> items;
    bool by_keys = false;  // a list of keys: its rows are dealt to their items by key
  };

  Result<Read> readOne(const std::vector<KeyWork>& work, std::size_t item);
  /// Adds the reads of `items` (row work) as key lists, of one owner each.
  Status readByKeyLists(const std::vector<KeyWork>& work, const std::vector<std::size_t>& items,
                        std::vector<Read>& reads);
  /// Runs `reads` into `out`; a key list's items go to `unmatched` when a row came back under a
  /// key none of them holds.
  Status run(std::vector<Read>& reads, const std::vector<KeyWork>& work,
             std::vector<FetchedRows>& out, std::vector<std::size_t>& unmatched);
  Result<cql::PreparedPtr> prepared(const std::string& where);
  Result<cql::PreparedPtr> statementFor(const KeyWork& work);
  Result<std::vector<cql::Value>> bind(const KeyWork& work) const;

  cql::Session& session_;
  TableSchema schema_;
  cql::Consistency consistency_;
  std::size_t max_in_flight_;
  std::size_t keys_per_read_ = 1;  // 1: a request a row
  std::size_t key_column_ = 0;     // the partition key's result column, when keys are listed
  std::string select_;             // "SELECT <columns> FROM ks.t"
  std::vector<std::size_t> regular_columns_;
  std::map<std::string, cql::PreparedPtr> prepared_;
};

}  // namespace cesync::sync
