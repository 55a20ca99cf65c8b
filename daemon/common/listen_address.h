// The form of an address a server listens on ("metrics.listen"): one
// numeric address and a numeric port, "A.B.C.D:PORT" or "[V6]:PORT".
// Checked when the config loads (file:line) and again before listening.
#pragma once

#include <string_view>

namespace flightwall {

// True for "A.B.C.D:PORT" or "[V6]:PORT", PORT 0-65535. civetweb accepts
// more (lists, 's' suffixes, bare ports) that a config value must not
// smuggle in.
bool ValidListenAddress(std::string_view address);

}  // namespace flightwall
