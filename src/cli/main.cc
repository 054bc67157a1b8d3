#include <csignal>

#include "cli/app.h"

int main(int argc, char** argv) {
  // A peer that closes a connection must be an error value on that connection, not the end of
  // the process (libcurl cannot keep every write from raising SIGPIPE).
  std::signal(SIGPIPE, SIG_IGN);
  return cesync::cli::runApp(argc, argv);
}
