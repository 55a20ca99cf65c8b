// RecentDenials: the last few denied flows and DNS questions, for
// `flightwall status` (what an operator asks first: what was just blocked).
//
// A small bounded ring (kCapacity entries, oldest overwritten) of plain
// copies. The daemon's event writer thread adds to it as it formats each
// decided event (EventWriter::SetRecentDenials); the status reader copies it
// out. Both take the one mutex; the packet workers never touch it, so a
// status request can never slow a verdict.
// Thread-safety: Add and Snapshot may be called from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "common/timestamp.h"

namespace flightwall {

struct Denial {
  Timestamp time = 0;    // when the flow began / the question was asked (wall clock, us)
  std::string event;     // "flow" or "dns"
  std::string app;       // flight_apps name ("" when unknown)
  std::string protocol;  // tcp, udp, icmp, ...
  std::string dst;       // destination address
  std::uint16_t dport = 0;
  std::string hostname;  // the name the flow revealed or the question asked ("" if none)
  std::string reason;    // ReasonName of the decision
  std::string action;    // dropped | would-drop (policy mode audit)
};

class RecentDenials {
 public:
  static constexpr std::size_t kCapacity = 10;

  void Add(Denial denial);
  // Oldest first, at most kCapacity.
  std::vector<Denial> Snapshot() const;
  // Denials added since start (including those already overwritten).
  std::uint64_t Total() const;

 private:
  mutable std::mutex mutex_;
  std::array<Denial, kCapacity> ring_;  // guarded by mutex_
  std::uint64_t added_ = 0;             // guarded by mutex_
};

}  // namespace flightwall
