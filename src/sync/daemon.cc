#include "sync/daemon.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <thread>

#include "common/backoff.h"
#include "state/sqlite_checkpoint_store.h"
#include "sync/endpoints.h"
#include "sync/setup.h"
#include "sync/status_report.h"
#include "sync/to_search/doc_builder.h"
#include "sync/to_search/snapshot.h"

namespace cesync::sync {
namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

// Sleeps for `d`, waking early when `stop` is set.
void sleepUnless(const std::atomic<bool>& stop, milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (!stop.load() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        milliseconds(50), until - std::chrono::steady_clock::now()));
  }
}

double secondsBetween(std::int64_t from_micros, std::int64_t to_micros) {
  return static_cast<double>(to_micros - from_micros) / 1e6;
}

// How long a --once run keeps retrying a transient fault before it gives up.
constexpr milliseconds kOnceFaultBudget{120'000};
// How often the stream logs what it did, when it did anything.
constexpr std::int64_t kReportEveryMicros = 10'000'000;

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

// A Prometheus label value: backslash, quote and newline escaped.
std::string prometheusLabel(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Daemon::Daemon(const config::Config& config, const Clock& clock) : config_(config), clock_(clock) {}

Daemon::~Daemon() {
  if (admin_) {
    admin_->stop();
  }
  stream_.reset();
  if (session_) {
    session_->stop();
  }
}

Result<std::unique_ptr<Daemon>> Daemon::open(const config::Config& config, const Clock& clock) {
  std::unique_ptr<Daemon> daemon(new Daemon(config, clock));
  CESYNC_TRY(daemon->load());
  return daemon;
}

Status Daemon::load() {
  CESYNC_ASSIGN_OR_RETURN(session_config, cassandraSessionConfig(config_));
  auto session = cql::Session::connect(session_config);
  if (!session) {
    return fail(session.error().code, "cannot connect to Cassandra (cassandra.contact_points): " +
                                          session.error().message);
  }
  session_ = std::move(*session);
  auto search = es::EsClient::connect(searchClientOptions(config_), clock_);
  if (!search) {
    return fail(search.error().code,
                "cannot reach the search engine (search.urls): " + search.error().message);
  }
  search_ = std::move(*search);
  auto store = state::SqliteCheckpointStore::open(config_.state.path);
  if (!store) {
    return fail(store.error().code,
                "state.path: cannot open " + config_.state.path + ": " + store.error().message);
  }
  store_ = std::move(*store);

  CESYNC_ASSIGN_OR_RETURN(consistency, parseConsistency(config_.cassandra.consistency));
  auto triggers = session_->prepare(
      "SELECT trigger_name, options FROM system_schema.triggers WHERE keyspace_name = ? AND "
      "table_name = ?");
  if (!triggers) {
    return fail(triggers.error().code,
                "reading the installed triggers: " + triggers.error().message);
  }
  std::vector<StreamTable> streamed;
  for (const auto& t : config_.tables) {
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
      indices_.push_back(
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
    options.consistency = consistency;
    if (t.direction == config::Direction::kBoth) {
      options.echoes = &echoes_;
      options.timestamp_column = t.timestamp_column;
    }
    streamed.push_back({*schema, options});
    tables_.push_back({t, std::move(*schema)});
  }
  CESYNC_ASSIGN_OR_RETURN(reader, readerOptions(config_));
  stream_ =
      std::make_unique<ChangeStream>(*session_, *search_, *store_, std::move(reader),
                                     std::move(streamed), config_.sync.checkpoint_interval, clock_);
  return {};
}

Status Daemon::retrying(const std::string& what, const std::function<Status()>& step,
                        const std::atomic<bool>& stop, bool once) {
  Backoff backoff({.initial = milliseconds(200),
                   .max = milliseconds(30'000),
                   .multiplier = 2.0,
                   .max_retries = std::nullopt});
  const auto first_try = std::chrono::steady_clock::now();
  while (true) {
    auto done = step();
    if (done || stop.load()) {
      return done;
    }
    if (done.error().code == ErrorCode::kCancelled) {
      return done;
    }
    const bool transient = isTransient(done.error().code);
    if (once && (!transient || std::chrono::steady_clock::now() - first_try > kOnceFaultBudget)) {
      return fail(done.error().code, what + ": " + done.error().message);
    }
    const auto delay = backoff.next().value_or(milliseconds(30'000));
    spdlog::log(transient ? spdlog::level::warn : spdlog::level::err, "{}: {} (retrying in {} ms)",
                what, done.error().message, delay.count());
    sleepUnless(stop, delay);
  }
}

Status Daemon::snapshotTable(const Table& table, bool afresh, const std::atomic<bool>& stop) {
  const std::string name = table.config.qualifiedName();
  CESYNC_ASSIGN_OR_RETURN(status, snapshotStatus(*store_, name));
  if (status.state == SnapshotState::kDone && !afresh) {
    return {};
  }
  if (status.state == SnapshotState::kDone) {
    CESYNC_TRY(resetSnapshot(*store_, name));
    status = SnapshotStatus{};
  }
  if (status.state == SnapshotState::kRunning) {
    spdlog::info("snapshot of {}: resuming ({} of {} ranges done, {} rows)", name,
                 status.ranges_done, status.ranges, status.rows);
  } else {
    spdlog::info("snapshot of {} into index {}: starting", name, table.config.index);
  }
  CESYNC_ASSIGN_OR_RETURN(consistency, parseConsistency(config_.cassandra.consistency));
  SnapshotOptions options;
  options.index = table.config.index;
  options.search = searchClientOptions(config_);
  options.limits.max_bytes = config_.search.bulk_max_bytes;
  options.ranges = std::max<std::uint32_t>(1, config_.snapshot.ranges);
  options.parallelism = std::max<std::uint32_t>(1, config_.snapshot.parallelism);
  options.page_size =
      static_cast<std::int32_t>(std::clamp<std::uint32_t>(config_.snapshot.page_size, 1, 100'000));
  options.consistency = consistency;
  if (table.config.direction == config::Direction::kBoth) {
    options.timestamp_column = table.config.timestamp_column;
  }

  const std::int64_t started = clock_.wallMicros();
  std::mutex mutex;
  std::int64_t last_report = started;
  auto progress = [&](const SnapshotProgress& p) {
    const std::lock_guard lock(mutex);
    const std::int64_t now = clock_.wallMicros();
    if (now - last_report < 5'000'000) {
      return;
    }
    last_report = now;
    spdlog::info("snapshot of {}: {} of {} ranges, {} rows, {:.0f} rows/s", name, p.ranges_done,
                 p.ranges, p.rows,
                 static_cast<double>(p.rows) / std::max(secondsBetween(started, now), 1e-3));
  };
  CESYNC_ASSIGN_OR_RETURN(
      report, runSnapshot(*session_, *store_, table.schema, options, clock_, &stop, progress));
  const double seconds = std::max(secondsBetween(started, clock_.wallMicros()), 1e-3);
  spdlog::info(
      "snapshot of {}: done, {} rows in {:.1f} s ({:.0f} rows/s), {} already newer, {} dead "
      "letters, {} ranges resumed",
      name, report.rows, seconds, static_cast<double>(report.rows) / seconds, report.already_newer,
      report.dead_letters, report.ranges_resumed);
  return {};
}

Status Daemon::snapshot(const std::vector<std::string>& tables, const std::atomic<bool>& stop) {
  for (const auto& wanted : tables) {
    if (std::none_of(tables_.begin(), tables_.end(),
                     [&](const Table& t) { return t.config.qualifiedName() == wanted; })) {
      return fail(ErrorCode::kConfig,
                  "--table " + wanted + ": not a to_search or both table of the configuration");
    }
  }
  CESYNC_TRY(stream_->start().map([](std::int64_t) {}));
  for (const auto& t : tables_) {
    if (tables.empty() ||
        std::find(tables.begin(), tables.end(), t.config.qualifiedName()) != tables.end()) {
      CESYNC_TRY(retrying(
          "snapshot of " + t.config.qualifiedName(),
          [&] { return snapshotTable(t, /*afresh=*/true, stop); }, stop, /*once=*/true));
    }
  }
  return {};
}

void Daemon::publish(const Status& cycle) {
  const std::lock_guard lock(published_mutex_);
  published_.tables = stream_->progress();
  published_.indices.clear();
  for (const auto& i : indices_) {
    published_.indices.emplace_back(i.table, i.sync->counts());
  }
  if (cycle) {
    published_.last_error.reset();
  } else {
    published_.last_error = cycle.error().message;
    ++published_.failed_cycles;
  }
}

std::string Daemon::metricsText() {
  Published p;
  {
    const std::lock_guard lock(published_mutex_);
    p = published_;
  }
  const std::int64_t now = clock_.wallMicros();
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto sample = [&](const char* name, const std::string& table, auto value) {
    out += std::string(name) + "{table=\"" + prometheusLabel(table) + "\"} " +
           fmt::format("{}", value) + "\n";
  };
  struct StreamFamily {
    const char* name;
    const char* help;
    std::uint64_t StreamCounts::*field;
  };
  const StreamFamily stream_families[] = {
      {"cesync_changelog_entries_total", "Change-log entries read, per table.",
       &StreamCounts::entries},
      {"cesync_documents_indexed_total", "Index writes the engine acknowledged, per table.",
       &StreamCounts::indexed},
      {"cesync_documents_deleted_total", "Document deletes the engine acknowledged, per table.",
       &StreamCounts::deleted},
      {"cesync_documents_already_newer_total",
       "Writes left out because the index held a newer version, per table.",
       &StreamCounts::already_newer},
      {"cesync_documents_echo_total",
       "Rows just written from the search side, not indexed back, per table.",
       &StreamCounts::echo}};
  for (const auto& f : stream_families) {
    family(f.name, "counter", f.help);
    for (const auto& t : p.tables) {
      sample(f.name, t.table, t.counts.*(f.field));
    }
  }
  family("cesync_dead_letters_total", "counter",
         "Documents the index refused for good (kept in the state file), per table.");
  for (const auto& t : p.tables) {
    const auto dead = store_->deadLetterCount(StreamCursors::tableScope(t.table));
    sample("cesync_dead_letters_total", t.table, dead ? *dead : 0);
  }
  family("cesync_lag_seconds", "gauge",
         "Age of the oldest change read from the log and not yet written, per table.");
  for (const auto& t : p.tables) {
    sample("cesync_lag_seconds", t.table, secondsBetween(t.applied_micros, now));
  }
  const std::pair<const char*, std::uint64_t IndexCounts::*> back[] = {
      {"read", &IndexCounts::read},       {"written", &IndexCounts::written},
      {"deleted", &IndexCounts::deleted}, {"not_newer", &IndexCounts::not_newer},
      {"echo", &IndexCounts::echo},       {"repaired", &IndexCounts::repaired}};
  for (const auto& [what, field] : back) {
    const std::string name = std::string("cesync_search_documents_") + what + "_total";
    family(name.c_str(), "counter",
           "Documents edited on the search side, per table: read, written to Cassandra, "
           "deleted (soft delete), skipped as not newer than the row, skipped as equal to it, "
           "given the newer row's content back.");
    for (const auto& [table, counts] : p.indices) {
      sample(name.c_str(), table, counts.*field);
    }
  }
  family("cesync_stream_failed_cycles_total", "counter",
         "Stream cycles that failed and were retried.");
  out += fmt::format("cesync_stream_failed_cycles_total {}\n", p.failed_cycles);
  return out;
}

ops::Readiness Daemon::readiness() {
  const std::lock_guard lock(published_mutex_);
  ops::Readiness r;
  if (!published_.streaming) {
    r.ready = false;
    r.reasons.emplace_back("not streaming yet (starting or copying existing rows)");
  }
  if (published_.last_error) {
    r.ready = false;
    r.reasons.push_back("the last stream cycle failed: " + *published_.last_error);
  }
  return r;
}

Status Daemon::startAdmin() {
  if (config_.admin.listen.empty()) {
    return {};
  }
  admin_ = std::make_unique<ops::AdminServer>(ops::AdminHandlers{
      .metrics = [this] { return metricsText(); },
      .readiness = [this] { return readiness(); },
      .status_json =
          [this] {
            auto report = StatusReport::read(config_, *store_, clock_);
            return report ? report->json()
                          : std::string(R"({"error":"cannot read the state file"})");
          },
  });
  auto started = admin_->start(config_.admin.listen);
  if (!started) {
    return fail(ErrorCode::kConfig, "admin.listen: cannot serve on " + config_.admin.listen + ": " +
                                        started.error().message);
  }
  spdlog::info("admin endpoints on http://{}: /metrics /healthz /readyz /status",
               config_.admin.listen);
  return {};
}

Status Daemon::run(const std::atomic<bool>& stop, bool once) {
  CESYNC_TRY(startAdmin());
  CESYNC_ASSIGN_OR_RETURN(position, stream_->start());
  spdlog::info("streaming {} table(s) from the change log at {:.1f} s ago", tables_.size(),
               secondsBetween(position, clock_.wallMicros()));
  for (const auto& t : tables_) {
    auto done = retrying(
        "snapshot of " + t.config.qualifiedName(),
        [&] { return snapshotTable(t, /*afresh=*/false, stop); }, stop, once);
    if (stop.load()) {
      return {};
    }
    CESYNC_TRY(done);
  }
  {
    const std::lock_guard lock(published_mutex_);
    published_.streaming = true;
    published_.tables = stream_->progress();
  }
  return stream(stop, once);
}

Status Daemon::pollIndices(const std::atomic<bool>& stop) {
  for (auto& i : indices_) {
    if (stop.load()) {
      return {};
    }
    auto polled = i.sync->poll(stop);
    if (!polled) {
      return fail(polled.error().code,
                  "reading documents back into " + i.table + ": " + polled.error().message);
    }
  }
  return {};
}

Status Daemon::stream(const std::atomic<bool>& stop, bool once) {
  const std::int64_t target = clock_.wallMicros();
  const milliseconds poll_interval = config_.changelog.poll_interval;
  CycleReport since_report;
  std::int64_t last_report = clock_.wallMicros();
  // The indices are read every to_cassandra.poll_interval; with `once`, the stream ends after a
  // read that began after it started.
  // A failing index is retried with backoff without holding up the change-log stream.
  auto next_index_poll = std::chrono::steady_clock::now();
  bool indices_read = indices_.empty();
  Backoff index_backoff({.initial = milliseconds(500),
                         .max = milliseconds(30'000),
                         .multiplier = 2.0,
                         .max_retries = std::nullopt});
  std::optional<std::chrono::steady_clock::time_point> index_failing_since;
  while (!stop.load()) {
    if (!indices_.empty() && std::chrono::steady_clock::now() >= next_index_poll) {
      auto polled = pollIndices(stop);
      publish(polled);
      const auto now = std::chrono::steady_clock::now();
      if (polled) {
        indices_read = true;
        index_backoff.reset();
        index_failing_since.reset();
        next_index_poll = now + config_.to_cassandra.poll_interval;
      } else {
        index_failing_since = index_failing_since.value_or(now);
        if (once &&
            (!isTransient(polled.error().code) || now - *index_failing_since > kOnceFaultBudget)) {
          return polled;
        }
        const auto delay = index_backoff.next().value_or(milliseconds(30'000));
        spdlog::warn("{} (retrying in {} ms)", polled.error().message, delay.count());
        next_index_poll = now + delay;
      }
    }
    CycleReport cycle;
    CESYNC_TRY(retrying(
        "streaming",
        [&]() -> Status {
          auto done = [&]() -> Status {
            CESYNC_ASSIGN_OR_RETURN(c, stream_->cycle());
            cycle = c;
            return stream_->saveCheckpoint(/*force=*/false);
          }();
          publish(done);
          return done;
        },
        stop, once));
    since_report.entries += cycle.entries - cycle.untracked;
    since_report.flushed.indexed += cycle.flushed.indexed;
    since_report.flushed.deleted += cycle.flushed.deleted;
    since_report.flushed.already_newer += cycle.flushed.already_newer;
    since_report.flushed.dead_letters += cycle.flushed.dead_letters;
    const std::int64_t now = clock_.wallMicros();
    if (since_report.entries > 0 && now - last_report >= kReportEveryMicros) {
      spdlog::info(
          "streamed {} entries: {} indexed, {} deleted, {} already newer, {} dead letters; lag "
          "{:.1f} s",
          since_report.entries, since_report.flushed.indexed, since_report.flushed.deleted,
          since_report.flushed.already_newer, since_report.flushed.dead_letters,
          secondsBetween(stream_->appliedThrough(), now));
      since_report = {};
      last_report = now;
    }
    if (once && stream_->caughtUpTo(target) && indices_read) {
      break;
    }
    if (!stream_->behind()) {
      sleepUnless(stop, poll_interval);
    }
  }
  CESYNC_TRY(stream_->saveCheckpoint(/*force=*/true));
  spdlog::info("stopped; checkpoint saved");
  return {};
}

}  // namespace cesync::sync
