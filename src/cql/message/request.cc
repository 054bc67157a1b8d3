#include "cql/message/request.h"

#include <limits>

#include "cql/types/value_codec.h"
#include "cql/wire/byte_writer.h"

namespace cesync::cql {
namespace {

constexpr std::uint32_t kValues = 0x01;
constexpr std::uint32_t kSkipMetadata = 0x02;
constexpr std::uint32_t kPageSize = 0x04;
constexpr std::uint32_t kPagingState = 0x08;
constexpr std::uint32_t kSerialConsistency = 0x10;
constexpr std::uint32_t kDefaultTimestamp = 0x20;
constexpr std::uint32_t kKeyspace = 0x80;
constexpr std::uint32_t kNowInSeconds = 0x100;

void writeFlags(ProtocolVersion version, std::uint32_t flags, ByteWriter& w) {
  if (version == ProtocolVersion::kV5) {
    w.writeInt(static_cast<std::int32_t>(flags));
  } else {
    w.writeByte(static_cast<std::uint8_t>(flags));
  }
}

Status writeValues(const std::vector<Value>& values, const std::vector<CqlTypePtr>* types,
                   ByteWriter& w) {
  if (values.size() > std::numeric_limits<std::uint16_t>::max()) {
    return fail(ErrorCode::kInvalidArgument, std::to_string(values.size()) + " bound values");
  }
  if (types != nullptr && types->size() != values.size()) {
    return fail(ErrorCode::kInvalidArgument, "statement takes " + std::to_string(types->size()) +
                                                 " values, " + std::to_string(values.size()) +
                                                 " given");
  }
  w.writeShort(static_cast<std::uint16_t>(values.size()));
  for (std::size_t i = 0; i < values.size(); ++i) {
    const CqlTypePtr type = types != nullptr ? (*types)[i] : inferType(values[i]);
    CESYNC_TRY(writeValue(*type, values[i], w));
  }
  return {};
}

Status writeParameters(ProtocolVersion version, const QueryParameters& p, ByteWriter& w) {
  w.writeShort(static_cast<std::uint16_t>(p.consistency));
  std::uint32_t flags = 0;
  const bool v5 = version == ProtocolVersion::kV5;
  if (!p.values.empty()) {
    flags |= kValues;
  }
  if (p.skip_metadata) {
    flags |= kSkipMetadata;
  }
  if (p.page_size > 0) {
    flags |= kPageSize;
  }
  if (p.paging_state) {
    flags |= kPagingState;
  }
  if (p.serial_consistency) {
    flags |= kSerialConsistency;
  }
  if (p.default_timestamp) {
    flags |= kDefaultTimestamp;
  }
  if (v5 && !p.keyspace.empty()) {
    flags |= kKeyspace;
  }
  if (v5 && p.now_in_seconds) {
    flags |= kNowInSeconds;
  }
  writeFlags(version, flags, w);
  if (!p.values.empty()) {
    CESYNC_TRY(writeValues(p.values, p.value_types, w));
  }
  if (p.page_size > 0) {
    w.writeInt(p.page_size);
  }
  if (p.paging_state) {
    w.writeBytes(*p.paging_state);
  }
  if (p.serial_consistency) {
    w.writeShort(static_cast<std::uint16_t>(*p.serial_consistency));
  }
  if (p.default_timestamp) {
    w.writeLong(*p.default_timestamp);
  }
  if (v5 && !p.keyspace.empty()) {
    w.writeString(p.keyspace);
  }
  if (v5 && p.now_in_seconds) {
    w.writeInt(*p.now_in_seconds);
  }
  return {};
}

}  // namespace

Bytes encodeStartup(const std::map<std::string, std::string>& options) {
  Bytes out;
  ByteWriter(out).writeStringMap(options);
  return out;
}

Bytes encodeAuthResponse(ByteView token) {
  Bytes out;
  ByteWriter(out).writeBytes(token);
  return out;
}

Bytes encodeRegister(const std::vector<std::string>& event_types) {
  Bytes out;
  ByteWriter(out).writeStringList(event_types);
  return out;
}

Result<Bytes> encodeQuery(ProtocolVersion version, std::string_view query,
                          const QueryParameters& params) {
  Bytes out;
  ByteWriter w(out);
  w.writeLongString(query);
  CESYNC_TRY(writeParameters(version, params, w));
  return out;
}

Bytes encodePrepare(ProtocolVersion version, std::string_view query, std::string_view keyspace) {
  Bytes out;
  ByteWriter w(out);
  w.writeLongString(query);
  if (version == ProtocolVersion::kV5) {
    w.writeInt(keyspace.empty() ? 0 : 0x01);
    if (!keyspace.empty()) {
      w.writeString(keyspace);
    }
  }
  return out;
}

Result<Bytes> encodeExecute(ProtocolVersion version, ByteView id, ByteView result_metadata_id,
                            const QueryParameters& params) {
  Bytes out;
  ByteWriter w(out);
  w.writeShortBytes(id);
  if (version == ProtocolVersion::kV5) {
    w.writeShortBytes(result_metadata_id);
  }
  CESYNC_TRY(writeParameters(version, params, w));
  return out;
}

Result<Bytes> encodeBatch(ProtocolVersion version, BatchType type,
                          const std::vector<BatchStatement>& statements,
                          const QueryParameters& params) {
  if (statements.size() > std::numeric_limits<std::uint16_t>::max()) {
    return fail(ErrorCode::kInvalidArgument,
                std::to_string(statements.size()) + " statements in one batch");
  }
  Bytes out;
  ByteWriter w(out);
  w.writeByte(static_cast<std::uint8_t>(type));
  w.writeShort(static_cast<std::uint16_t>(statements.size()));
  for (const auto& s : statements) {
    if (!s.prepared_id.empty()) {
      w.writeByte(1);
      w.writeShortBytes(s.prepared_id);
    } else {
      w.writeByte(0);
      w.writeLongString(s.query);
    }
    CESYNC_TRY(writeValues(s.values, s.value_types, w));
  }
  w.writeShort(static_cast<std::uint16_t>(params.consistency));
  std::uint32_t flags = 0;
  const bool v5 = version == ProtocolVersion::kV5;
  if (params.serial_consistency) {
    flags |= kSerialConsistency;
  }
  if (params.default_timestamp) {
    flags |= kDefaultTimestamp;
  }
  if (v5 && !params.keyspace.empty()) {
    flags |= kKeyspace;
  }
  if (v5 && params.now_in_seconds) {
    flags |= kNowInSeconds;
  }
  writeFlags(version, flags, w);
  if (params.serial_consistency) {
    w.writeShort(static_cast<std::uint16_t>(*params.serial_consistency));
  }
  if (params.default_timestamp) {
    w.writeLong(*params.default_timestamp);
  }
  if (v5 && !params.keyspace.empty()) {
    w.writeString(params.keyspace);
  }
  if (v5 && params.now_in_seconds) {
    w.writeInt(*params.now_in_seconds);
  }
  return out;
}

}  // namespace cesync::cql
