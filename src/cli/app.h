#pragma once

namespace cesync::cli {

/// Parses the command line and runs the chosen subcommand; returns the process exit code.
int runApp(int argc, char** argv);

}  // namespace cesync::cli
