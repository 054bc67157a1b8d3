#include "cql/token_map.h"

#include <algorithm>
#include <charconv>

namespace cesync::cql {

void TokenMap::addHost(std::size_t host, const std::vector<std::string>& tokens) {
  for (const auto& t : tokens) {
    std::int64_t v = 0;
    const auto res = std::from_chars(t.data(), t.data() + t.size(), v);
    if (res.ec == std::errc{}) {
      ring_.emplace_back(v, host);
    }
  }
}

void TokenMap::build() {
  std::sort(ring_.begin(), ring_.end());
}

std::optional<std::size_t> TokenMap::ownerOf(std::int64_t token) const {
  if (ring_.empty()) {
    return std::nullopt;
  }
  auto it = std::lower_bound(ring_.begin(), ring_.end(), std::make_pair(token, std::size_t{0}));
  if (it == ring_.end()) {
    it = ring_.begin();
  }
  return it->second;
}

Bytes TokenMap::routingKey(const std::vector<Bytes>& components) {
  if (components.size() == 1) {
    return components[0];
  }
  Bytes out;
  for (const auto& c : components) {
    out.push_back(static_cast<std::uint8_t>(c.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(c.size()));
    out.insert(out.end(), c.begin(), c.end());
    out.push_back(0);
  }
  return out;
}

}  // namespace cesync::cql
