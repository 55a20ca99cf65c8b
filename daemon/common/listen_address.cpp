#include "common/listen_address.h"

#include <arpa/inet.h>

#include <string>

namespace flightwall {

bool ValidListenAddress(std::string_view a) {
  const std::size_t colon = a.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == a.size() || a.size() - colon - 1 > 5) {
    return false;
  }
  unsigned port = 0;
  for (std::size_t i = colon + 1; i < a.size(); ++i) {
    if (a[i] < '0' || a[i] > '9') return false;
    port = port * 10 + static_cast<unsigned>(a[i] - '0');
  }
  if (port > 65535) return false;
  const std::string_view host = a.substr(0, colon);
  unsigned char buf[16];
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return inet_pton(AF_INET6, std::string(host.substr(1, host.size() - 2)).c_str(), buf) == 1;
  }
  return inet_pton(AF_INET, std::string(host).c_str(), buf) == 1;
}

}  // namespace flightwall
