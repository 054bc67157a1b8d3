#include "changelog/changelog_entry.h"

namespace cesync::changelog {
namespace {

// 100 ns intervals between the UUID epoch (1582-10-15) and the Unix epoch.
constexpr std::int64_t kUuidEpochOffset = 0x01B21DD213814000LL;

// A frozen<list<blob>> cell: [int n] then n [bytes] (CQL v3+ collection encoding).
Result<std::vector<cql::Bytes>> parseBlobList(std::optional<cql::ByteView> cell) {
  std::vector<cql::Bytes> out;
  if (!cell) {
    return out;
  }
  cql::ByteReader reader(*cell);
  CESYNC_ASSIGN_OR_RETURN(count, reader.readInt());
  if (count < 0) {
    return fail(ErrorCode::kProtocol, "change-log key list with a negative length");
  }
  out.reserve(static_cast<std::size_t>(count));
  for (std::int32_t i = 0; i < count; ++i) {
    CESYNC_ASSIGN_OR_RETURN(element, reader.readBytes());
    if (!element) {
      return fail(ErrorCode::kProtocol, "change-log key list with a null element");
    }
    out.emplace_back(element->begin(), element->end());
  }
  return out;
}

template <typename T>
Result<T> required(const cql::Row& row, std::size_t column, const char* name) {
  if (row.isNull(column)) {
    return fail(ErrorCode::kProtocol, std::string("change-log entry without ") + name);
  }
  return row.get<T>(column);
}

}  // namespace

std::string_view changeKindName(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kUpsert:
      return "upsert";
    case ChangeKind::kStaticUpsert:
      return "static_upsert";
    case ChangeKind::kRowDelete:
      return "row_delete";
    case ChangeKind::kPartitionDelete:
      return "partition_delete";
    case ChangeKind::kRangeDelete:
      return "range_delete";
  }
  return "unknown";
}

Result<ChangeKind> parseChangeKind(std::string_view name) {
  for (const auto kind : {ChangeKind::kUpsert, ChangeKind::kStaticUpsert, ChangeKind::kRowDelete,
                          ChangeKind::kPartitionDelete, ChangeKind::kRangeDelete}) {
    if (changeKindName(kind) == name) {
      return kind;
    }
  }
  return fail(ErrorCode::kProtocol,
              "unknown change-log kind '" + std::string(name) + "' (a newer trigger?)");
}

std::int64_t timeuuidMicros(const cql::UuidBytes& id) {
  // time_low (4 bytes), time_mid (2), time_hi_and_version (2, low 12 bits of time).
  const std::uint64_t time_low = (std::uint64_t{id[0]} << 24) | (std::uint64_t{id[1]} << 16) |
                                 (std::uint64_t{id[2]} << 8) | id[3];
  const std::uint64_t time_mid = (std::uint64_t{id[4]} << 8) | id[5];
  const std::uint64_t time_hi = ((std::uint64_t{id[6]} & 0x0F) << 8) | id[7];
  const auto ticks = static_cast<std::int64_t>((time_hi << 48) | (time_mid << 32) | time_low);
  return (ticks - kUuidEpochOffset) / 10;
}

Result<ChangelogEntry> parseEntry(const cql::Row& row) {
  ChangelogEntry e;
  CESYNC_ASSIGN_OR_RETURN(id, required<cql::UuidBytes>(row, 0, "id"));
  e.id = id;
  e.id_micros = timeuuidMicros(id);
  CESYNC_ASSIGN_OR_RETURN(keyspace, required<std::string>(row, 1, "keyspace_name"));
  e.keyspace = std::move(keyspace);
  CESYNC_ASSIGN_OR_RETURN(table, required<std::string>(row, 2, "table_name"));
  e.table = std::move(table);
  if (!row.isNull(3)) {
    CESYNC_ASSIGN_OR_RETURN(table_id, row.get<cql::UuidBytes>(3));
    e.table_id = table_id;
  }
  CESYNC_ASSIGN_OR_RETURN(kind_name, required<std::string_view>(row, 4, "kind"));
  CESYNC_ASSIGN_OR_RETURN(kind, parseChangeKind(kind_name));
  e.kind = kind;
  CESYNC_ASSIGN_OR_RETURN(pk, parseBlobList(row.raw(5)));
  e.pk = std::move(pk);
  CESYNC_ASSIGN_OR_RETURN(ck, parseBlobList(row.raw(6)));
  e.ck = std::move(ck);
  CESYNC_ASSIGN_OR_RETURN(range_start, parseBlobList(row.raw(7)));
  e.range_start = std::move(range_start);
  e.range_start_inclusive = !row.isNull(8) && *row.get<bool>(8);
  CESYNC_ASSIGN_OR_RETURN(range_end, parseBlobList(row.raw(9)));
  e.range_end = std::move(range_end);
  e.range_end_inclusive = !row.isNull(10) && *row.get<bool>(10);
  CESYNC_ASSIGN_OR_RETURN(write_time, required<std::int64_t>(row, 11, "write_time"));
  e.write_time = write_time;
  if (!row.isNull(12)) {
    CESYNC_ASSIGN_OR_RETURN(ttl, row.get<std::int32_t>(12));
    e.ttl = ttl;
  }
  e.atomic = row.isNull(13) || *row.get<bool>(13);
  if (e.pk.empty()) {
    return fail(ErrorCode::kProtocol,
                "change-log entry for " + e.keyspace + "." + e.table + " without a partition key");
  }
  return e;
}

}  // namespace cesync::changelog
