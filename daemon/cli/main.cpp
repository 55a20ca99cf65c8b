// flightwall's entry point: parse the command line and hand off to a command.
#include "cli/commands.h"

int main(int argc, char** argv) { return flightwall::RunCli(argc, argv); }
