// `flightwall audit FILE...`: the capture-file source, with a progress bar
// on a terminal for long runs.
#include <unistd.h>

#include <iostream>

#include "cli/audit_feed.h"
#include "sink/audit_inputs.h"
#include "sink/progress_bar.h"
#include "source/pcap_source.h"

namespace flightwall {

FeedResult FeedCaptureFiles(const AuditOptions& o, Engine& engine, AuditReport& report) {
  Result<std::unique_ptr<PcapSource>> opened = PcapSource::Open(o.captures);
  if (!opened.ok()) {
    std::cerr << "flightwall audit: " << opened.status().ToString() << "\n";
    return {};
  }
  const std::unique_ptr<PcapSource> source = std::move(opened).value();
  ProgressBar progress(std::cerr, source->TotalBytes(), !o.quiet && isatty(STDERR_FILENO) == 1);
  RawPacket raw;
  while (source->Next(&raw)) {
    const PacketOutcome outcome = engine.Process(raw);
    if (raw.data.size() < raw.wire_length) {
      NoteCutPacket(raw, outcome, source->Inputs()[raw.input_index].path, report);
    }
    const auto now = ProgressBar::Clock::now();
    if (progress.Due(now)) progress.Draw(source->BytesRead(), now);
  }
  progress.Clear();

  AddCaptureInputs(*source, report);
  return {true, true};
}

}  // namespace flightwall
