#include "cli/app.h"

#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/version.h"

namespace cesync::cli {

int runApp(int argc, char** argv) {
  CLI::App app{
      "cesync keeps Apache Cassandra tables and Elasticsearch/OpenSearch indices in sync, "
      "incrementally and in both directions."};
  app.set_version_flag("--version", std::string("cesync ") + kVersion);
  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (app.get_subcommands().empty()) {
    std::cout << app.help();
  }
  return 0;
}

}  // namespace cesync::cli
