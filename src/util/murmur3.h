#pragma once

#include <cstdint>
#include <span>

namespace cesync::util {

/// The two 64-bit halves of a MurmurHash3 x64 128-bit hash.
struct Murmur3Hash {
  std::int64_t h1 = 0;
  std::int64_t h2 = 0;
};

/// MurmurHash3 x64/128 exactly as Cassandra's Murmur3Partitioner computes it, including its
/// quirk of sign-extending the tail bytes (so keys whose length is not a multiple of 16 hash
/// differently from the reference algorithm when a tail byte is >= 0x80).
[[nodiscard]] Murmur3Hash cassandraMurmur3(std::span<const std::uint8_t> key,
                                           std::uint64_t seed = 0);

/// The Murmur3Partitioner token of a serialized partition key: h1, with Long.MIN_VALUE mapped to
/// Long.MAX_VALUE as Cassandra does.
[[nodiscard]] std::int64_t murmur3Token(std::span<const std::uint8_t> key);

}  // namespace cesync::util
