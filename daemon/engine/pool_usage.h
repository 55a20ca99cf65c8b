// How full the engine's inspection pools are (engine/inspection_pools.h:
// slots that hold a flow's bytes while its name is read), for metrics and
// `flightwall status`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace flightwall {

enum class InspectionPool : std::uint8_t { kStream, kQuic, kDnsTcp };
inline constexpr std::size_t kInspectionPools = 3;
constexpr const char* InspectionPoolName(InspectionPool p) {
  switch (p) {
    case InspectionPool::kStream:
      return "stream";
    case InspectionPool::kQuic:
      return "quic";
    case InspectionPool::kDnsTcp:
      return "dns_tcp";
  }
  return "?";
}
struct PoolUse {
  std::uint64_t in_use = 0;
  std::uint64_t capacity = 0;
  std::uint64_t exhausted = 0;  // newcomers denied for want of a slot (cumulative)
};
using PoolUsage = std::array<PoolUse, kInspectionPools>;

}  // namespace flightwall
