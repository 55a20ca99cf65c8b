// PacketDecoder: link layer -> IPv4/IPv6 (+ fragment reassembly) -> TCP/UDP/ICMP.
//
// Decode() never throws and never reads past the frame. It owns an
// IpReassembler with bounded memory; a fragment that does not complete a
// datagram yields kHeld (so does one dropped for lack of room: see
// Stats().fragment_evictions). IP protocols other than TCP, UDP, ICMP and
// ICMPv6 decode as kOk with ports 0, so the flow stage still sees them.
// Not thread-safe: one decoder per worker thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "decode/decoded_packet.h"
#include "source/raw_packet.h"

namespace flightwall {

enum class DecodeStatus : std::uint8_t {
  kOk,           // out is filled
  kHeld,         // an IP fragment was stored; the datagram is not complete yet
  kNotIp,        // ARP, LLDP, ... : nothing for the engine
  kUnsupported,  // a link type or protocol the decoder does not handle
  kMalformed,    // truncated or inconsistent headers; LastError() says which
};

struct DecoderLimits {
  std::size_t max_datagrams_in_reassembly = 1024;      // concurrent incomplete datagrams
  std::size_t max_reassembly_bytes = 8 * 1024 * 1024;  // total bytes held in fragments
  Timestamp fragment_timeout = 30 * 1000000;           // RFC 791 suggests 15 s minimum
};

struct DecoderStats {
  std::uint64_t packets = 0;
  std::uint64_t malformed = 0;
  std::uint64_t not_ip = 0;
  std::uint64_t unsupported = 0;
  std::uint64_t fragments = 0;
  std::uint64_t reassembled = 0;
  std::uint64_t fragment_evictions = 0;  // dropped for space or timeout
  std::uint64_t fragment_overlaps = 0;   // inconsistent overlaps (datagram discarded)
};

class IpReassembler;
struct Fragment;

class PacketDecoder {
 public:
  explicit PacketDecoder(const DecoderLimits& limits = {});
  ~PacketDecoder();
  PacketDecoder(const PacketDecoder&) = delete;
  PacketDecoder& operator=(const PacketDecoder&) = delete;

  DecodeStatus Decode(const RawPacket& raw, DecodedPacket* out);
  // Why the last Decode() returned kMalformed/kUnsupported (static string).
  std::string_view LastError() const { return last_error_; }
  const DecoderStats& Stats() const { return stats_; }

 private:
  DecodeStatus DecodeIpv4(std::span<const std::uint8_t> data, DecodedPacket* out);
  DecodeStatus DecodeIpv6(std::span<const std::uint8_t> data, DecodedPacket* out);
  DecodeStatus Reassemble(const Fragment& fragment, std::span<const std::uint8_t>* datagram,
                          DecodedPacket* out);
  DecodeStatus Fail(DecodeStatus status, const char* why);

  std::unique_ptr<IpReassembler> reassembler_;
  DecoderStats stats_;
  std::string_view last_error_;
};

}  // namespace flightwall
