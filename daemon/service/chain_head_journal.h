// PublishChainHead: records the event chain's head (EventLogFile::Head(),
// the seq and hash of the log's last line) in the systemd journal, which
// the event log's writer can append to but not rewrite. An auditor later
// checks the log against it with `flightwall verify-log --expect-seq N
// --expect-head H`, which catches lines cut off the end and a log rewritten
// with a fresh chain (neither breaks the chain itself).
//
// The daemon publishes at start, after every reopen (logrotate) and at stop.
// Fields: MESSAGE ("flightwall event chain head seq=N hash=H ..."),
// FLIGHTWALL_CHAIN_SEQ, FLIGHTWALL_CHAIN_HEAD (all 64 hex digits),
// FLIGHTWALL_CHAIN_FILE, FLIGHTWALL_CHAIN_MODE (sha256 | hmac-sha256) and
// FLIGHTWALL_CHAIN_EVENT (start | reopen | stop); find them with
//   journalctl -t flightwall FLIGHTWALL_CHAIN_FILE=/var/log/flightwall/events.jsonl
// When stderr is not the journal (not run by systemd) the MESSAGE line also
// goes to stderr, so the head is never only inside the file it vouches for.
// Thread-safe (sd_journal_send is; Head() locks the file).
#pragma once

#include <string_view>

#include "sink/event_log_file.h"
#include "sink/log_verifier.h"

namespace flightwall {

// False when the journal did not take the entry (no journald socket).
bool PublishChainHead(const EventLogFile& file, ChainMode mode, std::string_view event);

}  // namespace flightwall
