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
  /// A document as it is in the index now.
  struct Document {
    std::optional<std::int64_t> timestamp_ms;  // nullopt: no readable timestamp field
    std::int64_t seq_no = 0;                   // for a compare-and-set write
    std::int64_t primary_term = 0;
    std::int64_t version = -1;  // -1: the answer had none
    std::string source;         // minified; read only when asked for (`whole`)
    bool stamped = false;       // it has a cesync_token (it was written from Cassandra)
  };

  /// Reads the documents `ids` of `index` (one real-time `_mget` of the timestamp field, or of
  /// the whole documents with `whole`; `timestamp_field` may then be empty). Missing documents
  /// are absent from the answer.
  static Result<std::unordered_map<std::string, Document>> read(es::EsClient& search,
                                                                const std::string& index,
                                                                const std::string& timestamp_field,
                                                                const std::vector<std::string>& ids,
                                                                bool whole = false);

  /// The documents of an `_mget` answer `body` (read()'s second half). A document the engine
  /// could not read (an `error` entry, e.g. its shard is still recovering after a restart) is
  /// a kUnavailable error: taken for missing, it would be written with `create`, refused as a
  /// conflict and never written.
  static Result<std::unordered_map<std::string, Document>> parse(const std::string& index,
                                                                 const std::string& timestamp_field,
                                                                 const std::string& body,
                                                                 bool whole = false);
};

}  // namespace cesync::sync
