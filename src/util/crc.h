#pragma once

#include <cstdint>
#include <span>

namespace cesync::util {

/// CRC24 as used by the CQL v5 frame header: initial value 0x875060, polynomial 0x1974F0B, bits
/// taken most significant first from each byte, bytes in the order given (the wire order of the
/// little-endian header). Returns the low 24 bits.
[[nodiscard]] std::uint32_t crc24(std::span<const std::uint8_t> bytes);

/// Plain CRC32 (IEEE, reflected, as zlib computes it).
[[nodiscard]] std::uint32_t crc32(std::span<const std::uint8_t> bytes);

/// CRC32 of the CQL v5 frame trailer: the IEEE CRC32 of the bytes FA 2D 55 CA followed by `bytes`.
[[nodiscard]] std::uint32_t cqlFrameCrc32(std::span<const std::uint8_t> bytes);

}  // namespace cesync::util
