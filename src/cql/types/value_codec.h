#pragma once

#include <optional>

#include "common/result.h"
#include "cql/types/cql_type.h"
#include "cql/types/value.h"
#include "cql/wire/byte_writer.h"

namespace cesync::cql {

/// Decodes the serialized form of a (non-null) cell of type `type` (spec v5 section 6). An empty
/// buffer for a numeric or other fixed-width type decodes as null, as Cassandra allows. Malformed
/// bytes are a kProtocol error value.
[[nodiscard]] Result<Value> decodeValue(const CqlType& type, ByteView bytes);

/// As decodeValue, with nullopt (a [bytes] of negative length) giving a null of `type`.
[[nodiscard]] Result<Value> decodeCell(const CqlType& type, std::optional<ByteView> bytes);

/// Appends the serialized form of `value` as `type` (no length prefix). Integer kinds convert to
/// any integer type whose range holds the value; float and double convert to each other; text and
/// ascii to each other; an integer to varint. Anything else that does not match is a
/// kInvalidArgument error naming both types. Null and unset are the caller's business (see
/// writeValue).
[[nodiscard]] Status encodeValue(const CqlType& type, const Value& value, Bytes& out);

/// Appends a [value]: length-prefixed bytes, -1 for null, -2 for unset.
[[nodiscard]] Status writeValue(const CqlType& type, const Value& value, ByteWriter& writer);

/// The type a Value encodes as when no metadata is known (unprepared statements). Collections take
/// their element types from their first element (text when empty).
[[nodiscard]] CqlTypePtr inferType(const Value& value);

}  // namespace cesync::cql
