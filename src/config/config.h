#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace cesync::config {

/// TLS settings shared by both sides. Verification is on unless turned off explicitly.
struct TlsConfig {
  bool enabled = false;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  bool verify = true;
  /// Name to check the server certificate against; empty = the host being connected to.
  std::string server_name;
};

struct CassandraConfig {
  std::vector<std::string> contact_points;
  std::string username;
  std::string password;
  TlsConfig tls;
  std::string consistency;
  std::string local_dc;
  std::chrono::milliseconds request_timeout{};
  std::uint32_t max_in_flight = 0;
};

struct SearchConfig {
  std::vector<std::string> urls;
  std::string username;
  std::string password;
  std::string api_key;
  TlsConfig tls;
  std::chrono::milliseconds request_timeout{};
  std::uint64_t bulk_max_bytes = 0;
  std::uint32_t bulk_max_in_flight = 0;
  bool gzip = false;
};

struct ChangelogConfig {
  std::string keyspace;
  std::string table;
  std::string replication;
  std::chrono::milliseconds ttl{};
  std::uint32_t shards = 0;
  std::chrono::milliseconds bucket_width{};
  std::chrono::milliseconds confidence_window{};
  std::chrono::milliseconds sweep_interval{};
  std::chrono::milliseconds settle_time{};
  std::chrono::milliseconds poll_interval{};
};

struct SnapshotConfig {
  std::uint32_t parallelism = 0;
  std::uint32_t ranges = 0;
  std::uint32_t page_size = 0;
};

struct SyncConfig {
  std::uint32_t fetch_in_flight = 0;
  std::uint32_t fetch_keys_per_read = 0;
  std::chrono::milliseconds settle{};
  std::chrono::milliseconds checkpoint_interval{};
  std::chrono::milliseconds max_lag{};
  std::chrono::milliseconds shutdown_timeout{};
  std::chrono::milliseconds canary_interval{};
};

struct ToCassandraConfig {
  std::chrono::milliseconds poll_interval{};
  std::chrono::milliseconds overlap{};
  std::uint32_t page_size = 0;
};

struct StateConfig {
  std::string path;
};

struct AdminConfig {
  std::string listen;
};

struct LogConfig {
  std::string format;
  std::string level;
};

enum class Direction { kToSearch, kToCassandra, kBoth };

struct TableConfig {
  std::string keyspace;
  std::string table;
  std::string index;
  Direction direction = Direction::kToSearch;
  std::string timestamp_column;
  std::string soft_delete_field;
  /// Readiness bound of this table; zero = sync.max_lag.
  std::chrono::milliseconds max_lag{};
  /// Primary key of the canary row (text form, one value per key column); empty = none.
  std::vector<std::string> canary_key;
  /// Line of the entry in the config file, for messages that point at it.
  int line = 0;

  /// "keyspace.table"
  [[nodiscard]] std::string qualifiedName() const { return keyspace + "." + table; }
};

/// Everything the daemon is told by its configuration file, validated. Defaults live in the
/// schema table (config_schema.cc), not here, so that parsing, `config print-defaults` and the
/// documentation cannot disagree.
struct Config {
  CassandraConfig cassandra;
  SearchConfig search;
  ChangelogConfig changelog;
  SnapshotConfig snapshot;
  SyncConfig sync;
  ToCassandraConfig to_cassandra;
  StateConfig state;
  AdminConfig admin;
  LogConfig log;
  std::vector<TableConfig> tables;
};

/// Text form of a direction, as written in the config file.
const char* directionName(Direction d);

}  // namespace cesync::config
