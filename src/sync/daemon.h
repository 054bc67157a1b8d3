#pragma once

#include <atomic>
#include <functional>
#include <map>
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
#include "ops/events.h"
#include "ops/rate_window.h"
#include "state/checkpoint_store.h"
#include "sync/canary.h"
#include "sync/echo_marks.h"
#include "sync/retention_watch.h"
#include "sync/side_probe.h"
#include "sync/to_cassandra/index_sync.h"
#include "sync/to_search/change_stream.h"

namespace cesync::sync {

/// `cesync run` and `cesync snapshot`: both sides connected, the state store open, and every
/// table checked and loaded: the change-log stream for tables that send changes to the search
/// side, and an IndexSync for tables that take documents back. Everything it does is logged and
/// counted through one ops::Events; the admin endpoints read it from their own thread.
class Daemon {
 public:
  /// Reads the configuration file again (SIGHUP).
  using ConfigSource = std::function<Result<config::Config>()>;

  /// Connects, opens the state store and checks that every table has its index (and the
  /// trigger, for tables that send changes), else a kConfig error that names the table and
  /// says to run `cesync setup`. `reread` serves reloads; without it SIGHUP changes nothing.
  static Result<std::unique_ptr<Daemon>> open(const config::Config& config, const Clock& clock,
                                              ConfigSource reread = {});

  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  /// Snapshots every table never snapshotted (resuming an unfinished snapshot), then streams
  /// the change log and polls the indices of tables that take documents back, until `stop`;
  /// with `once`, until everything logged before the stream started is written and every such
  /// index was read once after that. Faults are retried with backoff; with `once`, a fault that
  /// persists (or one that retrying cannot fix) ends the run with its error. Stopping saves
  /// progress and returns success. When `reload` is set (SIGHUP), the table list is read again
  /// (ConfigSource) and the pipelines restart with it; a list that does not check out is
  /// refused with a log line and the daemon goes on with the tables it had.
  [[nodiscard]] Status run(const std::atomic<bool>& stop, bool once,
                           std::atomic<bool>* reload = nullptr);

  /// Snapshots the named tables ("keyspace.table"; every to_search table when empty) afresh, or
  /// resumes their unfinished snapshots. The change-log position is saved first, so a daemon
  /// started afterwards streams every change made during the snapshot.
  [[nodiscard]] Status snapshot(const std::vector<std::string>& tables,
                                const std::atomic<bool>& stop);

  /// The daemon's events (for the CLI's own lines and for tests).
  [[nodiscard]] ops::Events& events() { return events_; }

 private:
  struct Table {
    config::TableConfig config;
    TableSchema schema;
  };
  struct Index {
    std::string table;  // keyspace.table
    std::unique_ptr<IndexSync> sync;
  };
  // What the configured tables run on; rebuilt whole by a reload.
  struct Pipelines {
    std::vector<config::TableConfig> configs;
    std::vector<Table> tables;   // the tables that send changes (to_search, both)
    std::vector<Index> indices;  // the tables that take documents back
    std::vector<std::unique_ptr<Canary>> canaries;
    std::unique_ptr<ChangeStream> stream;
  };

  Daemon(const config::Config& config, const Clock& clock, ConfigSource reread);
  Status connect();
  Result<Pipelines> build(const std::vector<config::TableConfig>& tables);
  void reloadTables();
  Status snapshotTable(const Table& table, bool afresh, const std::atomic<bool>& stop);
  // Runs `step` until it succeeds, `stop` is set or (with `once`) it fails for good; each
  // failure is logged and counted as `failed` (labelled with `table` if the event has labels).
  Status retrying(ops::Event failed, const std::string& table, const std::string& what,
                  const std::function<Status()>& step, const std::atomic<bool>& stop, bool once);
  // Streams until stop, the end of a --once run, or a reload request (checkpoint saved).
  Status stream(const std::atomic<bool>& stop, bool once, std::atomic<bool>* reload);
  // Reads every index back once; on a failure, `failed` names the table.
  Status pollIndices(const std::atomic<bool>& stop, std::string& failed);
  void tickCanaries();
  // Bulk retries of the search clients `options` makes: a stop gives up what is not sent yet
  // (it stays unacknowledged), so the stop drains quickly; a side coming back ends their
  // backoff, so catching up starts at once.
  void bulkInterrupts(es::ClientOptions& options) const;

  // The admin endpoints (admin.listen), served from their own thread: they read what the
  // pipelines publish after each cycle and poll, the probe, and the state store.
  struct Published {
    bool streaming = false;
    std::vector<TableProgress> tables;
    std::map<std::string, IndexCounts> indices;             // keyspace.table -> counts
    std::map<std::string, std::int64_t> index_read_micros;  // last complete read of the index
    std::map<std::string, std::chrono::milliseconds> max_lag;
    std::map<std::string, std::uint64_t> dead_letters;  // scope -> count (both directions)
    std::map<std::string, ops::RateWindow> rates;       // "table/what" -> rate
    std::map<std::string, double> canary_latency;       // keyspace.table -> seconds
    std::vector<config::TableConfig> configs;           // the tables running now
    std::optional<std::string> last_error;
  };
  Status startAdmin();
  void publish(const Status& cycle);
  // Sets the retention gauge for the change-log position `checkpoint` (µs) and warns when it
  // trails now by half of changelog.ttl, or all of it. Stream thread only.
  void watchRetention(std::int64_t checkpoint);
  // The running tables and their readiness bounds, as the admin thread reads them (set when
  // the pipelines are built, not every cycle). Call with published_mutex_ held, or before the
  // admin server starts.
  void publishTables();
  void countDeadLetters(const std::string& table, const std::string& scope, ops::Event event);
  std::string metricsText();
  ops::Readiness readiness();
  ops::Readiness readinessLocked(std::int64_t now);
  std::string statusJson();

  config::Config config_;
  const Clock& clock_;
  ConfigSource reread_;
  const std::atomic<bool>* stop_ = nullptr;
  ops::Events events_;
  RetentionWatch retention_;
  std::int64_t started_micros_ = 0;
  std::unique_ptr<cql::Session> session_;
  std::unique_ptr<es::EsClient> search_;
  // The stream's writes go out from a thread of their own with this client (counted with
  // search_), while the stream reads the next rows with search_ and the session.
  std::unique_ptr<es::EsClient> stream_writer_;
  std::unique_ptr<state::CheckpointStore> store_;
  EchoMarks echoes_;
  Pipelines pipes_;
  std::unique_ptr<SideProbe> probe_;
  std::mutex published_mutex_;
  Published published_;
  std::unique_ptr<ops::AdminServer> admin_;
};

}  // namespace cesync::sync
