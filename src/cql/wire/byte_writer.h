#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cql/wire/byte_reader.h"
#include "cql/wire/bytes.h"

namespace cesync::cql {

/// Appends the protocol's primitive notations (spec section 3), big-endian, to a byte buffer.
/// Lengths the notation cannot hold are the caller's precondition (checked by the message
/// encoders, which know the limits).
class ByteWriter {
 public:
  explicit ByteWriter(Bytes& out) : out_(out) {}

  void writeByte(std::uint8_t v) { out_.push_back(v); }
  void writeShort(std::uint16_t v);
  void writeInt(std::int32_t v);
  void writeLong(std::int64_t v);
  void writeString(std::string_view s);
  void writeLongString(std::string_view s);
  void writeUuid(const UuidBytes& u);
  void writeStringList(const std::vector<std::string>& list);
  /// [bytes] with content.
  void writeBytes(ByteView b);
  /// [bytes] / [value] null (length -1).
  void writeNull() { writeInt(-1); }
  /// [value] not set (length -2).
  void writeUnset() { writeInt(-2); }
  void writeShortBytes(ByteView b);
  void writeStringMap(const std::map<std::string, std::string>& map);
  void writeUnsignedVint(std::uint64_t v);
  void writeVint(std::int64_t v);
  void writeRaw(ByteView b) { out_.insert(out_.end(), b.begin(), b.end()); }

  /// Reserves an [int] to be filled in later with patchInt (for length prefixes).
  [[nodiscard]] std::size_t reserveInt();
  void patchInt(std::size_t at, std::int32_t v);
  [[nodiscard]] std::size_t size() const { return out_.size(); }
  [[nodiscard]] Bytes& buffer() { return out_; }

 private:
  Bytes& out_;
};

}  // namespace cesync::cql
