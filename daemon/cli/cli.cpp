#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace flightwall {

int RunCli(int argc, char** argv) {
  CLI::App app{"flightwall: enforce and verify local data mode for drone flight apps"};
  app.require_subcommand(1);
  app.set_version_flag("--version", FLIGHTWALL_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return 0;
}

}  // namespace flightwall
