// The command-line front end: `flightwall check|audit|...`.
// Exit codes: 0 success / clean, 1 findings (leaks), 2 usage or input error.
#pragma once

namespace flightwall {

int RunCli(int argc, char** argv);

}  // namespace flightwall
