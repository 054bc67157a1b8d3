#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "cql/wire/bytes.h"

namespace cesync::cql {

/// A 16-byte UUID as it travels on the wire.
using UuidBytes = std::array<std::uint8_t, 16>;

/// Reads the protocol's primitive notations (spec section 3) from a byte view. Every read checks
/// the remaining length first, so a truncated or garbled message becomes a kTruncated or
/// kProtocol error value, never an out-of-bounds access. Views returned point into the input,
/// which must outlive them.
class ByteReader {
 public:
  explicit ByteReader(ByteView bytes) : bytes_(bytes) {}

  [[nodiscard]] std::size_t remaining() const { return bytes_.size() - pos_; }
  [[nodiscard]] std::size_t position() const { return pos_; }
  [[nodiscard]] bool empty() const { return remaining() == 0; }
  /// The bytes not read yet.
  [[nodiscard]] ByteView rest() const { return bytes_.subspan(pos_); }

  [[nodiscard]] Result<std::uint8_t> readByte();
  /// [short]: unsigned 16 bits.
  [[nodiscard]] Result<std::uint16_t> readShort();
  [[nodiscard]] Result<std::int32_t> readInt();
  [[nodiscard]] Result<std::int64_t> readLong();
  /// [string]: [short] length + UTF-8 bytes.
  [[nodiscard]] Result<std::string_view> readString();
  /// [long string]: [int] length + UTF-8 bytes.
  [[nodiscard]] Result<std::string_view> readLongString();
  [[nodiscard]] Result<UuidBytes> readUuid();
  [[nodiscard]] Result<std::vector<std::string>> readStringList();
  /// [bytes]: nullopt for a negative length (null).
  [[nodiscard]] Result<std::optional<ByteView>> readBytes();
  /// [short bytes].
  [[nodiscard]] Result<ByteView> readShortBytes();
  /// [inetaddr] (4 or 16 address bytes).
  [[nodiscard]] Result<ByteView> readInetAddr();
  /// [inet]: address bytes and port.
  [[nodiscard]] Result<std::pair<ByteView, std::int32_t>> readInet();
  [[nodiscard]] Result<std::map<std::string, std::string>> readStringMap();
  [[nodiscard]] Result<std::map<std::string, std::vector<std::string>>> readStringMultimap();
  [[nodiscard]] Result<std::map<std::string, Bytes>> readBytesMap();
  /// [unsigned vint] (v5 section 3).
  [[nodiscard]] Result<std::uint64_t> readUnsignedVint();
  /// [vint]: zig-zag decoded.
  [[nodiscard]] Result<std::int64_t> readVint();
  /// Exactly n raw bytes.
  [[nodiscard]] Result<ByteView> readRaw(std::size_t n);
  [[nodiscard]] Status skip(std::size_t n);

 private:
  [[nodiscard]] Status need(std::size_t n, std::string_view what) const;

  ByteView bytes_;
  std::size_t pos_ = 0;
};

}  // namespace cesync::cql
