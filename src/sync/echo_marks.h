#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace cesync::sync {

/// Rows the search side has just written to Cassandra, by table and document id, with the write
/// time used. The change each such write puts in the change log would only index the same
/// document back; the to_search direction consumes the mark and skips that write, so a change
/// crosses between the sides once. Bounded: the oldest marks are forgotten first (an echo then
/// costs one harmless index write). Safe to share between threads.
class EchoMarks {
 public:
  explicit EchoMarks(std::size_t capacity = 100'000) : capacity_(capacity) {}

  /// Remembers that `table`'s row `id` was written from the search side at `version` (µs).
  void record(const std::string& table, const std::string& id, std::int64_t version);

  /// True (and forgets the mark) when `table`'s row `id` was written from the search side at
  /// exactly `version`.
  [[nodiscard]] bool consume(const std::string& table, const std::string& id, std::int64_t version);

  [[nodiscard]] std::size_t size() const;

 private:
  static std::string keyOf(const std::string& table, const std::string& id);

  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::int64_t> marks_;
  std::deque<std::string> order_;  // insertion order, for eviction
};

}  // namespace cesync::sync
