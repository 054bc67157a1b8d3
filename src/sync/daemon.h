#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "config/config.h"
#include "cql/session.h"
#include "es/client.h"
#include "ops/admin_server.h"
#include "state/checkpoint_store.h"
#include "sync/echo_marks.h"
#include "sync/to_cassandra/index_sync.h"
#include "sync/to_search/change_stream.h"

namespace cesync::sync {

/// `cesync run` and `cesync snapshot`: both sides connected, the state store open, and every
/// table checked and loaded: the change-log stream for tables that send changes to the search
/// side, and an IndexSync for tables that take documents back.
class Daemon {
 public:
  /// Connects, opens the state store and checks that every to_search table has the trigger
  /// and its index (else a kConfig error that names the table and says to run `cesync setup`).
  static Result<std::unique_ptr<Daemon>> open(const config::Config& config, const Clock& clock);

  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  /// Snapshots every table never snapshotted (resuming an unfinished snapshot), then streams
  /// the change log and polls the indices of tables that take documents back, until `stop`;
  /// with `once`, until everything logged before the stream started is written and every such
  /// index was read once after that. Faults are retried with backoff; with `once`, a fault that
  /// persists (or one that retrying cannot fix) ends the run with its error. Stopping saves
  /// progress and returns success.
  [[nodiscard]] Status run(const std::atomic<bool>& stop, bool once);

  /// Snapshots the named tables ("keyspace.table"; every to_search table when empty) afresh, or
  /// resumes their unfinished snapshots. The change-log position is saved first, so a daemon
  /// started afterwards streams every change made during the snapshot.
  [[nodiscard]] Status snapshot(const std::vector<std::string>& tables,
                                const std::atomic<bool>& stop);

 private:
  struct Table {
    config::TableConfig config;
    TableSchema schema;
  };

  Daemon(const config::Config& config, const Clock& clock);
  Status load();
  Status snapshotTable(const Table& table, bool afresh, const std::atomic<bool>& stop);
  // Runs `step` until it succeeds, `stop` is set or (with `once`) it fails for good.
  Status retrying(const std::string& what, const std::function<Status()>& step,
                  const std::atomic<bool>& stop, bool once);
  Status stream(const std::atomic<bool>& stop, bool once);

  // The admin endpoints (admin.listen), served from their own thread: they read what the
  // stream publishes after each cycle, and the state store.
  struct Published {
    bool streaming = false;
    std::vector<TableProgress> tables;
    std::vector<std::pair<std::string, IndexCounts>> indices;  // keyspace.table, counts
    std::optional<std::string> last_error;
    std::uint64_t failed_cycles = 0;
  };
  Status startAdmin();
  void publish(const Status& cycle);
  std::string metricsText();
  ops::Readiness readiness();

  config::Config config_;
  const Clock& clock_;
  std::unique_ptr<cql::Session> session_;
  std::unique_ptr<es::EsClient> search_;
  std::unique_ptr<state::CheckpointStore> store_;
  std::vector<Table> tables_;  // the to_search tables
  EchoMarks echoes_;
  std::unique_ptr<ChangeStream> stream_;
  struct Index {
    std::string table;  // keyspace.table
    std::unique_ptr<IndexSync> sync;
  };
  std::vector<Index> indices_;  // the to_cassandra tables
  Status pollIndices(const std::atomic<bool>& stop);
  std::mutex published_mutex_;
  Published published_;
  std::unique_ptr<ops::AdminServer> admin_;
};

}  // namespace cesync::sync
