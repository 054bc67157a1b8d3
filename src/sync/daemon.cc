#include "sync/daemon.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <thread>

#include "common/backoff.h"
#include "state/sqlite_checkpoint_store.h"
#include "sync/endpoints.h"
#include "sync/setup.h"
#include "sync/status_report.h"
#include "sync/to_search/doc_builder.h"
#include "sync/to_search/snapshot.h"
#include "util/json_writer.h"
#include "util/progress_display.h"

namespace cesync::sync {
namespace {

using ops::Event;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

// Sleeps for `d`, waking early when `stop` is set or `wake` (if any) returns true.
void sleepUnless(const std::atomic<bool>& stop, milliseconds d,
                 const std::function<bool()>& wake = {}) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (!stop.load() && std::chrono::steady_clock::now() < until && !(wake && wake())) {
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        milliseconds(50), until - std::chrono::steady_clock::now()));
  }
}

double secondsBetween(std::int64_t from_micros, std::int64_t to_micros) {
  return static_cast<double>(to_micros - from_micros) / 1e6;
}

std::int64_t micros(milliseconds d) {
  return duration_cast<microseconds>(d).count();
}

// How long a --once run keeps retrying a transient fault before it gives up.
constexpr milliseconds kOnceFaultBudget{120'000};
// How often the stream logs what it did, when it did anything.
constexpr std::int64_t kReportEveryMicros = 10'000'000;
// A canary not seen in its index after this long is reported and written again.
constexpr milliseconds kCanaryTimeout{120'000};

Result<changelog::ReaderOptions> readerOptions(const config::Config& config) {
  changelog::ReaderOptions r;
  r.keyspace = config.changelog.keyspace;
  r.table = config.changelog.table;
  r.shards = static_cast<std::int32_t>(config.changelog.shards);
  r.bucket_width = duration_cast<std::chrono::seconds>(config.changelog.bucket_width);
  r.confidence_window = config.changelog.confidence_window;
  r.sweep_interval = config.changelog.sweep_interval;
  r.settle_time = config.changelog.settle_time;
  CESYNC_ASSIGN_OR_RETURN(consistency, parseConsistency(config.cassandra.consistency));
  r.consistency = consistency;
  return r;
}

std::string tableList(const std::vector<std::string>& names) {
  return names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

Daemon::Daemon(const config::Config& config, const Clock& clock, ConfigSource reread)
    : config_(config),
      clock_(clock),
      reread_(std::move(reread)),
      retention_(config.changelog.ttl) {}

Daemon::~Daemon() {
  if (admin_) {
    admin_->stop();
  }
  if (probe_) {
    probe_->stop();
  }
  pipes_ = {};
  if (session_) {
    session_->stop();
  }
}

Result<std::unique_ptr<Daemon>> Daemon::open(const config::Config& config, const Clock& clock,
                                             ConfigSource reread) {
  std::unique_ptr<Daemon> daemon(new Daemon(config, clock, std::move(reread)));
  CESYNC_TRY(daemon->connect());
  CESYNC_ASSIGN_OR_RETURN(pipes, daemon->build(config.tables));
  daemon->pipes_ = std::move(pipes);
  daemon->publishTables();
  return daemon;
}

Status Daemon::connect() {
  started_micros_ = clock_.wallMicros();
  events_.set(Event::kStartTime, {}, static_cast<double>(started_micros_) / 1e6);
  CESYNC_ASSIGN_OR_RETURN(session, connectCassandra(config_));
  session_ = std::move(session);
  auto search_options = searchClientOptions(config_);
  bulkInterrupts(search_options);
  CESYNC_ASSIGN_OR_RETURN(search, connectSearch(search_options, clock_));
  search_ = std::move(search);
  auto writer_options = searchClientOptions(config_);
  bulkInterrupts(writer_options);  // its own: a comeback is news to each client
  CESYNC_ASSIGN_OR_RETURN(writer, connectSearch(writer_options, clock_, &search_->stats()));
  stream_writer_ = std::move(writer);
  CESYNC_ASSIGN_OR_RETURN(probe_client, connectSearch(searchClientOptions(config_), clock_));
  probe_ = std::make_unique<SideProbe>(*session_, std::move(probe_client), events_, clock_,
                                       SideProbe::Options{});
  auto store = state::SqliteCheckpointStore::open(config_.state.path);
  if (!store) {
    return fail(store.error().code,
                "state.path: cannot open " + config_.state.path + ": " + store.error().message);
  }
  store_ = std::move(*store);
  return {};
}

void Daemon::bulkInterrupts(es::ClientOptions& options) const {
  static const std::atomic<bool> kNever{false};
  auto stopping = [this] { return stop_ != nullptr && stop_->load(); };
  options.bulk.sleep = [this](milliseconds d) {
    const std::uint64_t comebacks = probe_ ? probe_->comebacks() : 0;
    sleepUnless(stop_ != nullptr ? *stop_ : kNever, d,
                [&] { return probe_ && probe_->comebacks() != comebacks; });
  };
  auto seen = std::make_shared<std::atomic<std::uint64_t>>(0);
  options.bulk.interrupt = [this, stopping, seen] {
    if (stopping()) {
      return es::BulkInterrupt::kGiveUp;
    }
    const std::uint64_t now = probe_ ? probe_->comebacks() : 0;
    return seen->exchange(now) != now ? es::BulkInterrupt::kRetryNow : es::BulkInterrupt::kNone;
  };
}

Result<Daemon::Pipelines> Daemon::build(const std::vector<config::TableConfig>& tables) {
  Pipelines p;
  p.configs = tables;
  CESYNC_ASSIGN_OR_RETURN(consistency, parseConsistency(config_.cassandra.consistency));
  auto triggers = session_->prepare(
      "SELECT trigger_name, options FROM system_schema.triggers WHERE keyspace_name = ? AND "
      "table_name = ?");
  if (!triggers) {
    return fail(triggers.error().code,
                "reading the installed triggers: " + triggers.error().message);
  }
  // The tables' own problems first: "run setup first" would send the operator to a setup that
  // refuses them too.
  CESYNC_TRY(checkTables(*session_, tables));
  std::vector<StreamTable> streamed;
  for (const auto& t : tables) {
    const std::string where =
        "tables: " + t.qualifiedName() + " (line " + std::to_string(t.line) + ")";
    auto schema = loadTableSchema(*session_, t.keyspace, t.table);
    if (!schema) {
      return fail(schema.error().code, where + ": " + schema.error().message);
    }
    CESYNC_ASSIGN_OR_RETURN(index_exists, search_->admin().exists(t.index));
    if (!index_exists) {
      return fail(ErrorCode::kConfig, where + ": index " + t.index +
                                          " does not exist; run `cesync setup --config FILE` "
                                          "first");
    }
    if (!t.canary_key.empty()) {
      auto canary =
          Canary::make(*session_, *schema, t, config_.sync.canary_interval, kCanaryTimeout, clock_);
      if (!canary) {
        return fail(canary.error().code, where + ": " + canary.error().message);
      }
      p.canaries.push_back(std::move(*canary));
    }
    if (t.direction != config::Direction::kToSearch) {
      if (auto usable = IndexSync::checkTable(*schema, t.timestamp_column); !usable) {
        return fail(ErrorCode::kConfig, where + ": " + usable.error().message);
      }
      IndexSyncOptions back;
      back.index = t.index;
      back.timestamp_column = t.timestamp_column;
      back.soft_delete_field = t.soft_delete_field;
      back.overlap = config_.to_cassandra.overlap;
      back.page_size = std::max<std::uint32_t>(1, config_.to_cassandra.page_size);
      back.max_in_flight = std::max<std::uint32_t>(1, config_.sync.fetch_in_flight);
      back.consistency = consistency;
      p.indices.push_back(
          {t.qualifiedName(), std::make_unique<IndexSync>(*session_, *search_, *store_, *schema,
                                                          std::move(back), echoes_, clock_)});
    }
    if (t.direction == config::Direction::kToCassandra) {
      continue;
    }
    CESYNC_ASSIGN_OR_RETURN(
        rows, session_->execute(cql::Statement::of(
                  *triggers, {cql::Value::text(t.keyspace), cql::Value::text(t.table)})));
    bool installed = false;
    for (const auto row : rows.rows) {
      CESYNC_ASSIGN_OR_RETURN(options, row.value(1));
      installed = installed || valueText(options).find(kTriggerClass) != std::string::npos;
    }
    if (!installed) {
      return fail(ErrorCode::kConfig, where +
                                          ": the change-log trigger is not installed; run "
                                          "`cesync setup --config FILE` first");
    }
    TableSyncOptions options;
    options.index = t.index;
    options.limits.max_bytes = config_.search.bulk_max_bytes;
    options.settle = config_.sync.settle;
    options.max_in_flight = std::max<std::uint32_t>(1, config_.sync.fetch_in_flight);
    options.keys_per_read = std::max<std::uint32_t>(1, config_.sync.fetch_keys_per_read);
    options.consistency = consistency;
    if (t.direction == config::Direction::kBoth) {
      options.echoes = &echoes_;
      options.timestamp_column = t.timestamp_column;
    }
    streamed.push_back({*schema, options});
    p.tables.push_back({t, std::move(*schema)});
  }
  CESYNC_ASSIGN_OR_RETURN(reader, readerOptions(config_));
  p.stream = std::make_unique<ChangeStream>(*session_, *search_, *store_, std::move(reader),
                                            std::move(streamed), config_.sync.checkpoint_interval,
                                            clock_, stream_writer_.get());
  return p;
}

void Daemon::reloadTables() {
  auto fresh = reread_ ? reread_() : fail(ErrorCode::kConfig, "no configuration file to reload");
  if (!fresh) {
    events_.log(Event::kConfigReloadFailed, {},
                "SIGHUP: the configuration was not reloaded, the daemon goes on with its tables: " +
                    fresh.error().message);
    return;
  }
  auto pipes = build(fresh->tables);
  if (!pipes) {
    events_.log(Event::kConfigReloadFailed, {},
                "SIGHUP: the new table list was refused, the daemon goes on with its tables: " +
                    pipes.error().message);
    return;
  }
  std::vector<std::string> before;
  std::vector<std::string> after;
  for (const auto& t : pipes_.configs) {
    before.push_back(t.qualifiedName());
  }
  for (const auto& t : fresh->tables) {
    after.push_back(t.qualifiedName());
  }
  std::vector<std::string> added;
  std::vector<std::string> removed;
  for (const auto& name : after) {
    if (std::find(before.begin(), before.end(), name) == before.end()) {
      added.push_back(name);
    }
  }
  for (const auto& name : before) {
    if (std::find(after.begin(), after.end(), name) == after.end()) {
      removed.push_back(name);
      events_.forget("table", name);
    }
  }
  {
    const std::lock_guard lock(published_mutex_);  // the admin thread reads config_.tables
    pipes_ = std::move(*pipes);
    config_.tables = fresh->tables;
    published_ = Published{};
    publishTables();
  }
  events_.log(Event::kConfigReloaded, {},
              fmt::format("SIGHUP: tables reloaded ({} now); added: {}; removed: {} (only the "
                          "tables list is reloaded: other settings need a restart)",
                          after.size(), tableList(added), tableList(removed)));
}

Status Daemon::retrying(Event failed, const std::string& table, const std::string& what,
                        const std::function<Status()>& step, const std::atomic<bool>& stop,
                        bool once) {
  Backoff backoff({.initial = milliseconds(200),
                   .max = milliseconds(30'000),
                   .multiplier = 2.0,
                   .max_retries = std::nullopt});
  const auto first_try = std::chrono::steady_clock::now();
  while (true) {
    auto done = step();
    if (done || stop.load() || done.error().code == ErrorCode::kCancelled) {
      return done;
    }
    const bool transient = isTransient(done.error().code);
    if (once && (!transient || std::chrono::steady_clock::now() - first_try > kOnceFaultBudget)) {
      return fail(done.error().code, what + ": " + done.error().message);
    }
    const auto delay = backoff.next().value_or(milliseconds(30'000));
    const std::string message =
        fmt::format("{}: {} (retrying in {} ms)", what, done.error().message, delay.count());
    if (ops::specOf(failed).labels.empty()) {
      events_.log(failed, {}, message);
    } else {
      events_.log(failed, {table}, message);
    }
    // A side that comes back ends the wait: catching up starts at once, not after a backoff
    // that grew during the outage.
    const std::uint64_t comebacks = probe_->comebacks();
    sleepUnless(stop, delay, [&] { return probe_->comebacks() != comebacks; });
    if (probe_->comebacks() != comebacks) {
      backoff.reset();
    }
  }
}

Status Daemon::snapshotTable(const Table& table, bool afresh, const std::atomic<bool>& stop) {
  const std::string name = table.config.qualifiedName();
  CESYNC_ASSIGN_OR_RETURN(status, snapshotStatus(*store_, name));
  if (status.state == SnapshotState::kDone && !afresh) {
    events_.set(Event::kSnapshotProgress, {name}, 1);
    return {};
  }
  if (status.state == SnapshotState::kDone) {
    CESYNC_TRY(resetSnapshot(*store_, name));
    status = SnapshotStatus{};
  }
  if (status.state == SnapshotState::kRunning) {
    events_.log(Event::kSnapshotStarted, {name},
                fmt::format("snapshot of {}: resuming ({} of {} ranges done, {} rows)", name,
                            status.ranges_done, status.ranges, status.rows));
  } else {
    events_.log(Event::kSnapshotStarted, {name},
                fmt::format("snapshot of {} into index {}: starting", name, table.config.index));
  }
  CESYNC_ASSIGN_OR_RETURN(consistency, parseConsistency(config_.cassandra.consistency));
  SnapshotOptions options;
  options.index = table.config.index;
  options.search = searchClientOptions(config_);
  bulkInterrupts(options.search);
  options.limits.max_bytes = config_.search.bulk_max_bytes;
  options.ranges = std::max<std::uint32_t>(1, config_.snapshot.ranges);
  options.parallelism = std::max<std::uint32_t>(1, config_.snapshot.parallelism);
  options.page_size =
      static_cast<std::int32_t>(std::clamp<std::uint32_t>(config_.snapshot.page_size, 1, 100'000));
  options.consistency = consistency;
  options.on_retry = [this, name](const std::string& message) {
    events_.log(Event::kSnapshotFailed, {name}, message);
  };
  if (table.config.direction == config::Direction::kBoth) {
    options.timestamp_column = table.config.timestamp_column;
  }

  // A bar on a terminal, else a log line every 10 s (util/progress_display.h).
  const std::int64_t started = clock_.wallMicros();
  const std::uint64_t rows_before = status.rows;
  util::ProgressDisplay::Options shown;
  shown.label = "snapshot " + name;
  shown.mode = util::ProgressDisplay::detect(STDERR_FILENO);
  util::ProgressDisplay display(
      shown,
      [this, name,
       terminal = shown.mode == util::ProgressDisplay::Mode::kTerminal](std::string_view text) {
        if (terminal) {
          fputs(std::string(text).c_str(), stderr);
        } else {
          events_.log(Event::kSnapshotProgress, {name}, text);
        }
      },
      clock_);
  std::mutex mutex;
  auto progress = [&](const SnapshotProgress& p) {
    const double fraction =
        p.ranges == 0 ? -1 : static_cast<double>(p.ranges_done) / static_cast<double>(p.ranges);
    const std::lock_guard lock(mutex);
    events_.set(Event::kSnapshotProgress, {name}, std::max(fraction, 0.0));
    events_.total(Event::kSnapshotRows, {name}, static_cast<double>(p.rows - rows_before));
    display.update({fraction, p.rows});
  };
  CESYNC_ASSIGN_OR_RETURN(
      report, runSnapshot(*session_, *store_, table.schema, options, clock_, &stop, progress));
  display.finish({1.0, status.rows + report.rows});
  events_.set(Event::kSnapshotProgress, {name}, 1);
  const double seconds = std::max(secondsBetween(started, clock_.wallMicros()), 1e-3);
  events_.log(Event::kSnapshotDone, {name},
              fmt::format("snapshot of {}: done, {} rows in {:.1f} s ({:.0f} rows/s), {} already "
                          "newer, {} dead letters, {} ranges resumed",
                          name, report.rows, seconds, static_cast<double>(report.rows) / seconds,
                          report.already_newer, report.dead_letters, report.ranges_resumed));
  if (report.dead_letters > 0) {
    // The snapshot's refusals are dead letters like the stream's: logged and counted now.
    countDeadLetters(name, StreamCursors::tableScope(name), Event::kDeadLetters);
  }
  return {};
}

Status Daemon::snapshot(const std::vector<std::string>& tables, const std::atomic<bool>& stop) {
  stop_ = &stop;
  for (const auto& wanted : tables) {
    if (std::none_of(pipes_.tables.begin(), pipes_.tables.end(),
                     [&](const Table& t) { return t.config.qualifiedName() == wanted; })) {
      return fail(ErrorCode::kConfig,
                  "--table " + wanted + ": not a to_search or both table of the configuration");
    }
  }
  CESYNC_TRY(pipes_.stream->start().map([](std::int64_t) {}));
  for (const auto& t : pipes_.tables) {
    if (tables.empty() ||
        std::find(tables.begin(), tables.end(), t.config.qualifiedName()) != tables.end()) {
      CESYNC_TRY(retrying(
          Event::kSnapshotFailed, t.config.qualifiedName(),
          "snapshot of " + t.config.qualifiedName(),
          [&] { return snapshotTable(t, /*afresh=*/true, stop); }, stop, /*once=*/true));
    }
  }
  return {};
}

void Daemon::countDeadLetters(const std::string& table, const std::string& scope, Event event) {
  auto count = store_->deadLetterCount(scope);
  if (!count) {
    return;
  }
  std::uint64_t before = 0;
  {
    const std::lock_guard lock(published_mutex_);
    auto [at, fresh] = published_.dead_letters.try_emplace(scope, *count);
    before = fresh ? *count : at->second;
    at->second = *count;
  }
  if (*count > before) {
    events_.log(event, {table},
                fmt::format("{}: {} more record(s) refused for good and kept as dead letters ({} "
                            "in all); `cesync status` shows their keys and reasons",
                            table, *count - before, *count),
                0);
  }
  events_.total(event, {table}, static_cast<double>(*count));
}

void Daemon::publishTables() {
  published_.configs = pipes_.configs;
  published_.max_lag.clear();
  for (const auto& t : pipes_.configs) {
    published_.max_lag[t.qualifiedName()] =
        t.max_lag.count() > 0 ? t.max_lag : config_.sync.max_lag;
  }
}

void Daemon::publish(const Status& cycle) {
  const std::int64_t now = clock_.wallMicros();
  const auto tables = pipes_.stream->progress();
  for (const auto& t : tables) {
    const std::pair<Event, std::uint64_t> totals[] = {
        {Event::kChangelogEntries, t.counts.entries},
        {Event::kDocumentsIndexed, t.counts.indexed},
        {Event::kDocumentsDeleted, t.counts.deleted},
        {Event::kDocumentsAlreadyNewer, t.counts.already_newer},
        {Event::kDocumentsEcho, t.counts.echo}};
    for (const auto& [event, total] : totals) {
      events_.total(event, {t.table}, static_cast<double>(total));
    }
  }
  for (const auto& i : pipes_.indices) {
    const auto& c = i.sync->counts();
    const std::pair<Event, std::uint64_t> totals[] = {
        {Event::kSearchDocumentsRead, c.read},       {Event::kSearchDocumentsWritten, c.written},
        {Event::kSearchDocumentsDeleted, c.deleted}, {Event::kSearchDocumentsNotNewer, c.not_newer},
        {Event::kSearchDocumentsEcho, c.echo},       {Event::kSearchDocumentsRepaired, c.repaired}};
    for (const auto& [event, total] : totals) {
      events_.total(event, {i.table}, static_cast<double>(total));
    }
  }
  events_.set(Event::kCheckpoint, {}, static_cast<double>(pipes_.stream->savedPosition()) / 1e6);
  watchRetention(pipes_.stream->savedPosition());
  const std::lock_guard lock(published_mutex_);
  published_.tables = tables;
  for (const auto& t : tables) {
    published_.rates[t.table + "/entries"].record(now, t.counts.entries);
    published_.rates[t.table + "/indexed"].record(now, t.counts.indexed);
    published_.rates[t.table + "/deleted"].record(now, t.counts.deleted);
  }
  for (const auto& i : pipes_.indices) {
    published_.indices[i.table] = i.sync->counts();
    published_.rates[i.table + "/read"].record(now, i.sync->counts().read);
    published_.rates[i.table + "/written"].record(now, i.sync->counts().written);
  }
  if (cycle) {
    published_.last_error.reset();
  } else {
    published_.last_error = cycle.error().message;
  }
}

void Daemon::watchRetention(std::int64_t checkpoint) {
  const std::int64_t now = clock_.wallMicros();
  const auto reading = retention_.observe(checkpoint, now);
  events_.set(Event::kChangelogRetention, {}, reading.share);
  if (!reading.warn) {
    return;
  }
  const auto ttl = duration_cast<std::chrono::seconds>(config_.changelog.ttl).count();
  const double behind = secondsBetween(checkpoint, now);
  events_.log(
      Event::kChangelogBehind, {},
      reading.share >= 1
          ? fmt::format("the change-log position is {:.0f} s behind, longer than changelog.ttl "
                        "({} s): changes older than the TTL may have expired unread; run `cesync "
                        "verify --repair` once the daemon has caught up",
                        behind, ttl)
          : fmt::format("the change-log position is {:.0f} s behind, {:.0f}% of changelog.ttl "
                        "({} s): changes not read within the TTL expire and are lost",
                        behind, reading.share * 100, ttl));
}

std::string Daemon::metricsText() {
  const std::int64_t now = clock_.wallMicros();
  {
    const std::lock_guard lock(published_mutex_);
    for (const auto& t : published_.tables) {
      events_.set(Event::kLag, {t.table}, std::max(0.0, secondsBetween(t.applied_micros, now)));
    }
    for (const auto& [table, read] : published_.index_read_micros) {
      events_.set(Event::kSearchPollAge, {table}, std::max(0.0, secondsBetween(read, now)));
    }
    events_.set(Event::kReady, {}, readinessLocked(now).ready ? 1 : 0);
  }
  const auto& es = search_->stats();
  const std::pair<Event, std::uint64_t> search_totals[] = {
      {Event::kSearchRequests, es.http_requests.load()},
      {Event::kSearchRequestErrors, es.http_errors.load()},
      {Event::kSearchRequestRetries, es.http_retries.load()},
      {Event::kSearchBulkRequests, es.bulk_requests.load()},
      {Event::kSearchBulkRetries, es.bulk_request_retries.load()},
      {Event::kSearchBulkItemsRetried, es.bulk_items_retried.load()},
      {Event::kSearchBulkItemsRejected429, es.bulk_items_rejected_429.load()}};
  for (const auto& [event, total] : search_totals) {
    events_.total(event, {}, static_cast<double>(total));
  }
  events_.set(Event::kSearchBulkInFlight, {}, static_cast<double>(es.bulk_in_flight.load()));
  const auto cql = session_->stats();
  events_.total(Event::kCassandraRequests, {}, static_cast<double>(cql.requests));
  events_.total(Event::kCassandraRetries, {}, static_cast<double>(cql.retries));
  events_.total(Event::kCassandraTimeouts, {}, static_cast<double>(cql.timeouts));
  events_.set(Event::kCassandraConnections, {}, static_cast<double>(cql.open_connections));
  return events_.prometheus();
}

ops::Readiness Daemon::readiness() {
  const std::lock_guard lock(published_mutex_);
  return readinessLocked(clock_.wallMicros());
}

ops::Readiness Daemon::readinessLocked(std::int64_t now) {
  ops::Readiness r;
  auto notReady = [&](std::string reason) {
    r.ready = false;
    r.reasons.push_back(std::move(reason));
  };
  if (probe_) {
    if (const auto c = probe_->cassandra(); !c.up) {
      notReady(fmt::format("Cassandra is unreachable for {:.0f} s: {}",
                           secondsBetween(c.since_micros, now), c.error));
    }
    if (const auto s = probe_->search(); !s.up) {
      notReady(fmt::format("the search engine is unreachable for {:.0f} s: {}",
                           secondsBetween(s.since_micros, now), s.error));
    }
  }
  if (!published_.streaming) {
    notReady("not streaming yet (starting, or copying existing rows)");
    return r;
  }
  if (published_.last_error) {
    notReady("the last stream cycle failed: " + *published_.last_error);
  }
  auto bound = [&](const std::string& table) {
    const auto found = published_.max_lag.find(table);
    return found == published_.max_lag.end() ? config_.sync.max_lag : found->second;
  };
  for (const auto& t : published_.tables) {
    const double lag = secondsBetween(t.applied_micros, now);
    const auto max = bound(t.table);
    if (lag * 1e6 > static_cast<double>(micros(max))) {
      notReady(fmt::format("{}: lag {:.1f} s is over its bound of {} s", t.table, lag,
                           duration_cast<std::chrono::seconds>(max).count()));
    }
  }
  for (const auto& [table, read] : published_.index_read_micros) {
    const double age = secondsBetween(read, now);
    const auto max = bound(table);
    if (age * 1e6 > static_cast<double>(micros(max))) {
      notReady(fmt::format("{}: its index was last read back {:.1f} s ago, over the bound of {} s",
                           table, age, duration_cast<std::chrono::seconds>(max).count()));
    }
  }
  return r;
}

std::string Daemon::statusJson() {
  config::Config config;
  {
    const std::lock_guard lock(published_mutex_);
    config = config_;
  }
  auto report = StatusReport::read(config, *store_, clock_);
  if (!report) {
    return R"({"error":"cannot read the state file"})";
  }
  const std::int64_t now = clock_.wallMicros();
  std::string out;
  util::JsonWriter w(out);
  const std::lock_guard lock(published_mutex_);
  const auto ready = readinessLocked(now);
  w.beginObject();
  w.key("ready");
  w.value(ready.ready);
  w.key("reasons");
  w.beginArray();
  for (const auto& reason : ready.reasons) {
    w.value(reason);
  }
  w.endArray();
  w.key("uptime_seconds");
  w.value(secondsBetween(started_micros_, now));
  w.key("sides");
  w.beginObject();
  const std::pair<const char*, SideState> sides[] = {
      {"cassandra", probe_ ? probe_->cassandra() : SideState{}},
      {"search", probe_ ? probe_->search() : SideState{}}};
  for (const auto& [side, state] : sides) {
    w.key(side);
    w.beginObject();
    w.key("up");
    w.value(state.up);
    w.key("for_seconds");
    w.value(secondsBetween(state.since_micros, now));
    if (!state.up) {
      w.key("error");
      w.value(state.error);
    }
    w.endObject();
  }
  w.endObject();
  w.key("retries");
  w.beginObject();
  w.key("stream_cycles_failed");
  w.value(events_.value(Event::kStreamFailed, {}));
  w.key("search_requests_retried");
  w.value(static_cast<std::uint64_t>(search_->stats().http_retries.load()));
  w.key("search_bulk_requests_retried");
  w.value(static_cast<std::uint64_t>(search_->stats().bulk_request_retries.load()));
  w.key("cassandra_requests_retried");
  w.value(static_cast<std::uint64_t>(session_->stats().retries));
  w.endObject();
  w.key("tables");
  w.beginArray();
  auto rate = [&](const std::string& key) {
    const auto found = published_.rates.find(key);
    return found == published_.rates.end() ? 0.0 : found->second.rate();
  };
  for (const auto& t : published_.configs) {
    const std::string name = t.qualifiedName();
    w.beginObject();
    w.key("table");
    w.value(name);
    if (t.direction != config::Direction::kToCassandra) {
      w.key("to_search");
      w.beginObject();
      for (const auto& p : published_.tables) {
        if (p.table == name) {
          w.key("lag_seconds");
          w.value(std::max(0.0, secondsBetween(p.applied_micros, now)));
        }
      }
      w.key("rates_per_second");
      w.beginObject();
      for (const char* what : {"entries", "indexed", "deleted"}) {
        w.key(what);
        w.value(rate(name + "/" + what));
      }
      w.endObject();
      w.key("snapshot_rows_this_run");
      w.value(events_.value(Event::kSnapshotRows, {name}));
      w.endObject();
    }
    if (t.direction != config::Direction::kToSearch) {
      w.key("to_cassandra");
      w.beginObject();
      if (const auto read = published_.index_read_micros.find(name);
          read != published_.index_read_micros.end()) {
        w.key("last_read_seconds_ago");
        w.value(secondsBetween(read->second, now));
      }
      w.key("rates_per_second");
      w.beginObject();
      for (const char* what : {"read", "written"}) {
        w.key(what);
        w.value(rate(name + "/" + what));
      }
      w.endObject();
      w.key("poll_failures");
      w.value(events_.value(Event::kSearchPollFailed, {name}));
      w.endObject();
    }
    if (const auto canary = published_.canary_latency.find(name);
        canary != published_.canary_latency.end()) {
      w.key("canary_latency_seconds");
      w.value(canary->second);
    }
    w.endObject();
  }
  w.endArray();
  w.endObject();
  report->daemon_json = std::move(out);
  return report->json();
}

Status Daemon::startAdmin() {
  if (config_.admin.listen.empty()) {
    return {};
  }
  admin_ = std::make_unique<ops::AdminServer>(ops::AdminHandlers{
      .metrics = [this] { return metricsText(); },
      .readiness = [this] { return readiness(); },
      .status_json = [this] { return statusJson(); },
  });
  auto started = admin_->start(config_.admin.listen);
  if (!started) {
    return fail(ErrorCode::kConfig, "admin.listen: cannot serve on " + config_.admin.listen + ": " +
                                        started.error().message);
  }
  events_.log(Event::kAdminListening, {},
              fmt::format("admin endpoints on http://{}: /metrics /healthz /readyz /status",
                          config_.admin.listen));
  return {};
}

Status Daemon::run(const std::atomic<bool>& stop, bool once, std::atomic<bool>* reload) {
  stop_ = &stop;
  CESYNC_TRY(startAdmin());
  probe_->start();
  for (const auto& t : pipes_.configs) {
    countDeadLetters(t.qualifiedName(), StreamCursors::tableScope(t.qualifiedName()),
                     Event::kDeadLetters);
  }
  while (true) {
    CESYNC_ASSIGN_OR_RETURN(position, pipes_.stream->start());
    watchRetention(position);
    for (const auto& t : pipes_.tables) {
      auto done = retrying(
          Event::kSnapshotFailed, t.config.qualifiedName(),
          "snapshot of " + t.config.qualifiedName(),
          [&] { return snapshotTable(t, /*afresh=*/false, stop); }, stop, once);
      if (stop.load()) {
        events_.log(Event::kStopped, {}, "stopped during a snapshot; its progress is saved");
        return {};
      }
      CESYNC_TRY(done);
    }
    events_.log(Event::kStreaming, {},
                fmt::format("streaming {} table(s) from the change log at {:.1f} s ago",
                            pipes_.tables.size(), secondsBetween(position, clock_.wallMicros())));
    {
      const std::lock_guard lock(published_mutex_);
      published_.streaming = true;
    }
    publish({});
    CESYNC_TRY(stream(stop, once, reload));
    if (stop.load() || once || reload == nullptr || !reload->exchange(false)) {
      return {};
    }
    reloadTables();
  }
}

Status Daemon::pollIndices(const std::atomic<bool>& stop, std::string& failed) {
  for (auto& i : pipes_.indices) {
    if (stop.load()) {
      return {};
    }
    auto polled = i.sync->poll(stop);
    if (!polled) {
      failed = i.table;
      return fail(polled.error().code,
                  "reading documents back into " + i.table + ": " + polled.error().message);
    }
    {
      const std::lock_guard lock(published_mutex_);
      published_.index_read_micros[i.table] = clock_.wallMicros();
    }
    countDeadLetters(i.table, i.sync->scope(), Event::kSearchDeadLetters);
  }
  return {};
}

void Daemon::tickCanaries() {
  for (auto& c : pipes_.canaries) {
    c->tick(*search_, events_);
    if (c->lastLatency()) {
      const std::lock_guard lock(published_mutex_);
      published_.canary_latency[c->table()] = *c->lastLatency();
    }
  }
}

Status Daemon::stream(const std::atomic<bool>& stop, bool once, std::atomic<bool>* reload) {
  const std::int64_t target = clock_.wallMicros();
  const milliseconds poll_interval = config_.changelog.poll_interval;
  CycleReport since_report;
  std::int64_t last_report = clock_.wallMicros();
  // The indices are read every to_cassandra.poll_interval; with `once`, the stream ends after a
  // read that began after it started.
  // A failing index is retried with backoff without holding up the change-log stream.
  auto next_index_poll = std::chrono::steady_clock::now();
  bool indices_read = pipes_.indices.empty();
  Backoff index_backoff({.initial = milliseconds(500),
                         .max = milliseconds(30'000),
                         .multiplier = 2.0,
                         .max_retries = std::nullopt});
  // When the index reads began to fail; the epoch while they succeed.
  std::chrono::steady_clock::time_point index_failing_since{};
  {
    const std::lock_guard lock(published_mutex_);
    for (const auto& i : pipes_.indices) {
      published_.index_read_micros.try_emplace(i.table, clock_.wallMicros());
    }
  }
  auto& stream = *pipes_.stream;
  std::uint64_t comebacks = probe_->comebacks();
  while (!stop.load() && (reload == nullptr || !reload->load())) {
    const auto cycle_began = std::chrono::steady_clock::now();
    if (probe_->comebacks() != comebacks) {
      comebacks = probe_->comebacks();  // a side is back: read the indices again now
      index_backoff.reset();
      next_index_poll = std::chrono::steady_clock::now();
    }
    if (!pipes_.indices.empty() && std::chrono::steady_clock::now() >= next_index_poll) {
      std::string failed_table;
      auto polled = pollIndices(stop, failed_table);
      const auto now = std::chrono::steady_clock::now();
      if (polled) {
        indices_read = true;
        index_backoff.reset();
        index_failing_since = {};
        next_index_poll = now + config_.to_cassandra.poll_interval;
      } else {
        if (index_failing_since == std::chrono::steady_clock::time_point{}) {
          index_failing_since = now;
        }
        if (once &&
            (!isTransient(polled.error().code) || now - index_failing_since > kOnceFaultBudget)) {
          return polled;
        }
        const auto delay = index_backoff.next().value_or(milliseconds(30'000));
        events_.log(Event::kSearchPollFailed, {failed_table},
                    fmt::format("{} (retrying in {} ms)", polled.error().message, delay.count()));
        next_index_poll = now + delay;
      }
    }
    CycleReport cycle;
    auto cycled = retrying(
        Event::kStreamFailed, {}, "streaming",
        [&]() -> Status {
          auto done = [&]() -> Status {
            CESYNC_ASSIGN_OR_RETURN(c, stream.cycle());
            cycle = c;
            return stream.saveCheckpoint(/*force=*/false);
          }();
          publish(done);
          return done;
        },
        stop, once);
    if (!cycled) {
      if (stop.load()) {
        break;  // stopping cut a failing cycle short: its work stays unacknowledged
      }
      return cycled;
    }
    if (cycle.flushed.dead_letters > 0) {
      for (const auto& t : pipes_.tables) {
        countDeadLetters(t.config.qualifiedName(),
                         StreamCursors::tableScope(t.config.qualifiedName()), Event::kDeadLetters);
      }
    }
    tickCanaries();
    since_report.entries += cycle.entries - cycle.untracked;
    since_report.flushed.indexed += cycle.flushed.indexed;
    since_report.flushed.deleted += cycle.flushed.deleted;
    since_report.flushed.already_newer += cycle.flushed.already_newer;
    since_report.flushed.dead_letters += cycle.flushed.dead_letters;
    const std::int64_t now = clock_.wallMicros();
    if (since_report.entries > 0 && now - last_report >= kReportEveryMicros) {
      events_.log(Event::kStreamReport, {},
                  fmt::format("streamed {} entries: {} indexed, {} deleted, {} already newer, {} "
                              "dead letters; lag {:.1f} s",
                              since_report.entries, since_report.flushed.indexed,
                              since_report.flushed.deleted, since_report.flushed.already_newer,
                              since_report.flushed.dead_letters,
                              secondsBetween(stream.appliedThrough(), now)));
      since_report = {};
      last_report = now;
    }
    if (once && stream.caughtUpTo(target) && indices_read) {
      break;
    }
    // Polls start at most once per poll interval; a cycle that took longer (it had changes to
    // write) is followed at once, so a steady write load is not held back by a pause per cycle.
    const milliseconds pause = pauseAfterCycle(
        poll_interval, std::chrono::steady_clock::now() - cycle_began, stream.behind());
    if (pause.count() > 0) {
      sleepUnless(stop, pause);
    }
  }
  if (stop.load()) {
    events_.log(Event::kStopping, {}, "stopping: saving the checkpoint");
  }
  // Writes still in flight land first, so that the checkpoint can pass them; if they fail,
  // their work stays unacknowledged and the checkpoint stays behind it.
  if (auto drained = stream.drain(); !drained) {
    events_.log(Event::kStreamFailed, {}, "streaming: " + drained.error().message);
  }
  CESYNC_TRY(stream.saveCheckpoint(/*force=*/true));
  if (reload == nullptr || !reload->load() || stop.load()) {
    events_.log(Event::kStopped, {}, "stopped; checkpoint saved");
  }
  return {};
}

}  // namespace cesync::sync
