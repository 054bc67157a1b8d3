#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "changelog/changelog_entry.h"

namespace cesync::sync {

/// What must be re-read from one table to bring the index up to date.
struct KeyWork {
  enum class Scope : std::uint8_t {
    kRow,        // one row: index it, or delete its document if it is gone
    kPartition,  // a whole partition: index every row, delete documents of rows not found
    kSlice,      // a clustering slice of a partition: likewise, within the slice
  };
  Scope scope = Scope::kRow;
  std::vector<cql::Bytes> pk;
  std::vector<cql::Bytes> ck;           // kRow: the full clustering key (empty without clustering)
  std::vector<cql::Bytes> slice_start;  // kSlice: bounds as in the change log
  std::vector<cql::Bytes> slice_end;
  bool slice_start_inclusive = false;
  bool slice_end_inclusive = false;
  /// The newest write time of the entries merged here (µs): the version of deletes, and the
  /// least write time a re-read must show before it is trusted.
  std::int64_t write_time = 0;
  /// Partition work: the newest write time of the entries that touch every row of it (partition
  /// deletes, static changes). A row found by the read is versioned by what it holds itself,
  /// this, and the entries that named that row (`row_times`), never by another row's change.
  std::int64_t partition_time = 0;
  /// Partition work: the newest write time of the row entries merged in, by clusteringKeyOf(ck).
  std::map<std::string, std::int64_t> row_times;
  /// The oldest entry time merged here (µs): the checkpoint cannot pass it until this work is
  /// acknowledged.
  std::int64_t oldest_entry_micros = 0;
  /// Some entry was written ahead of its change (counters, LWT): re-read once more later.
  bool ahead_of_change = false;
  /// The newest entry merged here was a delete (so finding no row is the expected outcome).
  bool newest_is_delete = false;
  /// How many entries were merged into this work.
  std::uint32_t entries = 0;
  /// When the earliest TTL set by the entries merged here runs out (µs, after the entry's
  /// arrival plus the TTL and a second's margin); 0 for none. Expiry is not a write, so the row
  /// is read again then.
  std::int64_t expires_at_micros = 0;
  /// A re-read that did not show its change yet waits until this time (µs) for the next one;
  /// the wait doubles each time.
  std::int64_t recheck_at_micros = 0;
  std::int64_t recheck_gap_micros = 0;
  /// How many times a write of this work was refused by a newer version in the index (or lost
  /// a compare-and-set) and the work read again to compare the row with the document.
  std::uint8_t conflict_rounds = 0;
};

/// A clustering key as a map key of KeyWork::row_times (length-prefixed parts).
std::string clusteringKeyOf(const std::vector<cql::Bytes>& ck);

/// Merges the change-log entries of one table into the least re-reading that covers them: many
/// changes to one row become one row read; anything that touches a partition as a whole
/// (partition delete, static columns) absorbs that partition's row and slice work; equal slices
/// merge. Memory grows with the distinct keys added since the last drain().
class Coalescer {
 public:
  void add(const changelog::ChangelogEntry& entry);
  /// The work gathered since the last drain, partitions first.
  [[nodiscard]] std::vector<KeyWork> drain();
  [[nodiscard]] std::size_t pendingKeys() const { return partitions_.size() + rows_.size(); }

 private:
  static void merge(KeyWork& into, const changelog::ChangelogEntry& entry);

  std::map<std::string, KeyWork> partitions_;  // by partition key
  std::map<std::string, KeyWork> rows_;        // by partition key + row or slice
};

}  // namespace cesync::sync
