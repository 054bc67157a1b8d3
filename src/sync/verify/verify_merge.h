#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "sync/same_json.h"

namespace cesync::sync {

/// One record of either side, as verify compares them: a row (its document as cesync builds it
/// now, version = the row's newest cell write time) or a document of the index (its `_source`
/// and `_version`).
struct VerifyEntry {
  std::int64_t token = 0;
  std::string id;
  std::int64_t version = 0;
  std::string source;
};

/// A stream of entries in ascending token order (within a token, any order).
class EntryStream {
 public:
  virtual ~EntryStream() = default;
  /// The next entry, nullopt at the end.
  [[nodiscard]] virtual Result<std::optional<VerifyEntry>> next() = 0;
};

/// What is wrong with one record.
enum class DifferenceKind : std::uint8_t {
  kMissing,  // a row without a document
  kExtra,    // a document without a row
  kStale,    // a document older than its row, or with other content
};

/// "missing", "extra" or "stale".
std::string_view differenceName(DifferenceKind kind);

/// One difference found.
struct Difference {
  DifferenceKind kind = DifferenceKind::kMissing;
  std::int64_t token = 0;
  std::string id;
  /// kStale and kMissing: the row's write time (µs); kExtra: -1.
  std::int64_t row_version = -1;
  /// kStale and kExtra: the document's version; kMissing: -1.
  std::int64_t document_version = -1;
  /// kStale: "version" (older than the row) or "content" (differs from the row's document).
  std::string reason;
};

struct MergeOptions {
  /// Compare document versions with row write times (external versions). Off for tables synced
  /// both ways, whose documents carry internal versions: only their content is compared.
  bool compare_versions = true;
  /// Whether a document's content matches its row's (both `_source` texts); empty: sameJson().
  std::function<bool(std::string_view row_source, std::string_view document_source)> same_content;
};

/// What a merge has read so far: updated after each token, so that a merge that failed part of
/// the way can be taken up again after `last_token`.
struct MergeCounts {
  std::uint64_t rows = 0;
  std::uint64_t documents = 0;
  /// The last token whose entries were all compared (and their differences handed on).
  std::optional<std::int64_t> last_token;
};

/// Compares the rows and documents of one token (one partition): a row whose id no document
/// has is missing, a document whose id no row has is extra, and a matched pair is stale when the
/// document's version is older than the row's (with `compare_versions`) or its source is not the
/// same JSON as the row's document. Appends to `out` in row order, then document order.
void compareGroup(const std::vector<VerifyEntry>& rows, const std::vector<VerifyEntry>& documents,
                  const MergeOptions& options, std::vector<Difference>& out);

/// Merges two streams sorted by token in one pass, one token at a time: the entries of the
/// smallest token on either side are gathered (one partition: bounded) and compared with
/// compareGroup(). `on_group` receives each token's differences (only when there are some) and
/// may fail, which ends the merge. `counts` grows as tokens are done. Memory: one token's
/// entries per side, beyond what the streams hold. An out-of-order stream is a kInternal error.
[[nodiscard]] Status mergeStreams(EntryStream& rows, EntryStream& documents,
                                  const MergeOptions& options,
                                  const std::function<Status(std::vector<Difference>&)>& on_group,
                                  MergeCounts& counts);

}  // namespace cesync::sync
