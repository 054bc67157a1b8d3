#include "cql/message/result.h"

#include <limits>

#include "cql/types/value.h"
#include "cql/wire/byte_reader.h"

namespace cesync::cql {
namespace {

constexpr std::int32_t kKindVoid = 0x0001;
constexpr std::int32_t kKindRows = 0x0002;
constexpr std::int32_t kKindSetKeyspace = 0x0003;
constexpr std::int32_t kKindPrepared = 0x0004;
constexpr std::int32_t kKindSchemaChange = 0x0005;

constexpr std::int32_t kGlobalTableSpec = 0x0001;
constexpr std::int32_t kHasMorePages = 0x0002;
constexpr std::int32_t kNoMetadata = 0x0004;
constexpr std::int32_t kMetadataChanged = 0x0008;

// More columns than this in one result is treated as garbage.
constexpr std::int32_t kMaxColumns = 65536;

Result<std::vector<ColumnSpec>> readColumnSpecs(ByteReader& r, std::int32_t flags,
                                                std::int32_t count) {
  std::vector<ColumnSpec> cols;
  std::string ks;
  std::string table;
  if ((flags & kGlobalTableSpec) != 0) {
    CESYNC_ASSIGN_OR_RETURN(k, r.readString());
    CESYNC_ASSIGN_OR_RETURN(t, r.readString());
    ks = std::string(k);
    table = std::string(t);
  }
  cols.reserve(static_cast<std::size_t>(count));
  for (std::int32_t i = 0; i < count; ++i) {
    ColumnSpec c;
    if ((flags & kGlobalTableSpec) != 0) {
      c.keyspace = ks;
      c.table = table;
    } else {
      CESYNC_ASSIGN_OR_RETURN(k, r.readString());
      CESYNC_ASSIGN_OR_RETURN(t, r.readString());
      c.keyspace = std::string(k);
      c.table = std::string(t);
    }
    CESYNC_ASSIGN_OR_RETURN(name, r.readString());
    c.name = std::string(name);
    CESYNC_ASSIGN_OR_RETURN(type, readType(r));
    c.type = std::move(type);
    cols.push_back(std::move(c));
  }
  return cols;
}

Result<std::int32_t> readColumnCount(ByteReader& r) {
  CESYNC_ASSIGN_OR_RETURN(count, r.readInt());
  if (count < 0 || count > kMaxColumns) {
    return fail(ErrorCode::kProtocol, "column count " + std::to_string(count));
  }
  return count;
}

Result<ResultMetadata> readResultMetadata(ProtocolVersion version, ByteReader& r) {
  ResultMetadata md;
  CESYNC_ASSIGN_OR_RETURN(flags, r.readInt());
  CESYNC_ASSIGN_OR_RETURN(count, readColumnCount(r));
  if ((flags & kHasMorePages) != 0) {
    CESYNC_ASSIGN_OR_RETURN(state, r.readBytes());
    if (state) {
      md.paging_state = Bytes(state->begin(), state->end());
    }
  }
  if (version == ProtocolVersion::kV5 && (flags & kMetadataChanged) != 0) {
    CESYNC_ASSIGN_OR_RETURN(id, r.readShortBytes());
    md.new_metadata_id = Bytes(id.begin(), id.end());
  }
  md.no_metadata = (flags & kNoMetadata) != 0;
  if (md.no_metadata) {
    // Only the count is known; the caller supplies names and types.
    auto placeholder = std::make_shared<std::vector<ColumnSpec>>(static_cast<std::size_t>(count));
    md.columns = std::move(placeholder);
    return md;
  }
  CESYNC_ASSIGN_OR_RETURN(cols, readColumnSpecs(r, flags, count));
  md.columns = std::make_shared<const std::vector<ColumnSpec>>(std::move(cols));
  return md;
}

Result<SchemaChange> readSchemaChange(ByteReader& r) {
  SchemaChange sc;
  CESYNC_ASSIGN_OR_RETURN(change, r.readString());
  CESYNC_ASSIGN_OR_RETURN(target, r.readString());
  CESYNC_ASSIGN_OR_RETURN(keyspace, r.readString());
  sc.change = std::string(change);
  sc.target = std::string(target);
  sc.keyspace = std::string(keyspace);
  if (sc.target != "KEYSPACE") {
    CESYNC_ASSIGN_OR_RETURN(name, r.readString());
    sc.name = std::string(name);
    if (sc.target == "FUNCTION" || sc.target == "AGGREGATE") {
      CESYNC_TRY(r.readStringList());
    }
  }
  return sc;
}

Result<RowsResult> readRows(ProtocolVersion version, ByteReader& r,
                            const std::shared_ptr<const Bytes>& body, std::size_t base,
                            const Columns& known_columns) {
  CESYNC_ASSIGN_OR_RETURN(md, readResultMetadata(version, r));
  Columns columns = md.columns;
  if (md.no_metadata) {
    if (!known_columns || known_columns->size() != columns->size()) {
      return fail(ErrorCode::kProtocol, "rows without metadata and no known columns");
    }
    columns = known_columns;
  }
  CESYNC_ASSIGN_OR_RETURN(row_count, r.readInt());
  const std::size_t ncols = columns->size();
  if (row_count < 0 ||
      (ncols > 0 && static_cast<std::size_t>(row_count) > r.remaining() / (4 * ncols))) {
    return fail(ErrorCode::kProtocol, "row count " + std::to_string(row_count) + " with " +
                                          std::to_string(r.remaining()) + " bytes left");
  }
  if (body->size() > std::numeric_limits<std::uint32_t>::max()) {
    return fail(ErrorCode::kProtocol, "result body too large");
  }
  std::vector<std::int64_t> cells;
  cells.reserve(static_cast<std::size_t>(row_count) * ncols);
  for (std::int32_t i = 0; i < row_count; ++i) {
    for (std::size_t c = 0; c < ncols; ++c) {
      CESYNC_ASSIGN_OR_RETURN(len, r.readInt());
      const std::size_t offset = base + r.position();
      if (len >= 0) {
        CESYNC_TRY(r.skip(static_cast<std::size_t>(len)));
      } else {
        len = -1;
      }
      cells.push_back(static_cast<std::int64_t>((static_cast<std::uint64_t>(offset) << 32) |
                                                static_cast<std::uint32_t>(len)));
    }
  }
  RowsResult out;
  out.rows = Rows(std::move(columns), body, std::move(cells), static_cast<std::size_t>(row_count));
  out.paging_state = std::move(md.paging_state);
  out.new_metadata_id = std::move(md.new_metadata_id);
  return out;
}

}  // namespace

Result<ResultMessage> decodeResult(ProtocolVersion version,
                                   const std::shared_ptr<const Bytes>& body, std::size_t offset,
                                   const Columns& known_columns) {
  if (offset > body->size()) {
    return fail(ErrorCode::kProtocol, "result body shorter than its prefix");
  }
  ByteReader r(ByteView(*body).subspan(offset));
  CESYNC_ASSIGN_OR_RETURN(kind, r.readInt());
  switch (kind) {
    case kKindVoid:
      return ResultMessage{VoidResult{}};
    case kKindRows: {
      CESYNC_ASSIGN_OR_RETURN(rows, readRows(version, r, body, offset, known_columns));
      return ResultMessage{std::move(rows)};
    }
    case kKindSetKeyspace: {
      CESYNC_ASSIGN_OR_RETURN(ks, r.readString());
      return ResultMessage{SetKeyspaceResult{std::string(ks)}};
    }
    case kKindPrepared: {
      PreparedResult p;
      CESYNC_ASSIGN_OR_RETURN(id, r.readShortBytes());
      p.id.assign(id.begin(), id.end());
      if (version == ProtocolVersion::kV5) {
        CESYNC_ASSIGN_OR_RETURN(mid, r.readShortBytes());
        p.result_metadata_id.assign(mid.begin(), mid.end());
      }
      CESYNC_ASSIGN_OR_RETURN(flags, r.readInt());
      CESYNC_ASSIGN_OR_RETURN(count, readColumnCount(r));
      CESYNC_ASSIGN_OR_RETURN(pk_count, r.readInt());
      if (pk_count < 0 || pk_count > count) {
        return fail(ErrorCode::kProtocol, "partition key count " + std::to_string(pk_count));
      }
      for (std::int32_t i = 0; i < pk_count; ++i) {
        CESYNC_ASSIGN_OR_RETURN(idx, r.readShort());
        p.pk_indexes.push_back(idx);
      }
      CESYNC_ASSIGN_OR_RETURN(bind, readColumnSpecs(r, flags, count));
      p.bind_columns = std::make_shared<const std::vector<ColumnSpec>>(std::move(bind));
      CESYNC_ASSIGN_OR_RETURN(md, readResultMetadata(version, r));
      p.result = std::move(md);
      return ResultMessage{std::move(p)};
    }
    case kKindSchemaChange: {
      CESYNC_ASSIGN_OR_RETURN(sc, readSchemaChange(r));
      return ResultMessage{std::move(sc)};
    }
    default:
      break;
  }
  return fail(ErrorCode::kProtocol, "unknown result kind " + std::to_string(kind));
}

Result<Event> decodeEvent(ByteView body) {
  ByteReader r(body);
  Event e;
  CESYNC_ASSIGN_OR_RETURN(type, r.readString());
  e.type = std::string(type);
  if (e.type == "SCHEMA_CHANGE") {
    CESYNC_ASSIGN_OR_RETURN(sc, readSchemaChange(r));
    e.change = sc.change;
    e.schema = std::move(sc);
    return e;
  }
  CESYNC_ASSIGN_OR_RETURN(change, r.readString());
  e.change = std::string(change);
  CESYNC_ASSIGN_OR_RETURN(inet, r.readInet());
  InetAddress a;
  a.size = static_cast<std::uint8_t>(inet.first.size());
  std::copy(inet.first.begin(), inet.first.end(), a.bytes.begin());
  e.address = a.toString();
  e.port = inet.second;
  return e;
}

Result<std::map<std::string, std::vector<std::string>>> decodeSupported(ByteView body) {
  ByteReader r(body);
  return r.readStringMultimap();
}

Result<BodyPrefix> skipBodyPrefix(std::uint8_t flags, ByteView body) {
  ByteReader r(body);
  BodyPrefix p;
  if ((flags & kFlagTracing) != 0) {
    CESYNC_TRY(r.readUuid());
  }
  if ((flags & kFlagWarning) != 0) {
    CESYNC_ASSIGN_OR_RETURN(warnings, r.readStringList());
    p.warnings = std::move(warnings);
  }
  if ((flags & kFlagCustomPayload) != 0) {
    CESYNC_TRY(r.readBytesMap());
  }
  p.offset = r.position();
  return p;
}

}  // namespace cesync::cql
