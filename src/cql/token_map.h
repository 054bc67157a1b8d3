#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cql/wire/bytes.h"

namespace cesync::cql {

/// The Murmur3 token ring: which node owns which token. Pure data; rebuilt on topology change.
class TokenMap {
 public:
  /// Adds the tokens (decimal text, as system.local/peers store them) a node owns.
  void addHost(std::size_t host, const std::vector<std::string>& tokens);
  /// Sorts the ring; call after the last addHost.
  void build();

  [[nodiscard]] bool empty() const { return ring_.empty(); }
  /// The node owning `token`: the first ring token >= it, wrapping around.
  [[nodiscard]] std::optional<std::size_t> ownerOf(std::int64_t token) const;

  /// The serialized routing key of a partition key: the single component as is, or for a
  /// composite key each component as [short length][bytes][0x00].
  static Bytes routingKey(const std::vector<Bytes>& components);

 private:
  std::vector<std::pair<std::int64_t, std::size_t>> ring_;
};

}  // namespace cesync::cql
