#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "cql/protocol.h"
#include "cql/types/cql_type.h"
#include "cql/types/value.h"
#include "cql/wire/bytes.h"

namespace cesync::cql {

/// The <query_parameters> shared by QUERY and EXECUTE (spec v4 4.1.4, v5 4.1.4).
struct QueryParameters {
  Consistency consistency = Consistency::kLocalQuorum;
  /// Positional bound values.
  std::vector<Value> values;
  /// Types of the bound values (from PREPARE); when null the types are inferred from the values.
  const std::vector<CqlTypePtr>* value_types = nullptr;
  bool skip_metadata = false;
  /// Rows per page; 0 or less leaves paging off.
  std::int32_t page_size = 0;
  std::optional<Bytes> paging_state;
  std::optional<Consistency> serial_consistency;
  /// Client-side write timestamp in microseconds (USING TIMESTAMP for every write of the request).
  std::optional<std::int64_t> default_timestamp;
  /// v5 only: the keyspace the query runs in.
  std::string keyspace;
  /// v5 only: "now" for TTL and function evaluation, in seconds.
  std::optional<std::int32_t> now_in_seconds;
};

/// Kinds of BATCH.
enum class BatchType : std::uint8_t { kLogged = 0, kUnlogged = 1, kCounter = 2 };

/// One statement in a BATCH: a query string, or the id of a prepared statement, with values.
struct BatchStatement {
  std::string query;
  Bytes prepared_id;
  std::vector<Value> values;
  const std::vector<CqlTypePtr>* value_types = nullptr;
};

Bytes encodeStartup(const std::map<std::string, std::string>& options);
Bytes encodeAuthResponse(ByteView token);
Bytes encodeRegister(const std::vector<std::string>& event_types);
[[nodiscard]] Result<Bytes> encodeQuery(ProtocolVersion version, std::string_view query,
                                        const QueryParameters& params);
[[nodiscard]] Bytes encodePrepare(ProtocolVersion version, std::string_view query,
                                  std::string_view keyspace);
[[nodiscard]] Result<Bytes> encodeExecute(ProtocolVersion version, ByteView id,
                                          ByteView result_metadata_id,
                                          const QueryParameters& params);
/// Encodes a BATCH; the parameters' values, paging and skip_metadata are ignored.
[[nodiscard]] Result<Bytes> encodeBatch(ProtocolVersion version, BatchType type,
                                        const std::vector<BatchStatement>& statements,
                                        const QueryParameters& params);

}  // namespace cesync::cql
