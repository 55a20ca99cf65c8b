// LiveCapture: packets from a network interface through libpcap, for
// `flightwall audit --live`. It applies a BPF filter, optionally writes every
// packet it hands out to a pcap file (rotated at a size limit: FILE, FILE.1,
// FILE.2, ...), and reports the kernel's and the interface's drops
// (pcap_stats), which make an audit inconclusive.
//
// Poll() waits at most the time it is given, so the caller can refresh a
// status line and notice a stop request (a signal handler setting a flag:
// poll() returns early on the signal). A RawPacket's bytes belong to libpcap
// and stay valid until the next Poll(). Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "source/raw_packet.h"

typedef struct pcap pcap_t;
typedef struct pcap_dumper pcap_dumper_t;

namespace flightwall {

// The BPF filter of a live capture that keeps traffic from or to `nets`
// (CIDRs such as "192.0.2.0/24") and all DNS (port 53), on untagged frames
// and on frames with one or two 802.1Q/802.1ad tags (a trunk or a
// provider's QinQ port: BPF's `vlan` shifts the offsets of what follows it).
// Empty `nets` gives "" (everything).
std::string LiveCaptureFilterFor(const std::vector<std::string>& nets);

struct LiveCaptureOptions {
  std::string interface;
  std::string filter;              // BPF expression; empty captures everything
  std::string write_path;          // empty: keep nothing
  std::uint64_t rotate_bytes = 0;  // start a new file past this size; 0 = never
  int buffer_kb = 0;               // kernel capture buffer; 0 = libpcap's default
  int snaplen = 262144;            // whole packets: names must be seen
};

struct LiveCaptureCounts {
  std::uint64_t received = 0;
  std::uint64_t dropped_kernel = 0;
  std::uint64_t dropped_interface = 0;
};

enum class LivePoll : std::uint8_t {
  kPacket,  // *out holds a packet
  kIdle,    // nothing within the wait (or a signal came): ask again or stop
  kError,   // the capture failed; Error() says why, no more packets
};

class LiveCapture {
 public:
  // On failure the Status names the interface (or the file to write) and says what to do.
  static Result<std::unique_ptr<LiveCapture>> Open(const LiveCaptureOptions& options);
  ~LiveCapture();
  LiveCapture(const LiveCapture&) = delete;
  LiveCapture& operator=(const LiveCapture&) = delete;

  LivePoll Poll(RawPacket* out, int wait_ms);
  // Counts so far (pcap_stats; zeros when libpcap cannot say).
  LiveCaptureCounts Counts() const;
  // Pushes what was written so far to the file (call about once a second,
  // so a capture that is killed loses at most that much).
  void Flush();
  // Flushes and closes the written file; an error when writing failed at any
  // point. Call once, at the end.
  Status FinishWriting();

  const std::string& Error() const { return error_; }
  const std::vector<std::string>& WrittenFiles() const { return files_; }
  std::uint64_t Packets() const { return packets_; }
  LinkType Link() const { return link_; }

 private:
  LiveCapture() = default;
  bool OpenNextFile();

  LiveCaptureOptions options_;
  pcap_t* handle_ = nullptr;
  pcap_dumper_t* dumper_ = nullptr;
  int fd_ = -1;
  LinkType link_ = LinkType::kEthernet;
  std::vector<std::string> files_;
  std::string error_;
  std::string write_error_;
  std::uint64_t packets_ = 0;
};

}  // namespace flightwall
