#include "sync/to_search/coalescer.h"

#include <algorithm>

namespace cesync::sync {
namespace {

using changelog::ChangeKind;

// Length-prefixed concatenation, so that different key splits never collide.
void appendParts(std::string& out, const std::vector<cql::Bytes>& parts) {
  out += std::to_string(parts.size());
  out += ':';
  for (const auto& p : parts) {
    out += std::to_string(p.size());
    out += ':';
    out.append(p.begin(), p.end());
  }
}

std::string partitionKey(const changelog::ChangelogEntry& e) {
  std::string key;
  appendParts(key, e.pk);
  return key;
}

void raise(std::int64_t& at_least, std::int64_t time) {
  at_least = std::max(at_least, time);
}

}  // namespace

std::string clusteringKeyOf(const std::vector<cql::Bytes>& ck) {
  std::string key;
  appendParts(key, ck);
  return key;
}

void Coalescer::merge(KeyWork& into, const changelog::ChangelogEntry& entry) {
  const bool is_delete = entry.kind == ChangeKind::kRowDelete ||
                         entry.kind == ChangeKind::kPartitionDelete ||
                         entry.kind == ChangeKind::kRangeDelete;
  if (into.entries == 0 || entry.write_time >= into.write_time) {
    into.newest_is_delete = is_delete;
  }
  if (into.entries == 0) {
    into.write_time = entry.write_time;
    into.oldest_entry_micros = entry.id_micros;
  } else {
    into.write_time = std::max(into.write_time, entry.write_time);
    into.oldest_entry_micros = std::min(into.oldest_entry_micros, entry.id_micros);
  }
  into.ahead_of_change = into.ahead_of_change || !entry.atomic;
  if (entry.ttl && *entry.ttl > 0) {
    // Cassandra counts a TTL from when the write arrives (in whole seconds), not from its
    // timestamp: the entry's own time is that arrival.
    const std::int64_t expires = entry.id_micros + std::int64_t{*entry.ttl} * 1'000'000 + 1'000'000;
    into.expires_at_micros =
        into.expires_at_micros == 0 ? expires : std::min(into.expires_at_micros, expires);
  }
  ++into.entries;
}

void Coalescer::add(const changelog::ChangelogEntry& entry) {
  const std::string pkey = partitionKey(entry);
  switch (entry.kind) {
    case ChangeKind::kPartitionDelete:
    case ChangeKind::kStaticUpsert: {
      auto [it, inserted] = partitions_.try_emplace(pkey);
      if (inserted) {
        it->second.scope = KeyWork::Scope::kPartition;
        it->second.pk = entry.pk;
      }
      merge(it->second, entry);
      raise(it->second.partition_time, entry.write_time);
      // Row and slice work of this partition is covered by the partition read now.
      auto first = rows_.lower_bound(pkey);
      auto last = first;
      while (last != rows_.end() && last->first.compare(0, pkey.size(), pkey) == 0) {
        if (last->second.write_time > it->second.write_time) {
          it->second.newest_is_delete = last->second.newest_is_delete;
        }
        it->second.write_time = std::max(it->second.write_time, last->second.write_time);
        it->second.oldest_entry_micros =
            std::min(it->second.oldest_entry_micros, last->second.oldest_entry_micros);
        it->second.ahead_of_change = it->second.ahead_of_change || last->second.ahead_of_change;
        if (last->second.expires_at_micros != 0) {
          it->second.expires_at_micros =
              it->second.expires_at_micros == 0
                  ? last->second.expires_at_micros
                  : std::min(it->second.expires_at_micros, last->second.expires_at_micros);
        }
        it->second.entries += last->second.entries;
        if (last->second.scope == KeyWork::Scope::kRow) {
          raise(it->second.row_times[clusteringKeyOf(last->second.ck)], last->second.write_time);
        }
        ++last;
      }
      rows_.erase(first, last);
      return;
    }
    case ChangeKind::kUpsert:
    case ChangeKind::kRowDelete:
    case ChangeKind::kRangeDelete: {
      if (auto p = partitions_.find(pkey); p != partitions_.end()) {
        merge(p->second, entry);
        if (entry.kind != ChangeKind::kRangeDelete) {
          raise(p->second.row_times[clusteringKeyOf(entry.ck)], entry.write_time);
        }
        return;
      }
      std::string key = pkey;
      const bool slice = entry.kind == ChangeKind::kRangeDelete;
      key += slice ? "s" : "r";
      if (slice) {
        appendParts(key, entry.range_start);
        key += entry.range_start_inclusive ? '[' : '(';
        appendParts(key, entry.range_end);
        key += entry.range_end_inclusive ? ']' : ')';
      } else {
        appendParts(key, entry.ck);
      }
      auto [it, inserted] = rows_.try_emplace(key);
      if (inserted) {
        KeyWork& w = it->second;
        w.pk = entry.pk;
        if (slice) {
          w.scope = KeyWork::Scope::kSlice;
          w.slice_start = entry.range_start;
          w.slice_end = entry.range_end;
          w.slice_start_inclusive = entry.range_start_inclusive;
          w.slice_end_inclusive = entry.range_end_inclusive;
        } else {
          w.scope = KeyWork::Scope::kRow;
          w.ck = entry.ck;
        }
      }
      merge(it->second, entry);
      return;
    }
  }
}

std::vector<KeyWork> Coalescer::drain() {
  std::vector<KeyWork> out;
  out.reserve(pendingKeys());
  for (auto& [key, work] : partitions_) {
    out.push_back(std::move(work));
  }
  for (auto& [key, work] : rows_) {
    out.push_back(std::move(work));
  }
  partitions_.clear();
  rows_.clear();
  return out;
}

}  // namespace cesync::sync
