#include "sink/audit_inputs.h"

namespace flightwall {

void AddCaptureInputs(const PcapSource& source, AuditReport& report) {
  for (const PcapInputInfo& in : source.Inputs()) {
    InputSummary s;
    s.path = in.path;
    s.sha256 = in.sha256;
    s.link_type = in.link_type_name;
    s.packets = in.packets;
    s.first_time = in.first_time;
    s.last_time = in.last_time;
    for (const auto& w : source.Warnings()) {
      if (w.rfind(in.path + ":", 0) == 0) s.warnings.push_back(w);
    }
    if (in.damaged) {
      report.AddEvidenceProblem(
          {in.truncated ? kEvidenceTruncatedFile : kEvidenceUnreadableFile,
           in.path + ": after packet " + std::to_string(in.packets) + ", byte " +
               std::to_string(in.damage_offset) + " of " + std::to_string(in.size_bytes),
           "the rest of the file could not be read, so what it held was not checked; audit "
           "the complete capture"});
    }
    report.AddInput(std::move(s));
  }
}

void NoteCutPacket(const RawPacket& raw, const PacketOutcome& outcome, const std::string& input,
                   AuditReport& report) {
  if (raw.data.size() >= raw.wire_length) return;
  const bool governed = outcome.verdict != Verdict::kNotGoverned ||
                        (outcome.flow != nullptr && outcome.flow->app >= 0);
  if (!governed && outcome.decode != DecodeStatus::kMalformed) return;
  report.AddEvidenceProblem(
      {kEvidenceSnaplen, input + ": packet " + std::to_string(raw.number),
       "only " + std::to_string(raw.data.size()) + " of " + std::to_string(raw.wire_length) +
           " bytes were captured" + (governed ? " of a flight-app packet" : "") +
           ", so names or data in the rest cannot be checked; capture whole packets (tcpdump -s "
           "0)"});
}

}  // namespace flightwall
