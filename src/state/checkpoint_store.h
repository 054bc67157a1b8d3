#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace cesync::state {

/// One named position of one stream, e.g. scope "shop.product/changelog", name "shard-3".
/// Values are opaque to the store (the stream encodes its own position).
struct Cursor {
  std::string scope;
  std::string name;
  std::string value;
  std::int64_t updated_at_micros = 0;
};

/// A record the other side refused for good, kept so nothing is silently dropped. The same
/// record refused again for the same reason (a replay) is kept once.
struct DeadLetter {
  std::string scope;   // table and direction, e.g. "shop.product/to_search"
  std::string key;     // the record's key (document id or primary key text)
  std::string reason;  // what the other side said
  std::int64_t at_micros = 0;
};

/// What one acknowledged batch moves: cursors to advance and records to dead-letter, applied
/// together or not at all, so a checkpoint never passes a rejected record without its dead letter.
struct Commit {
  std::vector<Cursor> cursors;
  std::vector<DeadLetter> dead_letters;
  /// Cursors to remove (scope, name), e.g. timers that fired.
  std::vector<std::pair<std::string, std::string>> erase{};
};

/// Durable sync state: stream positions and dead letters.
class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;

  /// The cursor's value, or nullopt when the stream never advanced it.
  [[nodiscard]] virtual Result<std::optional<std::string>> get(const std::string& scope,
                                                               const std::string& name) = 0;
  /// Every cursor of a scope, ordered by name.
  [[nodiscard]] virtual Result<std::vector<Cursor>> list(const std::string& scope) = 0;
  /// The cursors of a scope whose names sort at or before `upto_name`, in name order, at most
  /// `limit` (names that start with a fixed-width time make a timer queue).
  [[nodiscard]] virtual Result<std::vector<Cursor>> listUpTo(const std::string& scope,
                                                             const std::string& upto_name,
                                                             std::uint32_t limit) = 0;
  /// Applies a commit atomically and durably: after it returns, a crash keeps all of it.
  [[nodiscard]] virtual Status commit(const Commit& commit) = 0;
  /// Removes every cursor of a scope (a table's state is reset, e.g. for a new snapshot).
  [[nodiscard]] virtual Status clearScope(const std::string& scope) = 0;
  /// The number of dead letters recorded for a scope.
  [[nodiscard]] virtual Result<std::uint64_t> deadLetterCount(const std::string& scope) = 0;
  /// The newest dead letters of a scope, newest first, at most `limit`.
  [[nodiscard]] virtual Result<std::vector<DeadLetter>> deadLetters(const std::string& scope,
                                                                    std::uint32_t limit) = 0;
};

}  // namespace cesync::state
