#include "cli/app.h"

int main(int argc, char** argv) {
  return cesync::cli::runApp(argc, argv);
}
