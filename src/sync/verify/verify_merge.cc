#include "sync/verify/verify_merge.h"

#include <simdjson.h>

#include <algorithm>
#include <unordered_map>

namespace cesync::sync {
namespace {

bool isInteger(simdjson::dom::element_type t) {
  return t == simdjson::dom::element_type::INT64 || t == simdjson::dom::element_type::UINT64;
}

bool isNumber(simdjson::dom::element_type t) {
  return isInteger(t) || t == simdjson::dom::element_type::DOUBLE;
}

double asDouble(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::INT64:
      return static_cast<double>(std::int64_t(e));
    case simdjson::dom::element_type::UINT64:
      return static_cast<double>(std::uint64_t(e));
    default:
      return double(e);
  }
}

bool sameIntegers(simdjson::dom::element a, simdjson::dom::element b) {
  using simdjson::dom::element_type;
  if (a.type() == b.type()) {
    return a.type() == element_type::INT64 ? std::int64_t(a) == std::int64_t(b)
                                           : std::uint64_t(a) == std::uint64_t(b);
  }
  // One signed, one unsigned: simdjson reads a value as unsigned only above INT64_MAX.
  return false;
}

bool sameElement(simdjson::dom::element a, simdjson::dom::element b) {
  using simdjson::dom::element_type;
  const auto ta = a.type();
  const auto tb = b.type();
  if (isNumber(ta) && isNumber(tb)) {
    if (isInteger(ta) && isInteger(tb)) {
      return sameIntegers(a, b);
    }
    return asDouble(a) == asDouble(b);
  }
  if (ta != tb) {
    return false;
  }
  switch (ta) {
    case element_type::ARRAY: {
      simdjson::dom::array xa = a;
      simdjson::dom::array xb = b;
      if (xa.size() != xb.size()) {
        return false;
      }
      auto ib = xb.begin();
      for (auto ea : xa) {
        if (!sameElement(ea, *ib)) {
          return false;
        }
        ++ib;
      }
      return true;
    }
    case element_type::OBJECT: {
      simdjson::dom::object oa = a;
      simdjson::dom::object ob = b;
      if (oa.size() != ob.size()) {
        return false;
      }
      for (auto field : oa) {
        simdjson::dom::element other;
        if (ob.at_key(field.key).get(other) != simdjson::SUCCESS ||
            !sameElement(field.value, other)) {
          return false;
        }
      }
      return true;
    }
    case element_type::STRING:
      return std::string_view(a) == std::string_view(b);
    case element_type::BOOL:
      return bool(a) == bool(b);
    case element_type::NULL_VALUE:
      return true;
    default:
      return false;
  }
}

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

bool sameJson(std::string_view a, std::string_view b) {
  // Reused from one comparison to the next (a parser keeps its buffers).
  thread_local simdjson::dom::parser pa;
  thread_local simdjson::dom::parser pb;
  simdjson::dom::element ea;
  simdjson::dom::element eb;
  if (pa.parse(a.data(), a.size()).get(ea) != simdjson::SUCCESS ||
      pb.parse(b.data(), b.size()).get(eb) != simdjson::SUCCESS) {
    return false;
  }
  return sameElement(ea, eb);
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
