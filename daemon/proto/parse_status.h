// ParseStatus: the result of every protocol parser over untrusted bytes.
#pragma once

#include <cstdint>

namespace flightwall {

enum class ParseStatus : std::uint8_t {
  kOk,         // a complete message was parsed
  kNeedMore,   // the bytes are a valid prefix; call again with more
  kNotMine,    // the bytes are clearly not this protocol
  kMalformed,  // this protocol, but inconsistent or hostile
  kTooLarge,   // this protocol and valid so far, but larger than the parser reassembles
};

}  // namespace flightwall
