#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cesync::changelog {

/// Where and how the change-log table is made (the placeholders of schema/changelog.cql).
struct ChangelogSchema {
  std::string keyspace = "cesync";
  std::string table = "changelog";
  /// The keyspace's replication map in CQL, e.g. {'class': 'SimpleStrategy',
  /// 'replication_factor': 1}.
  std::string replication = "{'class': 'NetworkTopologyStrategy', 'replication_factor': 3}";
  std::int64_t ttl_seconds = 604800;  // 7 days
  /// TimeWindowCompactionStrategy window: about 28 windows per TTL.
  std::int64_t window_hours = 6;
};

/// The statements that create the change-log keyspace and table (idempotent: IF NOT EXISTS),
/// with comments removed and placeholders filled in.
std::vector<std::string> changelogDdl(const ChangelogSchema& schema);

}  // namespace cesync::changelog
