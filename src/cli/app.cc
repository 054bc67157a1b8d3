#include "cli/app.h"

#include <CLI/CLI.hpp>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/version.h"
#include "common/logging.h"
#include "config/config_loader.h"
#include "ops/events.h"
#include "state/sqlite_checkpoint_store.h"
#include "sync/daemon.h"
#include "sync/endpoints.h"
#include "sync/mapping.h"
#include "sync/setup.h"
#include "sync/status_report.h"
#include "sync/verify/verify_output.h"
#include "util/base64.h"
#include "util/progress_display.h"

namespace cesync::cli {
namespace {

// Exit codes shared by every subcommand.
constexpr int kExitOk = 0;
constexpr int kExitError = 2;

// Errors are printed with every configured secret masked (a server may echo what it was sent).
int printError(const std::string& what) {
  std::cerr << "cesync: " << redactSecrets(what) << "\n";
  return kExitError;
}

// Masks the configuration's secrets in everything logged or printed from now on, and their
// encoded forms (basic auth sends base64 of user:password).
void registerSecrets(const config::Config& config) {
  addSecret(config.cassandra.password);
  addSecret(config.search.password);
  addSecret(config.search.api_key);
  if (!config.search.password.empty()) {
    addSecret(util::base64Encode(config.search.username + ":" + config.search.password));
  }
  if (!config.cassandra.password.empty()) {
    addSecret(util::base64Encode(config.cassandra.username + ":" + config.cassandra.password));
  }
}

Result<config::Config> loadConfig(const std::string& path) {
  return config::loadConfigFile(path, config::processEnv());
}

// Set by SIGTERM and SIGINT: stop reading, finish what is in flight, save and exit. A second
// SIGINT (Ctrl-C twice) ends the process at once; the checkpoint makes that safe too.
std::atomic<bool> g_stop{false};
// Whether the daemon logs JSON lines (its fatal errors then go to the log the same way).
bool g_json_logs = false;
// Set by SIGHUP: read the table list again.
std::atomic<bool> g_reload{false};

extern "C" void onSignal(int signal) {
  if (signal == SIGHUP) {
    g_reload.store(true);
    return;
  }
  if (signal == SIGINT && g_stop.load()) {
    _exit(130);
  }
  g_stop.store(true);
}

void installSignalHandlers() {
  struct sigaction action {};
  action.sa_handler = onSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGHUP, &action, nullptr);
}

// Bounds a stop: once g_stop is set, the process has `timeout` to drain and save, then ends
// with status 0 anyway. Nothing is lost either way: the checkpoint saved last only covers
// acknowledged work, and the rest is read again at the next start.
void startShutdownWatchdog(std::chrono::milliseconds timeout, sync::Daemon& daemon) {
  std::thread([timeout, &events = daemon.events()] {
    while (!g_stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::this_thread::sleep_for(timeout);
    events.log(ops::Event::kStopped, {},
               "stopped: in-flight work did not drain within sync.shutdown_timeout; the "
               "checkpoint saved last stands and the rest is read again at the next start");
    _exit(kExitOk);
  }).detach();
}

// Loads the configuration and sets up logging as it says; nullopt after printing the error.
std::optional<config::Config> loadForDaemon(const std::string& path) {
  auto config = loadConfig(path);
  if (!config) {
    std::cerr << config.error().message << "\n";
    return std::nullopt;
  }
  registerSecrets(*config);
  g_json_logs = config->log.format == "json";
  auto logging = setupLogging(config->log.format == "json" ? LogFormat::kJson : LogFormat::kText,
                              config->log.level);
  if (!logging) {
    std::cerr << "cesync: log.level: " << logging.error().message << "\n";
    return std::nullopt;
  }
  return std::move(*config);
}

// Both sides, connected as the configuration says.
struct Sides {
  std::unique_ptr<cql::Session> cassandra;
  std::unique_ptr<es::EsClient> search;
};

Result<Sides> connectSides(const config::Config& config, const Clock& clock) {
  CESYNC_ASSIGN_OR_RETURN(session, sync::connectCassandra(config));
  CESYNC_ASSIGN_OR_RETURN(search, sync::connectSearch(sync::searchClientOptions(config), clock));
  return Sides{std::move(session), std::move(search)};
}

int configCheck(const std::string& path) {
  auto config = loadConfig(path);
  if (!config) {
    std::cerr << config.error().message << "\n";
    return kExitError;
  }
  std::cout << path << ": ok, " << config->tables.size()
            << (config->tables.size() == 1 ? " table" : " tables") << "\n";
  for (const auto& t : config->tables) {
    std::cout << "  " << t.qualifiedName() << " -> " << t.index << " ("
              << config::directionName(t.direction) << ")\n";
  }
  return kExitOk;
}

int setup(const std::string& path) {
  auto config = loadConfig(path);
  if (!config) {
    std::cerr << config.error().message << "\n";
    return kExitError;
  }
  SystemClock clock;
  auto sides = connectSides(*config, clock);
  if (!sides) {
    return printError(sides.error().message);
  }
  auto done = sync::runSetup(*config, *sides->cassandra, *sides->search, std::cout);
  sides->cassandra->stop();
  if (!done) {
    return printError("setup failed: " + done.error().message);
  }
  std::cout << "setup complete\n";
  return kExitOk;
}

int mapping(const std::string& path, const std::string& table_name) {
  auto config = loadConfig(path);
  if (!config) {
    std::cerr << config.error().message << "\n";
    return kExitError;
  }
  const auto dot = table_name.find('.');
  if (dot == std::string::npos) {
    return printError("--table: expected keyspace.table, got '" + table_name + "'");
  }
  SystemClock clock;
  auto sides = connectSides(*config, clock);
  if (!sides) {
    return printError(sides.error().message);
  }
  auto schema = sync::loadTableSchema(*sides->cassandra, table_name.substr(0, dot),
                                      table_name.substr(dot + 1));
  sides->cassandra->stop();
  if (!schema) {
    return printError(schema.error().message);
  }
  std::cout << sync::indexBody(*schema, sides->search->server()) << "\n";
  return kExitOk;
}

// The daemon for `run` and `snapshot`, with logging set up and stop signals caught; nullptr
// after printing the error.
// A fatal error of the daemon: a JSON log line in JSON format, else a line on stderr.
int reportFatal(const std::string& what) {
  if (g_json_logs) {
    const LogField none[1] = {};
    logLine(Severity::kError, "fatal", std::span(none, 0), what);
    return kExitError;
  }
  return printError(what);
}

std::unique_ptr<sync::Daemon> openDaemon(const std::string& path, const Clock& clock) {
  auto config = loadForDaemon(path);
  if (!config) {
    return nullptr;
  }
  installSignalHandlers();
  auto daemon = sync::Daemon::open(*config, clock, [path]() -> Result<config::Config> {
    CESYNC_ASSIGN_OR_RETURN(fresh, loadConfig(path));
    return fresh;
  });
  if (!daemon) {
    reportFatal(daemon.error().message);
    return nullptr;
  }
  (*daemon)->events().set(ops::Event::kBuildInfo, {kVersion}, 1);
  (*daemon)->events().log(ops::Event::kStarting, {},
                          "cesync " + std::string(kVersion) + " started with " +
                              std::to_string(config->tables.size()) + " table(s) from " + path);
  startShutdownWatchdog(config->sync.shutdown_timeout, **daemon);
  return std::move(*daemon);
}

int run(const std::string& path, bool once) {
  SystemClock clock;
  auto daemon = openDaemon(path, clock);
  if (!daemon) {
    return kExitError;
  }
  auto done = daemon->run(g_stop, once, &g_reload);
  if (!done) {
    return reportFatal(done.error().message);
  }
  return kExitOk;
}

int snapshot(const std::string& path, const std::vector<std::string>& tables) {
  SystemClock clock;
  auto daemon = openDaemon(path, clock);
  if (!daemon) {
    return kExitError;
  }
  auto done = daemon->snapshot(tables, g_stop);
  if (!done) {
    if (done.error().code == ErrorCode::kCancelled) {
      return printError(
          "snapshot stopped before it finished; progress is saved, run it again "
          "to resume");
    }
    return printError(done.error().message);
  }
  return kExitOk;
}

int status(const std::string& path, bool json) {
  auto config = loadConfig(path);
  if (!config) {
    std::cerr << config.error().message << "\n";
    return kExitError;
  }
  // A daemon may be writing the state file: read it without taking its write lock. Before the
  // first run there is no file, and every table is reported as never run.
  const bool exists = std::filesystem::exists(config->state.path);
  auto store = exists ? state::SqliteCheckpointStore::openReadOnly(config->state.path)
                      : state::SqliteCheckpointStore::open(":memory:");
  if (!store && store.error().code == ErrorCode::kNotFound) {
    store = state::SqliteCheckpointStore::open(":memory:");
  }
  if (!store) {
    return printError("state.path: cannot open " + config->state.path + ": " +
                      store.error().message);
  }
  SystemClock clock;
  auto report = sync::StatusReport::read(*config, **store, clock);
  if (!report) {
    return printError(report.error().message);
  }
  std::cout << (json ? report->json() + "\n" : report->text());
  return kExitOk;
}

// Exit code of `verify` when differences were found.
constexpr int kExitDifferences = 1;

struct VerifyArgs {
  std::vector<std::string> tables;
  bool json = false;
  bool repair = false;
  double rate = 0;
  std::size_t examples = 10;
  double recheck_after_seconds = 5;
};

int verify(const std::string& path, const VerifyArgs& args) {
  auto config = loadForDaemon(path);
  if (!config) {
    return kExitError;
  }
  std::vector<const config::TableConfig*> chosen;
  for (const auto& t : config->tables) {
    if (args.tables.empty() ||
        std::find(args.tables.begin(), args.tables.end(), t.qualifiedName()) != args.tables.end()) {
      chosen.push_back(&t);
    }
  }
  for (const auto& name : args.tables) {
    if (std::none_of(chosen.begin(), chosen.end(),
                     [&](const auto* t) { return t->qualifiedName() == name; })) {
      return printError("--table " + name + ": not a table of " + path);
    }
  }
  installSignalHandlers();
  SystemClock clock;
  auto sides = connectSides(*config, clock);
  if (!sides) {
    return printError(sides.error().message);
  }
  auto consistency = sync::parseConsistency(config->cassandra.consistency);
  if (!consistency) {
    return printError(consistency.error().message);
  }
  // A repair dead-letters the rows the index refuses where the daemon does (WAL: the daemon may
  // be running).
  std::unique_ptr<state::SqliteCheckpointStore> store;
  if (args.repair) {
    auto opened = state::SqliteCheckpointStore::open(config->state.path);
    if (!opened) {
      sides->cassandra->stop();
      return printError("state.path " + config->state.path + ": " + opened.error().message);
    }
    store = std::move(*opened);
  }
  std::vector<sync::TableVerify> results;
  for (const auto* t : chosen) {
    const std::string name = t->qualifiedName();
    auto schema = sync::loadTableSchema(*sides->cassandra, t->keyspace, t->table);
    if (!schema) {
      sides->cassandra->stop();
      return printError(schema.error().message);
    }
    sync::VerifyOptions options;
    options.index = t->index;
    options.search = sync::searchClientOptions(*config);
    options.ranges = std::max<std::uint32_t>(1, config->snapshot.ranges);
    options.parallelism = std::max<std::uint32_t>(1, config->snapshot.parallelism);
    options.page_size =
        static_cast<std::int32_t>(std::clamp<std::uint32_t>(config->snapshot.page_size, 1, 10'000));
    options.consistency = *consistency;
    // Tables synced both ways carry internal versions: only their content can be compared.
    options.compare_versions = t->direction == config::Direction::kToSearch;
    options.max_rows_per_second = args.rate;
    options.examples = args.examples;
    options.recheck_after = std::chrono::milliseconds(
        static_cast<std::int64_t>(std::max(0.0, args.recheck_after_seconds) * 1000));
    options.on_retry = [name](const std::string& message) {
      const LogField fields[] = {{"table", name}};
      logLine(Severity::kWarn, "verify_retry", fields, message);
    };
    if (args.repair) {
      sync::RepairOptions repair;
      repair.store = store.get();
      repair.limits.max_bytes = config->search.bulk_max_bytes;
      if (t->direction == config::Direction::kBoth) {
        repair.timestamp_column = t->timestamp_column;
      }
      options.repair = std::move(repair);
    }

    util::ProgressDisplay::Options shown;
    shown.label = "verify " + name;
    shown.mode = util::ProgressDisplay::detect(STDERR_FILENO);
    util::ProgressDisplay display(
        shown,
        [terminal = shown.mode == util::ProgressDisplay::Mode::kTerminal](std::string_view text) {
          std::cerr << text << (terminal ? "" : "\n");
        },
        clock);
    auto progress = [&](const sync::VerifyProgress& p) {
      display.update({p.ranges == 0
                          ? -1.0
                          : static_cast<double>(p.ranges_done) / static_cast<double>(p.ranges),
                      p.rows});
    };
    sync::Verifier verifier(*sides->cassandra, std::move(*schema), options, clock);
    auto report = verifier.run(&g_stop, progress);
    if (!report) {
      sides->cassandra->stop();
      return printError("verify of " + name + ": " + report.error().message);
    }
    display.finish({1.0, report->rows});
    results.push_back({name, t->index, options.compare_versions, std::move(*report)});
  }
  sides->cassandra->stop();
  std::cout << (args.json ? sync::verifyJson(results) + "\n" : sync::verifyText(results));
  const bool clean =
      std::all_of(results.begin(), results.end(), [](const auto& r) { return r.report.clean(); });
  return clean ? kExitOk : kExitDifferences;
}

}  // namespace

int runApp(int argc, char** argv) {
  CLI::App app{
      "cesync keeps Apache Cassandra tables and Elasticsearch/OpenSearch indices in sync, "
      "incrementally and in both directions."};
  app.set_version_flag("--version", std::string("cesync ") + kVersion);
  app.require_subcommand(0, 1);
  std::string config_path;

  auto* setup_cmd = app.add_subcommand(
      "setup",
      "Create the change-log table, install the trigger on the configured tables and create "
      "missing indices (idempotent)");
  setup_cmd->add_option("--config,-c", config_path, "Configuration file (YAML)")->required();

  std::string table;
  auto* mapping_cmd = app.add_subcommand(
      "mapping", "Print the index settings and mapping derived from a table's CQL schema");
  mapping_cmd->add_option("--config,-c", config_path, "Configuration file (YAML)")->required();
  mapping_cmd->add_option("--table,-t", table, "The table, as keyspace.table")->required();

  bool once = false;
  auto* run_cmd = app.add_subcommand(
      "run",
      "Run the daemon: snapshot tables never copied, then stream every change to the index, and "
      "documents edited in the index back to tables synced both ways (SIGTERM or Ctrl-C stops "
      "it after saving its checkpoints; SIGHUP reloads the tables list; docs/OPERATIONS.md)");
  run_cmd->add_option("--config,-c", config_path, "Configuration file (YAML)")->required();
  run_cmd->add_flag("--once", once,
                    "Catch up with every change made before the start, then exit (0 on "
                    "success)");

  std::vector<std::string> snapshot_tables;
  auto* snapshot_cmd = app.add_subcommand(
      "snapshot",
      "Copy every row of the tables into their indices now (resumes an unfinished snapshot)");
  snapshot_cmd->add_option("--config,-c", config_path, "Configuration file (YAML)")->required();
  snapshot_cmd->add_option("--table,-t", snapshot_tables,
                           "Only this table, as keyspace.table (repeatable; default: all)");

  VerifyArgs verify_args;
  auto* verify_cmd = app.add_subcommand(
      "verify",
      "Compare tables with their indices and report missing, extra and stale documents "
      "(read-only unless --repair); exit 0 when in sync or all repaired, 1 when differences "
      "remain, 2 on error");
  verify_cmd->add_option("--config,-c", config_path, "Configuration file (YAML)")->required();
  verify_cmd->add_option("--table,-t", verify_args.tables,
                         "Only this table, as keyspace.table (repeatable; default: all)");
  verify_cmd->add_flag("--json", verify_args.json, "Print one JSON object");
  verify_cmd->add_flag("--repair", verify_args.repair,
                       "Fix each difference through the daemon's versioned write path (safe "
                       "while the daemon runs; Cassandra decides what exists) and report what "
                       "was written");
  verify_cmd
      ->add_option("--recheck-after", verify_args.recheck_after_seconds,
                   "Seconds after which a difference is read again; only those still there are "
                   "reported (default 5: writes in flight are not differences)")
      ->check(CLI::NonNegativeNumber);
  verify_cmd->add_option("--rate", verify_args.rate, "Rows read per second at most (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  verify_cmd->add_option("--examples", verify_args.examples,
                         "Differences of each kind listed per table (default 10)");

  bool json = false;
  auto* status_cmd = app.add_subcommand(
      "status", "Show each table's snapshot, checkpoint, lag, counts and latest dead letters");
  status_cmd->add_option("--config,-c", config_path, "Configuration file (YAML)")->required();
  status_cmd->add_flag("--json", json, "Print one JSON object");

  auto* config_cmd = app.add_subcommand("config", "Check a configuration file or print defaults");
  config_cmd->require_subcommand(1);
  auto* check = config_cmd->add_subcommand(
      "check", "Validate a configuration file; errors name the key, line and column");
  check->add_option("--config,-c", config_path, "Configuration file (YAML)")->required();
  auto* defaults = config_cmd->add_subcommand(
      "print-defaults", "Print every setting with its default and documentation, as YAML");
  auto* reference = config_cmd->add_subcommand(
      "print-reference", "Print every setting as a Markdown table (docs/CONFIG.md)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (setup_cmd->parsed()) {
    return setup(config_path);
  }
  if (run_cmd->parsed()) {
    return run(config_path, once);
  }
  if (snapshot_cmd->parsed()) {
    return snapshot(config_path, snapshot_tables);
  }
  if (verify_cmd->parsed()) {
    return verify(config_path, verify_args);
  }
  if (status_cmd->parsed()) {
    return status(config_path, json);
  }
  if (mapping_cmd->parsed()) {
    return mapping(config_path, table);
  }
  if (check->parsed()) {
    return configCheck(config_path);
  }
  if (defaults->parsed()) {
    std::cout << config::renderDefaults();
    return kExitOk;
  }
  if (reference->parsed()) {
    std::cout << config::renderReference();
    return kExitOk;
  }
  std::cout << app.help();
  return kExitOk;
}

}  // namespace cesync::cli
