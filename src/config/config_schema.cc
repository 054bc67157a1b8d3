#include "config/config_schema.h"

#include <type_traits>

namespace cesync::config {
namespace {

using std::chrono::milliseconds;

// follow(t, &A::b, &B::c) is t.b.c: a path of members into nested settings structs.
template <typename T>
T& follow(T& t) {
  return t;
}
template <typename T, typename M, typename... Rest>
auto& follow(T& t, M T::*member, Rest... rest) {
  return follow(t.*member, rest...);
}

// set<Target>(path...) returns the binder that stores a parsed value at that path, so the table
// below reads as data.
template <typename Target, typename... Path>
auto set(Path... path) {
  return [=](Target& t, const FieldValue& v) {
    auto& field = follow(t, path...);
    using F = std::remove_reference_t<decltype(field)>;
    if constexpr (std::is_same_v<F, std::uint32_t>) {
      field = static_cast<std::uint32_t>(std::get<std::uint64_t>(v));
    } else {
      field = std::get<F>(v);
    }
  };
}

std::vector<Field<Config>> makeConfigSchema() {
  const std::vector<std::string_view> kConsistencies = {
      "ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE"};
  using C = Config;
  using Cs = CassandraConfig;
  using S = SearchConfig;
  using T = TlsConfig;
  // One entry per setting reads best as a table.
  // clang-format off
  std::vector<Field<Config>> f = {
      {"cassandra.contact_points", FieldType::kStringList, R"(["127.0.0.1:9042"])",
       "Cassandra nodes to connect to first (host:port); the rest of the ring is discovered.",
       {}, {}, false,
       set<C>(&C::cassandra, &Cs::contact_points)},
      {"cassandra.username", FieldType::kString, R"("")",
       "User for PasswordAuthenticator; empty = no authentication.",
       {}, "CESYNC_CASSANDRA_USERNAME", false,
       set<C>(&C::cassandra, &Cs::username)},
      {"cassandra.password", FieldType::kString, R"("")",
       "Password for `cassandra.username`.",
       {}, "CESYNC_CASSANDRA_PASSWORD", true,
       set<C>(&C::cassandra, &Cs::password)},
      {"cassandra.consistency", FieldType::kEnum, "LOCAL_QUORUM",
       "Consistency of the daemon's reads and writes.",
       kConsistencies, {}, false,
       set<C>(&C::cassandra, &Cs::consistency)},
      {"cassandra.local_dc", FieldType::kString, R"("")",
       "Datacenter to prefer for requests; empty = the contact point's.",
       {}, {}, false,
       set<C>(&C::cassandra, &Cs::local_dc)},
      {"cassandra.request_timeout", FieldType::kDuration, "12s",
       "Time allowed for one request before it is retried.",
       {}, {}, false,
       set<C>(&C::cassandra, &Cs::request_timeout)},
      {"cassandra.max_in_flight", FieldType::kCount, "256",
       "Most requests in flight at once across all connections.",
       {}, {}, false,
       set<C>(&C::cassandra, &Cs::max_in_flight)},
      {"cassandra.tls.enabled", FieldType::kBool, "false",
       "Connect to Cassandra over TLS.",
       {}, {}, false,
       set<C>(&C::cassandra, &Cs::tls, &T::enabled)},
      {"cassandra.tls.ca_file", FieldType::kString, R"("")",
       "PEM file of the CA that signed the nodes' certificates; empty = the system store.",
       {}, {}, false,
       set<C>(&C::cassandra, &Cs::tls, &T::ca_file)},
      {"cassandra.tls.cert_file", FieldType::kString, R"("")",
       "PEM client certificate, when the nodes require one.",
       {}, {}, false,
       set<C>(&C::cassandra, &Cs::tls, &T::cert_file)},
      {"cassandra.tls.key_file", FieldType::kString, R"("")",
       "PEM key of `cert_file`.",
       {}, {}, false,
       set<C>(&C::cassandra, &Cs::tls, &T::key_file)},
      {"cassandra.tls.verify", FieldType::kBool, "true",
       "Check the nodes' certificates and host names. Turn off only for tests.",
       {}, {}, false,
       set<C>(&C::cassandra, &Cs::tls, &T::verify)},
      {"cassandra.tls.server_name", FieldType::kString, R"("")",
       "Name to check certificates against; empty = the address connected to.",
       {}, {}, false,
       set<C>(&C::cassandra, &Cs::tls, &T::server_name)},
      {"search.urls", FieldType::kStringList, R"(["http://127.0.0.1:9200"])",
       "Elasticsearch or OpenSearch endpoints (http:// or https://).",
       {}, {}, false,
       set<C>(&C::search, &S::urls)},
      {"search.username", FieldType::kString, R"("")",
       "User for basic authentication.",
       {}, "CESYNC_SEARCH_USERNAME", false,
       set<C>(&C::search, &S::username)},
      {"search.password", FieldType::kString, R"("")",
       "Password for `search.username`.",
       {}, "CESYNC_SEARCH_PASSWORD", true,
       set<C>(&C::search, &S::password)},
      {"search.api_key", FieldType::kString, R"("")",
       "API key (the base64 `id:key` form); used instead of basic authentication when set.",
       {}, "CESYNC_SEARCH_API_KEY", true,
       set<C>(&C::search, &S::api_key)},
      {"search.request_timeout", FieldType::kDuration, "30s",
       "Time allowed for one HTTP request before it is retried.",
       {}, {}, false,
       set<C>(&C::search, &S::request_timeout)},
      {"search.bulk_max_bytes", FieldType::kBytes, "5MiB",
       "Largest `_bulk` request body, before compression.",
       {}, {}, false,
       set<C>(&C::search, &S::bulk_max_bytes)},
      {"search.bulk_max_in_flight", FieldType::kCount, "4",
       "Most `_bulk` requests in flight.",
       {}, {}, false,
       set<C>(&C::search, &S::bulk_max_in_flight)},
      {"search.gzip", FieldType::kBool, "false",
       "Compress request bodies with gzip.",
       {}, {}, false,
       set<C>(&C::search, &S::gzip)},
      {"search.tls.enabled", FieldType::kBool, "false",
       "Use TLS settings below (https:// URLs always use TLS).",
       {}, {}, false,
       set<C>(&C::search, &S::tls, &T::enabled)},
      {"search.tls.ca_file", FieldType::kString, R"("")",
       "PEM file of the CA that signed the server certificate; empty = the system store.",
       {}, {}, false,
       set<C>(&C::search, &S::tls, &T::ca_file)},
      {"search.tls.cert_file", FieldType::kString, R"("")",
       "PEM client certificate.",
       {}, {}, false,
       set<C>(&C::search, &S::tls, &T::cert_file)},
      {"search.tls.key_file", FieldType::kString, R"("")",
       "PEM key of `cert_file`.",
       {}, {}, false,
       set<C>(&C::search, &S::tls, &T::key_file)},
      {"search.tls.verify", FieldType::kBool, "true",
       "Check the server certificate and host name. Turn off only for tests.",
       {}, {}, false,
       set<C>(&C::search, &S::tls, &T::verify)},
      {"search.tls.server_name", FieldType::kString, R"("")",
       "Name to check the certificate against; empty = the URL's host.",
       {}, {}, false,
       set<C>(&C::search, &S::tls, &T::server_name)},
      {"changelog.keyspace", FieldType::kString, "cesync",
       "Keyspace of the trigger's change-log table.",
       {}, {}, false,
       set<C>(&C::changelog, &ChangelogConfig::keyspace)},
      {"changelog.table", FieldType::kString, "changelog",
       "Name of the change-log table.",
       {}, {}, false,
       set<C>(&C::changelog, &ChangelogConfig::table)},
      {"changelog.replication", FieldType::kString,
       R"("{'class': 'NetworkTopologyStrategy', 'replication_factor': 3}")",
       "Replication of the change-log keyspace when `cesync setup` creates it (a CQL map).",
       {}, {}, false,
       set<C>(&C::changelog, &ChangelogConfig::replication)},
      {"changelog.ttl", FieldType::kDuration, "7d",
       "Lifetime of log entries when `cesync setup` creates the table; equal to the trigger's "
       "cesync.changelog.ttl_seconds. A daemon stopped for longer loses changes: run verify.",
       {}, {}, false,
       set<C>(&C::changelog, &ChangelogConfig::ttl)},
      {"changelog.shards", FieldType::kCount, "8",
       "Log partitions per bucket; at least the trigger's cesync.changelog.shards.",
       {}, {}, false,
       set<C>(&C::changelog, &ChangelogConfig::shards)},
      {"changelog.bucket_width", FieldType::kDuration, "60s",
       "Time width of a log partition; equal to the trigger's cesync.changelog.bucket_seconds.",
       {}, {}, false,
       set<C>(&C::changelog, &ChangelogConfig::bucket_width)},
      {"changelog.confidence_window", FieldType::kDuration, "10s",
       "The longest a log entry may take to appear after its time (clock skew, slow batches); "
       "the checkpoint trails by this much.",
       {}, {}, false,
       set<C>(&C::changelog, &ChangelogConfig::confidence_window)},
      {"changelog.sweep_interval", FieldType::kDuration, "2s",
       "How often the confidence window is read again for late entries.",
       {}, {}, false,
       set<C>(&C::changelog, &ChangelogConfig::sweep_interval)},
      {"changelog.settle_time", FieldType::kDuration, "1s",
       "How much of the recent past every poll reads again (entries of writes still being "
       "applied).",
       {}, {}, false,
       set<C>(&C::changelog, &ChangelogConfig::settle_time)},
      {"changelog.poll_interval", FieldType::kDuration, "250ms",
       "Pause between polls of the change log when it has nothing new.",
       {}, {}, false,
       set<C>(&C::changelog, &ChangelogConfig::poll_interval)},
      {"snapshot.parallelism", FieldType::kCount, "4",
       "Token ranges of a table copied at once by a snapshot (each with its own search "
       "connection).",
       {}, {}, false,
       set<C>(&C::snapshot, &SnapshotConfig::parallelism)},
      {"snapshot.ranges", FieldType::kCount, "64",
       "Token ranges a snapshot splits the ring into; progress is saved per range.",
       {}, {}, false,
       set<C>(&C::snapshot, &SnapshotConfig::ranges)},
      {"snapshot.page_size", FieldType::kCount, "1000",
       "Rows read per page by a snapshot.",
       {}, {}, false,
       set<C>(&C::snapshot, &SnapshotConfig::page_size)},
      {"sync.fetch_in_flight", FieldType::kCount, "64",
       "Row re-reads in flight at once per table while streaming.",
       {}, {}, false,
       set<C>(&C::sync, &SyncConfig::fetch_in_flight)},
      {"sync.fetch_keys_per_read", FieldType::kCount, "20",
       "Keys one row re-read lists (WHERE key IN ...), in tables keyed by one partition column "
       "alone; 1 reads a row a request.",
       {}, {}, false,
       set<C>(&C::sync, &SyncConfig::fetch_keys_per_read)},
      {"sync.settle", FieldType::kDuration, "30s",
       "How long a row that does not show its change (write or delete) yet is read again: a "
       "change-log entry can be readable before its change, by as much as Cassandra's batchlog "
       "replay (tens of seconds on a ring).",
       {}, {}, false,
       set<C>(&C::sync, &SyncConfig::settle)},
      {"sync.checkpoint_interval", FieldType::kDuration, "1s",
       "Least time between two checkpoint commits while streaming (a crash repeats at most "
       "this much, harmlessly).",
       {}, {}, false,
       set<C>(&C::sync, &SyncConfig::checkpoint_interval)},
      {"sync.max_lag", FieldType::kDuration, "60s",
       "Readiness bound: /readyz fails while a table's lag (or, for tables that take documents "
       "back, the time since its index was last read) is longer. A table's max_lag overrides it.",
       {}, {}, false,
       set<C>(&C::sync, &SyncConfig::max_lag)},
      {"sync.shutdown_timeout", FieldType::kDuration, "30s",
       "After SIGTERM or SIGINT, how long the daemon may take to finish its in-flight writes and "
       "save its checkpoint before it exits anyway (the checkpoint saved last still holds).",
       {}, {}, false,
       set<C>(&C::sync, &SyncConfig::shutdown_timeout)},
      {"sync.canary_interval", FieldType::kDuration, "10s",
       "How often the canary row of a table with canary_key is written.",
       {}, {}, false,
       set<C>(&C::sync, &SyncConfig::canary_interval)},
      {"to_cassandra.poll_interval", FieldType::kDuration, "1s",
       "Pause between two reads of an index for documents edited on the search side.",
       {}, {}, false,
       set<C>(&C::to_cassandra, &ToCassandraConfig::poll_interval)},
      {"to_cassandra.overlap", FieldType::kDuration, "30s",
       "How far behind its checkpoint each read of an index starts again: documents can become "
       "visible after newer ones (refresh interval, writes in flight, writers' clock skew).",
       {}, {}, false,
       set<C>(&C::to_cassandra, &ToCassandraConfig::overlap)},
      {"to_cassandra.page_size", FieldType::kCount, "500",
       "Documents read per page from an index.",
       {}, {}, false,
       set<C>(&C::to_cassandra, &ToCassandraConfig::page_size)},
      {"state.path", FieldType::kString, "cesync-state.db",
       "SQLite file holding checkpoints and dead letters.",
       {}, {}, false,
       set<C>(&C::state, &StateConfig::path)},
      {"admin.listen", FieldType::kString, "127.0.0.1:9780",
       "Address of the admin HTTP server (/metrics, /healthz, /readyz, /status); empty = off.",
       {}, {}, false,
       set<C>(&C::admin, &AdminConfig::listen)},
      {"log.format", FieldType::kEnum, "text",
       "Log line format.",
       {"text", "json"}, {}, false,
       set<C>(&C::log, &LogConfig::format)},
      {"log.level", FieldType::kEnum, "info",
       "Least severe level logged.",
       {"trace", "debug", "info", "warn", "error"}, "CESYNC_LOG_LEVEL", false,
       set<C>(&C::log, &LogConfig::level)},
  };
  // clang-format on
  return f;
}

std::vector<Field<TableConfig>> makeTableSchema() {
  using T = TableConfig;
  std::vector<Field<TableConfig>> f = {
      {"table",
       FieldType::kString,
       R"("")",
       "The Cassandra table, as keyspace.table (required).",
       {},
       {},
       false,
       [](T& t, const FieldValue& v) {
         const auto& name = std::get<std::string>(v);
         const auto dot = name.find('.');
         t.keyspace = dot == std::string::npos ? std::string() : name.substr(0, dot);
         t.table = dot == std::string::npos ? name : name.substr(dot + 1);
       }},
      {"index",
       FieldType::kString,
       R"("")",
       "The index; empty = <keyspace>_<table>.",
       {},
       {},
       false,
       set<T>(&T::index)},
      {"direction",
       FieldType::kEnum,
       "to_search",
       "Which way changes flow: to_search, to_cassandra or both.",
       {"to_search", "to_cassandra", "both"},
       {},
       false,
       [](T& t, const FieldValue& v) {
         const auto& d = std::get<std::string>(v);
         t.direction = d == "both"           ? Direction::kBoth
                       : d == "to_cassandra" ? Direction::kToCassandra
                                             : Direction::kToSearch;
       }},
      {"timestamp_column",
       FieldType::kString,
       R"("")",
       "A timestamp column (in the table and the documents) that orders search-side edits; "
       "required for to_cassandra and both.",
       {},
       {},
       false,
       set<T>(&T::timestamp_column)},
      {"soft_delete_field",
       FieldType::kString,
       "cesync_deleted",
       "Document field that marks a search-side delete (to_cassandra and both).",
       {},
       {},
       false,
       set<T>(&T::soft_delete_field)},
      {"max_lag",
       FieldType::kDuration,
       "0s",
       "This table's readiness bound; 0s = sync.max_lag.",
       {},
       {},
       false,
       set<T>(&T::max_lag)},
      {"canary_key",
       FieldType::kStringList,
       "[]",
       "Primary key of a canary row, one value per key column in order (text form, e.g. "
       "[\"cesync-canary\"] or [\"-1\", \"0\"]); empty = no canary. Every "
       "sync.canary_interval cesync writes that row (its key columns only, and the timestamp "
       "column of a both table) and times how long its document takes to show the write: "
       "cesync_canary_latency_seconds. Choose a key your application ignores.",
       {},
       {},
       false,
       set<T>(&T::canary_key)},
  };
  return f;
}

}  // namespace

std::span<const Field<Config>> configSchema() {
  static const std::vector<Field<Config>> schema = makeConfigSchema();
  return schema;
}

std::span<const Field<TableConfig>> tableSchema() {
  static const std::vector<Field<TableConfig>> schema = makeTableSchema();
  return schema;
}

std::string_view fieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kString:
      return "text";
    case FieldType::kStringList:
      return "list of text";
    case FieldType::kBool:
      return "true or false";
    case FieldType::kCount:
      return "whole number";
    case FieldType::kDuration:
      return "duration (500ms, 10s, 5m, 2h, 7d)";
    case FieldType::kBytes:
      return "size (1048576, 512KiB, 5MiB, 1GiB)";
    case FieldType::kEnum:
      return "one of";
  }
  return "value";
}

const char* directionName(Direction d) {
  switch (d) {
    case Direction::kToSearch:
      return "to_search";
    case Direction::kToCassandra:
      return "to_cassandra";
    case Direction::kBoth:
      return "both";
  }
  return "to_search";
}

}  // namespace cesync::config
