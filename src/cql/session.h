#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "cql/connection_config.h"
#include "cql/message/request.h"
#include "cql/message/result.h"
#include "cql/protocol.h"
#include "cql/rows.h"
#include "cql/types/value.h"

namespace cesync::cql {

/// Everything a Session needs to reach a cluster.
struct SessionConfig {
  /// "host" or "host:port" of nodes to start from; the rest are discovered.
  std::vector<std::string> contact_points{"127.0.0.1"};
  std::uint16_t port = 9042;
  ProtocolVersion max_protocol_version = ProtocolVersion::kV5;
  bool compression = false;
  std::string username;
  std::string password;
  TlsConfig tls;
  /// Keyspace every connection USEs (empty: none; qualify table names).
  std::string keyspace;
  std::size_t connections_per_host = 2;
  Consistency consistency = Consistency::kLocalQuorum;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{12000};
  std::chrono::milliseconds heartbeat_interval{30000};
  /// Retries after the first attempt (re-prepares do not count against idempotency).
  int max_retries = 3;
  /// Route statements with a known partition key to a node that owns it.
  bool token_aware = true;
  /// Datacenter whose nodes serve requests; others are used only when none of these answers.
  /// Empty: the datacenter of the first contact point that accepts.
  std::string local_datacenter;
  /// Find the other nodes through system.peers_v2 (off: use the contact points only).
  bool discover_peers = true;
  /// Longest wait between connection attempts to a node that is down (full-jitter backoff from
  /// 200 ms). Short, so that a node started again after an outage serves requests within
  /// seconds; an attempt at a node that is down costs one refused connection.
  std::chrono::milliseconds reconnect_max_delay{2000};
};

/// A statement prepared on the cluster. Shared by every execution; the session swaps its id in
/// place when a node has forgotten it (UNPREPARED) or its result metadata changed.
class PreparedStatement {
 public:
  [[nodiscard]] const std::string& query() const { return query_; }
  /// Bound columns: names and types of the ? markers, in order.
  [[nodiscard]] const std::vector<ColumnSpec>& variables() const { return *bind_columns_; }
  /// Result columns (empty for statements that return no rows).
  [[nodiscard]] const Columns& resultColumns() const { return result_columns_; }
  /// Indexes of the partition key among the bound values (for routing).
  [[nodiscard]] const std::vector<std::uint16_t>& partitionKeyIndexes() const {
    return pk_indexes_;
  }

 private:
  friend class Session;
  friend class SessionImpl;
  std::string query_;
  std::string keyspace_;
  Columns bind_columns_;
  std::vector<CqlTypePtr> bind_types_;
  Columns result_columns_;
  std::vector<std::uint16_t> pk_indexes_;
  mutable std::mutex mu_;
  Bytes id_;
  Bytes result_metadata_id_;
};
using PreparedPtr = std::shared_ptr<PreparedStatement>;

/// A statement to run: a CQL string or a prepared statement, with bound values and options.
struct Statement {
  std::string query;
  PreparedPtr prepared;
  std::vector<Value> values;
  std::optional<Consistency> consistency;
  std::optional<Consistency> serial_consistency;
  /// Rows per page (0: no paging, all rows at once).
  std::int32_t page_size = 5000;
  std::optional<Bytes> paging_state;
  /// Write timestamp in microseconds for every mutation of the statement (USING TIMESTAMP).
  std::optional<std::int64_t> timestamp;
  /// May run twice without harm (reads, and writes with a client timestamp): lets the session
  /// retry it after a timeout or a lost connection.
  bool idempotent = false;
  std::chrono::milliseconds timeout{0};
  /// The token of the partition(s) the statement reads, for routing where the bound values do
  /// not name a partition key (an `IN ?` list): the request goes to the node that owns it first.
  std::optional<std::int64_t> routing_token;

