// The enforcing daemon (`flightwall run`): binds the NFQUEUE(s), installs
// the interception rules, runs one worker thread per queue through the
// Enforcer, and handles signals: SIGHUP reloads config and policy
// atomically (a broken file keeps the running policy), SIGUSR1 reopens the
// event log, SIGTERM/SIGINT drain and exit, removing the rules unless the
// policy is in lockdown mode. Talks to systemd with sd_notify (READY,
// STATUS, WATCHDOG) when run under it.
#pragma once

#include <string>

#include "common/status.h"
#include "policy/policy.h"
#include "service/daemon_config.h"

namespace flightwall {

// Runs until SIGTERM/SIGINT. Returns the process exit code: 0 after a clean
// shutdown, 2 when configuration or setup fails (the reason is on stderr).
int RunDaemon(const std::string& config_path);

// Ok when `next` allows nothing that `current` does not (used by lockdown
// mode to refuse loosening reloads); otherwise the error names the first
// loosening found ("the new policy adds DNS port 5353").
Status PolicyIsNoLooser(const Policy& current, const Policy& next);
// The same for the daemon config: fail-open or another intercept mode
// loosen enforcement.
Status ConfigIsNoLooser(const DaemonConfig& current, const DaemonConfig& next);

}  // namespace flightwall
