#include "util/murmur3.h"

#include <limits>

namespace cesync::util {
namespace {

constexpr std::uint64_t kC1 = 0x87c37b91114253d5ULL;
constexpr std::uint64_t kC2 = 0x4cf5ad432745937fULL;

constexpr std::uint64_t rotl(std::uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}

constexpr std::uint64_t fmix(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

std::uint64_t loadLittleEndian64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) {
    v = (v << 8) | p[i];
  }
  return v;
}

// Cassandra reads tail bytes as Java (signed) bytes widened to long: sign extension included.
std::uint64_t signedByte(std::uint8_t b) {
  return static_cast<std::uint64_t>(static_cast<std::int64_t>(static_cast<std::int8_t>(b)));
}

}  // namespace

Murmur3Hash cassandraMurmur3(std::span<const std::uint8_t> key, std::uint64_t seed) {
  const std::size_t len = key.size();
  const std::size_t blocks = len / 16;
  std::uint64_t h1 = seed;
  std::uint64_t h2 = seed;
  const std::uint8_t* data = key.data();

  for (std::size_t i = 0; i < blocks; ++i) {
    std::uint64_t k1 = loadLittleEndian64(data + i * 16);
    std::uint64_t k2 = loadLittleEndian64(data + i * 16 + 8);
    k1 *= kC1;
    k1 = rotl(k1, 31);
    k1 *= kC2;
    h1 ^= k1;
    h1 = rotl(h1, 27);
    h1 += h2;
    h1 = h1 * 5 + 0x52dce729;
    k2 *= kC2;
    k2 = rotl(k2, 33);
    k2 *= kC1;
    h2 ^= k2;
    h2 = rotl(h2, 31);
    h2 += h1;
    h2 = h2 * 5 + 0x38495ab5;
  }

  const std::uint8_t* tail = data + blocks * 16;
  const std::size_t rest = len & 15U;
  std::uint64_t k1 = 0;
  std::uint64_t k2 = 0;
  for (std::size_t i = rest; i > 8; --i) {
    k2 ^= signedByte(tail[i - 1]) << ((i - 9) * 8);
  }
  if (rest > 8) {
    k2 *= kC2;
    k2 = rotl(k2, 33);
    k2 *= kC1;
    h2 ^= k2;
  }
  for (std::size_t i = std::min<std::size_t>(rest, 8); i > 0; --i) {
    k1 ^= signedByte(tail[i - 1]) << ((i - 1) * 8);
  }
  if (rest > 0) {
    k1 *= kC1;
    k1 = rotl(k1, 31);
    k1 *= kC2;
    h1 ^= k1;
  }

  h1 ^= len;
  h2 ^= len;
  h1 += h2;
  h2 += h1;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h1 += h2;
  h2 += h1;
  return {static_cast<std::int64_t>(h1), static_cast<std::int64_t>(h2)};
}

std::int64_t murmur3Token(std::span<const std::uint8_t> key) {
  const std::int64_t h = cassandraMurmur3(key).h1;
  return h == std::numeric_limits<std::int64_t>::min() ? std::numeric_limits<std::int64_t>::max()
                                                       : h;
}

}  // namespace cesync::util
