#include "cli/app.h"

#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/version.h"
#include "config/config_loader.h"

namespace cesync::cli {
namespace {

// Exit codes shared by every subcommand.
constexpr int kExitOk = 0;
constexpr int kExitError = 2;

int configCheck(const std::string& path) {
  auto config = config::loadConfigFile(path, config::processEnv());
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

}  // namespace

int runApp(int argc, char** argv) {
  CLI::App app{
      "cesync keeps Apache Cassandra tables and Elasticsearch/OpenSearch indices in sync, "
      "incrementally and in both directions."};
  app.set_version_flag("--version", std::string("cesync ") + kVersion);
  app.require_subcommand(0, 1);

  auto* config_cmd = app.add_subcommand("config", "Check a configuration file or print defaults");
  config_cmd->require_subcommand(1);
  std::string config_path;
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
