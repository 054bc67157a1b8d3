#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/json_writer.h"

namespace cesync::es {

/// How the search engine compares a bulk item's version with the stored document's.
enum class VersionType : std::uint8_t {
  kInternal,     // no version sent; the engine's own counter (last write wins by arrival)
  kExternal,     // accepted only if strictly greater than the stored version
  kExternalGte,  // accepted if greater than or equal (a replay of the same version is a no-op)
};

/// Text form used in `version_type`.
[[nodiscard]] std::string_view versionTypeName(VersionType type);

/// The kind of a bulk item.
enum class BulkOp : std::uint8_t { kIndex, kDelete };

/// Where a bulk item goes. Views must stay valid only for the duration of the encoder call.
struct BulkTarget {
  std::string_view index{};
  std::string_view id{};
  /// The external version (cesync: the row's newest write time in µs); ignored with kInternal.
  std::int64_t version = 0;
  /// Custom routing; empty for the default (routing by id).
  std::string_view routing{};
  /// Compare-and-set instead of a version: the write applies only if the document is still at
  /// this sequence number and primary term (as read before); else it is a version conflict.
  std::optional<std::int64_t> if_seq_no{};
  std::int64_t if_primary_term = 0;
  /// An index item that applies only if the document does not exist (a `create` action);
  /// else a version conflict.
  bool create_only = false;
};

/// When a batch is full: the caller starts a new encoder once full() says so. An item is never
/// split, so a batch ends at the first item that reaches a limit (it may exceed max_bytes by
/// that one item).
struct BatchLimits {
  std::size_t max_bytes = std::size_t{5} << 20U;
  std::size_t max_items = 10'000;
};

/// Limits that cut about `total_bytes` of items into `parts` batches of similar size, so that
/// `parts` requests can be in flight at once and the engine indexes them on as many write
/// threads (it indexes one request on one thread). Never above `limits`; a batch is cut only
/// once it holds `min_bytes` (small writes stay one request). Precondition: parts >= 1.
[[nodiscard]] BatchLimits spreadOver(const BatchLimits& limits, std::size_t total_bytes,
                                     std::size_t parts, std::size_t min_bytes);

/// Encodes `_bulk` request bodies: for each item an action line and, for index items, a source
/// line, appended to one NDJSON buffer with no intermediate copies. Pure: no I/O, no clock.
///
/// The encoder remembers where each item starts, so a caller can cut batches by bytes() and a
/// retry can resend a subset of items (item(i)) without re-encoding them.
class BulkEncoder {
 public:
  explicit BulkEncoder(VersionType version_type = VersionType::kExternalGte)
      : version_type_(version_type) {}

  /// Appends an index item whose source is already-serialised JSON. Raw newlines in `source`
  /// (legal JSON whitespace, fatal to NDJSON) are replaced by spaces.
  void index(const BulkTarget& target, std::string_view source_json);

  /// Appends an index item whose source `write_source(util::JsonWriter&)` writes straight into
  /// the request buffer; it must write exactly one JSON object.
  template <typename WriteSource>
  void indexWith(const BulkTarget& target, WriteSource&& write_source) {
    beginItem(BulkOp::kIndex, target);
    util::JsonWriter writer(buffer_);
    std::forward<WriteSource>(write_source)(writer);
    buffer_.push_back('\n');
  }

  /// Appends a delete item.
  void remove(const BulkTarget& target);

  /// Bytes encoded so far (the request body size before compression).
  [[nodiscard]] std::size_t bytes() const { return buffer_.size(); }
  /// Items encoded so far.
  [[nodiscard]] std::size_t items() const { return starts_.size(); }
  [[nodiscard]] bool empty() const { return starts_.empty(); }
  /// True once the batch reached either limit.
  [[nodiscard]] bool full(const BatchLimits& limits) const {
    return bytes() >= limits.max_bytes || items() >= limits.max_items;
  }
  /// The whole request body.
  [[nodiscard]] std::string_view body() const { return buffer_; }
  /// The NDJSON lines of item `i` (action and source), newline-terminated. Precondition: i <
  /// items().
  [[nodiscard]] std::string_view item(std::size_t i) const;
  /// The kind of item `i`. Precondition: i < items().
  [[nodiscard]] BulkOp op(std::size_t i) const { return ops_[i]; }
  [[nodiscard]] VersionType versionType() const { return version_type_; }

  /// Forgets all items, keeping the buffer's capacity.
  void clear();
  /// Reserves room for `bytes` of body.
  void reserve(std::size_t bytes) { buffer_.reserve(bytes); }

 private:
  void beginItem(BulkOp op, const BulkTarget& target);

  VersionType version_type_;
  std::string buffer_;
  std::vector<std::size_t> starts_;
  std::vector<BulkOp> ops_;
};

}  // namespace cesync::es
