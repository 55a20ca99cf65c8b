#include "decode/packet_decoder.h"

#include "decode/ip_reassembler.h"
#include "decode/ipv4_decoder.h"
#include "decode/ipv6_decoder.h"
#include "decode/link_decoder.h"
#include "decode/transport_decoder.h"

namespace flightwall {
namespace {

// DecodeTransport() on the IP payload `transport`. A capture may cut the
// datagram short: the bytes it lacks still count as TCP payload (UDP
// declares its own length), so a reply acknowledges what was sent.
const char* DecodeTransportOf(std::span<const std::uint8_t> transport, DecodedPacket* out) {
  if (const char* why = DecodeTransport(transport, out)) return why;
  if (out->protocol == static_cast<std::uint8_t>(IpProto::kTcp) &&
      out->ip_length >= out->transport_offset &&
      out->ip_length - out->transport_offset > transport.size()) {
    out->payload_length +=
        out->ip_length - out->transport_offset - static_cast<std::uint32_t>(transport.size());
  }
  return nullptr;
}

}  // namespace

PacketDecoder::PacketDecoder(const DecoderLimits& limits)
    : reassembler_(std::make_unique<IpReassembler>(limits)) {}

PacketDecoder::~PacketDecoder() = default;

DecodeStatus PacketDecoder::Fail(DecodeStatus status, const char* why) {
  last_error_ = why;
  if (status == DecodeStatus::kMalformed) ++stats_.malformed;
  if (status == DecodeStatus::kUnsupported) ++stats_.unsupported;
  return status;
}

DecodeStatus PacketDecoder::Decode(const RawPacket& raw, DecodedPacket* out) {
  *out = DecodedPacket{};
  out->number = raw.number;
  out->time = raw.time;
  last_error_ = {};
  ++stats_.packets;

  const LinkResult link = DecodeLink(raw.link, raw.data);
  switch (link.status) {
    case LinkStatus::kIp:
      break;
    case LinkStatus::kNotIp:
      ++stats_.not_ip;
      return DecodeStatus::kNotIp;
    case LinkStatus::kUnsupported:
      return Fail(DecodeStatus::kUnsupported, link.error);
    case LinkStatus::kMalformed:
      return Fail(DecodeStatus::kMalformed, link.error);
  }
  return link.ip_version == 4 ? DecodeIpv4(link.network, out) : DecodeIpv6(link.network, out);
}

DecodeStatus PacketDecoder::DecodeIpv4(std::span<const std::uint8_t> data, DecodedPacket* out) {
  Ipv4Header ip;
  if (const char* why = ParseIpv4(data, &ip)) return Fail(DecodeStatus::kMalformed, why);
  out->src = ip.src;
  out->dst = ip.dst;
  out->protocol = ip.protocol;
  out->ttl = ip.ttl;
  out->ip_length = ip.total_length;
  out->truncated = ip.truncated;
  out->transport_offset = ip.header_length;
  std::span<const std::uint8_t> payload = ip.payload;
  if (ip.IsFragment()) {
    if (ip.truncated) return Fail(DecodeStatus::kMalformed, "IP fragment truncated by the capture");
    // The ping of death: fragments that add up to more than an IP datagram can hold.
    if (ip.header_length + ip.fragment_offset + ip.payload.size() > 65535) {
      return Fail(DecodeStatus::kMalformed, "IPv4 fragment ends beyond 65535 bytes");
    }
    Fragment fragment;
    fragment.key = {ip.src, ip.dst, ip.id, ip.protocol};
    fragment.offset = ip.fragment_offset;
    fragment.more_fragments = ip.more_fragments;
    fragment.data = ip.payload;
    fragment.protocol = ip.protocol;
    fragment.ttl = ip.ttl;
    fragment.time = out->time;
    const DecodeStatus status = Reassemble(fragment, &payload, out);
    if (status != DecodeStatus::kOk) return status;
    out->ip_length = ip.header_length + static_cast<std::uint32_t>(payload.size());
  }
  if (const char* why = DecodeTransportOf(payload, out)) return Fail(DecodeStatus::kMalformed, why);
  return DecodeStatus::kOk;
}

DecodeStatus PacketDecoder::DecodeIpv6(std::span<const std::uint8_t> data, DecodedPacket* out) {
  Ipv6Header ip;
  if (const char* why = ParseIpv6(data, &ip)) return Fail(DecodeStatus::kMalformed, why);
  out->src = ip.src;
  out->dst = ip.dst;
  out->protocol = ip.chain.protocol;
  out->ttl = ip.hop_limit;
  out->ip_length = ip.total_length;
  out->truncated = ip.truncated;
  out->transport_offset = 40 + ip.chain.header_length;
  std::span<const std::uint8_t> payload = ip.chain.payload;
  if (ip.chain.IsRealFragment()) {
    if (ip.truncated) return Fail(DecodeStatus::kMalformed, "IP fragment truncated by the capture");
    Fragment fragment;
    fragment.key = {ip.src, ip.dst, ip.chain.fragment_id, 0};
    fragment.offset = ip.chain.fragment_offset;
    fragment.more_fragments = ip.chain.more_fragments;
    fragment.data = ip.chain.payload;
    fragment.protocol = ip.chain.protocol;
    fragment.ttl = ip.hop_limit;
    fragment.time = out->time;
    std::span<const std::uint8_t> datagram;
    const DecodeStatus status = Reassemble(fragment, &datagram, out);
    if (status != DecodeStatus::kOk) return status;
    // The fragmentable part may start with more extension headers.
    Ipv6Chain rest;
    if (const char* why = WalkIpv6Extensions(out->protocol, datagram, &rest)) {
      return Fail(DecodeStatus::kMalformed, why);
    }
    if (rest.fragment) return Fail(DecodeStatus::kMalformed, "IPv6 fragment inside a fragment");
    out->protocol = rest.protocol;
    payload = rest.payload;
    out->transport_offset += rest.header_length;
    out->ip_length =
        static_cast<std::uint32_t>(ip.total_length - ip.chain.payload.size() + datagram.size());
  }
  if (const char* why = DecodeTransportOf(payload, out)) return Fail(DecodeStatus::kMalformed, why);
  return DecodeStatus::kOk;
}

DecodeStatus PacketDecoder::Reassemble(const Fragment& fragment,
                                       std::span<const std::uint8_t>* datagram,
                                       DecodedPacket* out) {
  ++stats_.fragments;
  const ReassemblyResult result = reassembler_->Add(fragment);
  stats_.fragment_evictions = reassembler_->Evictions();
  stats_.fragment_overlaps = reassembler_->Overlaps();
  stats_.reassembled = reassembler_->Reassembled();
  switch (result.status) {
    case ReassemblyStatus::kComplete:
      *datagram = result.datagram;
      out->protocol = result.protocol;
      out->ttl = result.ttl;
      out->reassembled = true;
      return DecodeStatus::kOk;
    case ReassemblyStatus::kHeld:
      return DecodeStatus::kHeld;
    case ReassemblyStatus::kDropped:
      // Counted as an eviction; nothing is wrong with the packet itself.
      last_error_ = result.error;
      return DecodeStatus::kHeld;
    case ReassemblyStatus::kOverlap:
    case ReassemblyStatus::kMalformed:
      break;
  }
  return Fail(DecodeStatus::kMalformed, result.error);
}

}  // namespace flightwall
