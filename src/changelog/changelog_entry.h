#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "cql/rows.h"
#include "cql/wire/byte_reader.h"
#include "cql/wire/bytes.h"

namespace cesync::changelog {

/// What an entry says changed (docs/CHANGELOG.md, "Kinds").
enum class ChangeKind : std::uint8_t {
  kUpsert,           // a row was written: re-read it
  kStaticUpsert,     // static columns changed: re-read every row of the partition
  kRowDelete,        // a row was deleted: re-read it (it may have been written again)
  kPartitionDelete,  // the partition was deleted: re-read it, delete documents not found
  kRangeDelete,      // a clustering slice was deleted: re-read the slice
};

/// "upsert", "static_upsert", ... as stored in the log.
std::string_view changeKindName(ChangeKind kind);
/// Parses the stored name; kProtocol for an unknown one (a newer trigger than this daemon).
Result<ChangeKind> parseChangeKind(std::string_view name);

/// One change-log entry: which key of which table changed, how, and when.
struct ChangelogEntry {
  cql::UuidBytes id{};         // the entry's timeuuid, unique
  std::int64_t id_micros = 0;  // its time: the coordinator's clock when the trigger ran
  std::string keyspace;
  std::string table;
  cql::UuidBytes table_id{};
  ChangeKind kind = ChangeKind::kUpsert;
  std::vector<cql::Bytes> pk;           // serialized partition key values, in key order
  std::vector<cql::Bytes> ck;           // serialized clustering values (upsert, row delete)
  std::vector<cql::Bytes> range_start;  // range delete bounds (prefixes; empty = unbounded)
  std::vector<cql::Bytes> range_end;
  bool range_start_inclusive = false;
  bool range_end_inclusive = false;
  std::int64_t write_time = 0;  // µs
  std::optional<std::int32_t> ttl;
  bool atomic = true;  // false: written ahead of its change (counters, LWT)
};

/// The columns the reader selects, in the order parseEntry expects.
inline constexpr std::string_view kEntryColumns =
    "id, keyspace_name, table_name, table_id, kind, pk, ck, range_start, range_start_inclusive, "
    "range_end, range_end_inclusive, write_time, ttl, atomic";

/// Builds an entry from one row selected with kEntryColumns.
Result<ChangelogEntry> parseEntry(const cql::Row& row);

/// The time of a version-1 (time-based) UUID in microseconds since the Unix epoch.
std::int64_t timeuuidMicros(const cql::UuidBytes& id);

}  // namespace cesync::changelog
