#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "es/client.h"

namespace cesync::sync {

/// For a table synced both ways: the timestamps (ms) that documents in the index hold now, so
/// that a write from Cassandra never replaces a document edited on the search side more
/// recently, before that edit has been read back into Cassandra. The conflict rule compares the
/// table's timestamp column with the document's field of the same name.
class SearchSideEdits {
 public:
  /// Reads the timestamp field of the documents `ids` of `index` (one `_mget`). Documents that
  /// are missing, or carry no readable timestamp, are absent from the answer.
  static Result<std::unordered_map<std::string, std::int64_t>> timestamps(
      es::EsClient& search, const std::string& index, const std::string& timestamp_field,
      const std::vector<std::string>& ids);
};

}  // namespace cesync::sync
