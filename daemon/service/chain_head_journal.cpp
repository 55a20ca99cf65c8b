#include "service/chain_head_journal.h"

#include <syslog.h>
#include <systemd/sd-journal.h>

#include <cstdlib>
#include <iostream>
#include <string>

namespace flightwall {

bool PublishChainHead(const EventLogFile& file, ChainMode mode, std::string_view event) {
  const ChainHead head = file.Head();
  const std::string seq = std::to_string(head.seq);
  const std::string mode_name(ChainModeName(mode));
  const std::string at(event);
  const std::string message = "flightwall event chain head seq=" + seq +
                              " hash=" + (head.hash.empty() ? "none" : head.hash) +
                              " file=" + file.Path() + " mode=" + mode_name + " at=" + at;
  const int rc = sd_journal_send(
      "MESSAGE=%s", message.c_str(), "PRIORITY=%d", LOG_INFO, "SYSLOG_IDENTIFIER=flightwall",
      "FLIGHTWALL_CHAIN_SEQ=%s", seq.c_str(), "FLIGHTWALL_CHAIN_HEAD=%s", head.hash.c_str(),
      "FLIGHTWALL_CHAIN_FILE=%s", file.Path().c_str(), "FLIGHTWALL_CHAIN_MODE=%s",
      mode_name.c_str(), "FLIGHTWALL_CHAIN_EVENT=%s", at.c_str(), nullptr);
  // systemd sets JOURNAL_STREAM when stderr already is the journal.
  if (std::getenv("JOURNAL_STREAM") == nullptr) std::cerr << message << std::endl;
  return rc >= 0;
}

}  // namespace flightwall
