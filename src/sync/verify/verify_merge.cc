#include "sync/verify/verify_merge.h"

#include <algorithm>
#include <unordered_map>

namespace cesync::sync {
namespace {

// A stream with one entry of look-ahead, checking that tokens never go down.
class Peeked {
 public:
  Peeked(EntryStream& stream, const char* side) : stream_(stream), side_(side) {}

  /// The next entry's token, nullopt at the end.
  Result<std::optional<std::int64_t>> peekToken() {
    if (!ahead_ && !ended_) {
      CESYNC_ASSIGN_OR_RETURN(entry, stream_.next());
      if (!entry) {
        ended_ = true;
      } else {
        if (last_ && entry->token < *last_) {
          return fail(ErrorCode::kInternal,
                      std::string("verify: the ") + side_ + " are not in token order (" +
                          std::to_string(entry->token) + " after " + std::to_string(*last_) + ")");
        }
        last_ = entry->token;
        ahead_ = std::move(entry);
      }
    }
    if (ended_) {
      return std::optional<std::int64_t>();
    }
    return std::optional<std::int64_t>(ahead_->token);
  }

  /// Moves every entry of `token` into `group` (cleared first).
  Status take(std::int64_t token, std::vector<VerifyEntry>& group) {
    group.clear();
    while (true) {
      CESYNC_ASSIGN_OR_RETURN(next, peekToken());
      if (!next || *next != token) {
        return {};
      }
      group.push_back(std::move(*ahead_));
      ahead_.reset();
    }
  }

 private:
  EntryStream& stream_;
  const char* side_;
  std::optional<VerifyEntry> ahead_;
  std::optional<std::int64_t> last_;
  bool ended_ = false;
};

}  // namespace

std::string_view differenceName(DifferenceKind kind) {
  switch (kind) {
    case DifferenceKind::kMissing:
      return "missing";
    case DifferenceKind::kExtra:
      return "extra";
    case DifferenceKind::kStale:
      return "stale";
  }
  return "?";
}

void compareGroup(const std::vector<VerifyEntry>& rows, const std::vector<VerifyEntry>& documents,
                  const MergeOptions& options, std::vector<Difference>& out) {
  // A partition's rows are few enough to index by id.
  std::unordered_map<std::string_view, const VerifyEntry*> by_id;
  by_id.reserve(documents.size());
  for (const auto& d : documents) {
    by_id.emplace(d.id, &d);
  }
  std::unordered_map<std::string_view, bool> matched;
  for (const auto& row : rows) {
    const auto found = by_id.find(row.id);
    if (found == by_id.end()) {
      out.push_back({DifferenceKind::kMissing, row.token, row.id, row.version, -1, {}});
      continue;
    }
    matched[row.id] = true;
    const VerifyEntry& doc = *found->second;
    if (options.compare_versions && doc.version < row.version) {
      out.push_back(
          {DifferenceKind::kStale, row.token, row.id, row.version, doc.version, "version"});
    } else if (!(options.same_content ? options.same_content(row.source, doc.source)
                                      : sameJson(doc.source, row.source))) {
      out.push_back(
          {DifferenceKind::kStale, row.token, row.id, row.version, doc.version, "content"});
    }
  }
  for (const auto& d : documents) {
    if (!matched.contains(d.id)) {
      out.push_back({DifferenceKind::kExtra, d.token, d.id, -1, d.version, {}});
    }
  }
}

Status mergeStreams(EntryStream& rows, EntryStream& documents, const MergeOptions& options,
                    const std::function<Status(std::vector<Difference>&)>& on_group,
                    MergeCounts& counts) {
  Peeked left(rows, "rows");
  Peeked right(documents, "documents");
  std::vector<VerifyEntry> row_group;
  std::vector<VerifyEntry> doc_group;
  std::vector<Difference> differences;
  while (true) {
    CESYNC_ASSIGN_OR_RETURN(row_token, left.peekToken());
    CESYNC_ASSIGN_OR_RETURN(doc_token, right.peekToken());
    if (!row_token && !doc_token) {
      return {};
    }
    const std::int64_t token =
        !row_token ? *doc_token : (!doc_token ? *row_token : std::min(*row_token, *doc_token));
    CESYNC_TRY(left.take(token, row_group));
    CESYNC_TRY(right.take(token, doc_group));
    differences.clear();
    compareGroup(row_group, doc_group, options, differences);
    if (!differences.empty()) {
      CESYNC_TRY(on_group(differences));
    }
    counts.rows += row_group.size();
    counts.documents += doc_group.size();
    counts.last_token = token;
  }
}

}  // namespace cesync::sync
