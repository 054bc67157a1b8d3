#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"
#include "cql/protocol.h"
#include "cql/rows.h"
#include "cql/wire/bytes.h"

namespace cesync::cql {

/// Result metadata of a Rows result or of a prepared statement's results.
struct ResultMetadata {
  Columns columns;
  std::optional<Bytes> paging_state;
  std::optional<Bytes> new_metadata_id;  // v5 Metadata_changed
  bool no_metadata = false;
};

/// RESULT kind Rows: a page of rows and where the next page starts.
struct RowsResult {
  Rows rows;
  std::optional<Bytes> paging_state;
  std::optional<Bytes> new_metadata_id;
};

/// RESULT kind Prepared.
struct PreparedResult {
  Bytes id;
  Bytes result_metadata_id;  // v5
  Columns bind_columns;
  std::vector<std::uint16_t> pk_indexes;
  ResultMetadata result;
};

/// RESULT kind Schema_change (also the body of a SCHEMA_CHANGE event).
struct SchemaChange {
  std::string change;  // CREATED, UPDATED, DROPPED
  std::string target;  // KEYSPACE, TABLE, TYPE, FUNCTION, AGGREGATE
  std::string keyspace;
  std::string name;
};

struct VoidResult {};
struct SetKeyspaceResult {
  std::string keyspace;
};

using ResultMessage =
    std::variant<VoidResult, RowsResult, SetKeyspaceResult, PreparedResult, SchemaChange>;

/// Decodes a RESULT body. `known_columns` supplies the metadata when the request asked the
/// server to skip it (No_metadata). Every cell offset is checked against the body, so a garbled
/// body is an error value.
[[nodiscard]] Result<ResultMessage> decodeResult(ProtocolVersion version,
                                                 const std::shared_ptr<const Bytes>& body,
                                                 std::size_t offset,
                                                 const Columns& known_columns = nullptr);

/// An EVENT pushed by the server after REGISTER.
struct Event {
  std::string type;    // TOPOLOGY_CHANGE, STATUS_CHANGE, SCHEMA_CHANGE
  std::string change;  // NEW_NODE, REMOVED_NODE, UP, DOWN, or a schema change kind
  std::string address;
  std::int32_t port = 0;
  SchemaChange schema;
};

[[nodiscard]] Result<Event> decodeEvent(ByteView body);

/// SUPPORTED: option name -> values.
[[nodiscard]] Result<std::map<std::string, std::vector<std::string>>> decodeSupported(
    ByteView body);

/// Where the message proper starts in a response body, after the optional tracing id, warnings
/// and custom payload the flags announce; warnings are returned.
struct BodyPrefix {
  std::size_t offset = 0;
  std::vector<std::string> warnings;
};
[[nodiscard]] Result<BodyPrefix> skipBodyPrefix(std::uint8_t flags, ByteView body);

}  // namespace cesync::cql
