// What the sources of `flightwall audit` tell the AuditReport about their
// evidence: the inputs (files with hashes and counts) and the problems only a
// source can see, a damaged file or a packet cut by the snap length. Kept
// apart from the CLI so the rules are tested with real pcap files.
#pragma once

#include <string>

#include "engine/engine.h"
#include "sink/audit_report.h"
#include "source/pcap_source.h"

namespace flightwall {

// Once `source` is exhausted: one InputSummary per file, and a
// truncated-file / unreadable-file problem for each damaged one.
void AddCaptureInputs(const PcapSource& source, AuditReport& report);

// A packet of a flight app (or one too short to decode) whose bytes were cut
// by the capture's snap length hides what it carried: a snaplen problem.
// `input` names where it came from (a file, "live:IFACE").
void NoteCutPacket(const RawPacket& raw, const PacketOutcome& outcome, const std::string& input,
                   AuditReport& report);

}  // namespace flightwall