  static Statement of(std::string cql, std::vector<Value> values = {}) {
    Statement s;
    s.query = std::move(cql);
    s.values = std::move(values);
    return s;
  }
  static Statement of(PreparedPtr p, std::vector<Value> values = {}) {
    Statement s;
    s.prepared = std::move(p);
    s.values = std::move(values);
    return s;
  }
};

/// A BATCH of statements applied together.
struct Batch {
  BatchType type = BatchType::kLogged;
  std::vector<Statement> statements;
  std::optional<Consistency> consistency;
  std::optional<Consistency> serial_consistency;
  std::optional<std::int64_t> timestamp;
  bool idempotent = false;
};

/// The outcome of a statement: a page of rows (possibly empty) and where the next one starts.
struct ResultSet {
  Rows rows;
  std::optional<Bytes> paging_state;
  std::optional<SchemaChange> schema_change;
  std::vector<std::string> warnings;
  [[nodiscard]] bool hasMorePages() const { return paging_state.has_value(); }
};

/// A node the session knows.
struct HostInfo {
  std::string address;
  std::uint16_t port = 9042;
  std::string datacenter;
  std::string rack;
  std::vector<std::string> tokens;
  bool up = true;
};

/// Counters since the session started (for metrics).
struct SessionStats {
  std::uint64_t requests = 0;
  std::uint64_t retries = 0;
  std::uint64_t reprepares = 0;
  std::uint64_t timeouts = 0;
  /// Heartbeats sent by the connections open now.
  std::uint64_t heartbeats = 0;
  std::size_t open_connections = 0;
};

class SessionImpl;
class Pager;

/// The client facade: connect, prepare, execute (synchronously or with a callback), page, batch.
/// Owns one I/O thread, a connection pool per node, the token map and the prepared cache.
///
/// Thread safety: every method may be called from any thread except the callbacks of
/// executeAsync (they run on the I/O thread: they must not block or call the synchronous
/// methods).
class Session {
 public:
  /// Connects to the contact points, negotiates (v5, else v4), discovers the nodes and fills the
  /// pools. Fails if no contact point accepts.
  [[nodiscard]] static Result<std::unique_ptr<Session>> connect(SessionConfig config);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Prepares `query` (cached: preparing the same text twice returns the same statement).
  [[nodiscard]] Result<PreparedPtr> prepare(const std::string& query);
  /// Runs a statement and waits for its (first) page.
  [[nodiscard]] Result<ResultSet> execute(const Statement& statement);
  /// Runs a CQL string with positional values.
  [[nodiscard]] Result<ResultSet> execute(const std::string& query, std::vector<Value> values = {});
  /// Runs a statement; `done` is called on the I/O thread.
  void executeAsync(Statement statement, std::function<void(Result<ResultSet>)> done);
  [[nodiscard]] Result<ResultSet> execute(const Batch& batch);
  /// Pages through every row of a statement.
  [[nodiscard]] Pager pages(Statement statement);
  /// Waits until every reachable node reports the same schema version (after DDL).
  [[nodiscard]] Status waitForSchemaAgreement(std::chrono::milliseconds timeout);
  /// Subscribes to server events (topology, status and schema changes); `handler` runs on the
  /// I/O thread.
  void onEvent(std::function<void(const Event&)> handler);

  [[nodiscard]] ProtocolVersion protocolVersion() const;
  [[nodiscard]] std::vector<HostInfo> hosts() const;
  /// Which node owns `token` (the first of its replicas), as a number that is the same for every
  /// token of one node; nullopt when requests are not routed by token (another partitioner,
  /// `token_aware` off, or no ring known yet).
  [[nodiscard]] std::optional<std::size_t> ownerOf(std::int64_t token) const;
  /// Connections currently open (all nodes).
  [[nodiscard]] std::size_t openConnections() const;
  [[nodiscard]] SessionStats stats() const;

  /// Closes every connection and stops the I/O thread; waits for it. Pending requests fail
  /// with kCancelled. Idempotent; the destructor calls it.
  void stop();

 private:
  explicit Session(std::shared_ptr<SessionImpl> impl);
  std::shared_ptr<SessionImpl> impl_;
};

/// Iterates the pages of one statement: each next() fetches the following page.
class Pager {
 public:
  Pager(Session& session, Statement statement)
      : session_(&session), statement_(std::move(statement)) {}
  /// The next page, or nullopt after the last one.
  [[nodiscard]] Result<std::optional<ResultSet>> next();

 private:
  Session* session_;
  Statement statement_;
  bool done_ = false;
};

}  // namespace cesync::cql
