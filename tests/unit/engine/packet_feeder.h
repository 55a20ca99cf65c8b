// PacketFeeder: hands hand-built IP packets to an Engine as a source would
// (numbered, 1 ms apart, each frame kept alive for the engine's views).
#pragma once

#include <vector>

#include "engine/engine.h"
#include "unit/decode/frame_builder.h"

namespace flightwall::testing {

class PacketFeeder {
 public:
  PacketOutcome Send(Engine& engine, const Bytes& ip_packet) {
    frames_.push_back(ip_packet);
    RawPacket raw;
    raw.number = ++number_;
    raw.time = time += 1000;
    raw.link = LinkType::kRaw;
    raw.data = frames_.back();
    raw.wire_length = static_cast<std::uint32_t>(raw.data.size());
    return engine.Process(raw);
  }
  Timestamp time = 1'700'000'000LL * kMicrosPerSecond;  // of the last packet; tests may jump it

 private:
  std::vector<Bytes> frames_;
  std::uint64_t number_ = 0;
};

}  // namespace flightwall::testing
