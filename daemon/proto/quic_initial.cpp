#include "proto/quic_initial.h"

#include <algorithm>
#include <array>
#include <memory>

#include "common/byte_cursor.h"
#include "proto/quic_frames.h"
#include "proto/quic_keys.h"

namespace flightwall {
namespace {

static_assert(QuicInitialParser::kMaxCryptoBytes == CryptoReassembler::kCapacity);

// How many times one flow may make us derive keys for a DCID other than the
// one we hold (a Retry, or a first Initial that was junk). Bounded so junk
// cannot make every datagram cost two HKDF runs.
constexpr std::uint32_t kMaxRekeys = 4;

// Decrypted payloads are needed only while one packet is walked, so one
// scratch buffer per thread serves every parser (a UDP payload is < 64 KiB).
// It lives on the heap, allocated once per thread: a 64 KiB thread_local
// would come out of every thread's static TLS, i.e. its stack, and overflow
// small-stack threads such as the metrics HTTP server's.
std::span<std::uint8_t> PlaintextScratch() {
  thread_local std::unique_ptr<std::array<std::uint8_t, 65536>> scratch;
  if (!scratch) scratch = std::make_unique<std::array<std::uint8_t, 65536>>();
  return *scratch;
}

// RFC 9000 appendix A.3. Values stay below 2^62, so int64 arithmetic is exact.
std::int64_t DecodePacketNumber(std::int64_t largest, std::uint64_t truncated, int bits) {
  const std::int64_t expected = largest + 1;
  const std::int64_t window = std::int64_t{1} << bits;
  const std::int64_t half = window / 2;
  const std::int64_t candidate = (expected & ~(window - 1)) | static_cast<std::int64_t>(truncated);
  if (candidate <= expected - half && candidate < (std::int64_t{1} << 62) - window) {
    return candidate + window;
  }
  if (candidate > expected + half && candidate >= window) return candidate - window;
  return candidate;
}

struct LongHeader {
  std::uint8_t first_byte = 0;
  std::uint32_t wire_version = 0;
  QuicVersionKind version = QuicVersionKind::kUnknown;
  QuicLongType type = QuicLongType::kInitial;
  std::span<const std::uint8_t> dcid;
  std::size_t pn_offset = 0;             // from the packet's first byte
  std::span<const std::uint8_t> packet;  // first byte .. end of payload
};

enum class PacketStep : std::uint8_t {
  kPacket,          // a walkable packet of a supported version; cursor past it
  kRetry,           // a Retry of a supported version: no Length, walk ends
  kUnknownVersion,  // RFC 8999 invariants hold, version unknown: walk ends
  kStop,            // short header, or lengths that do not fit: walk ends
};

// Reads one long-header packet at the cursor. For kPacket the cursor is past
// the packet and `out` is complete; otherwise the cursor position is
// unspecified, and for kRetry/kUnknownVersion only the fields up to the
// connection IDs are set.
PacketStep NextLongHeaderPacket(ByteCursor& datagram, LongHeader* out) {
  const std::size_t start = datagram.Position();
  const std::uint8_t first_byte = datagram.U8();
  if (!datagram.Ok() || (first_byte & 0x80) == 0) return PacketStep::kStop;
  out->first_byte = first_byte;
  out->wire_version = datagram.U32();
  const std::uint8_t dcid_length = datagram.U8();
  if (dcid_length > kQuicMaxCidLength) return PacketStep::kStop;
  out->dcid = datagram.Bytes(dcid_length);
  const std::uint8_t scid_length = datagram.U8();
  if (scid_length > kQuicMaxCidLength) return PacketStep::kStop;
  datagram.Skip(scid_length);
  if (!datagram.Ok()) return PacketStep::kStop;
  out->version = QuicVersionKindOf(out->wire_version);
  if (out->version == QuicVersionKind::kUnknown) {
    // The fixed bit is all that marks an unknown version's header as QUIC.
    // Supported versions are not held to it (RFC 9287 lets a client grease
    // it): their packets must authenticate anyway.
    return (first_byte & 0x40) != 0 ? PacketStep::kUnknownVersion : PacketStep::kStop;
  }
  out->type = QuicLongTypeOf(out->version, first_byte);
  if (out->type == QuicLongType::kRetry) return PacketStep::kRetry;
  if (out->type == QuicLongType::kInitial) datagram.Skip(datagram.VarInt());
  const std::uint64_t length = datagram.VarInt();
  if (!datagram.Ok() || length > datagram.Remaining()) return PacketStep::kStop;
  out->pn_offset = datagram.Position() - start;
  out->packet = datagram.Whole().subspan(start, out->pn_offset + length);
  datagram.Skip(length);
  return PacketStep::kPacket;
}

}  // namespace

struct QuicInitialParser::Impl {
  QuicInitialCrypto crypto;
  CryptoReassembler reassembler;
  QuicPacketKeys keys;
  bool have_keys = false;
  QuicVersionKind keys_version = QuicVersionKind::kUnknown;
  std::array<std::uint8_t, kQuicMaxCidLength> keys_dcid{};
  std::size_t keys_dcid_length = 0;
  std::int64_t largest_pn = -1;
  std::uint32_t rekeys = 0;
  bool seen_initial = false;

  std::span<const std::uint8_t> KeysDcid() const {
    return std::span<const std::uint8_t>(keys_dcid).first(keys_dcid_length);
  }

  bool Adopt(QuicVersionKind version, std::span<const std::uint8_t> dcid,
             const QuicPacketKeys& new_keys) {
    keys = new_keys;
    keys_version = version;
    std::copy(dcid.begin(), dcid.end(), keys_dcid.begin());
    keys_dcid_length = dcid.size();
    have_keys = true;
    return crypto.LoadKeys(keys);
  }

  // Keys come from the DCID of the first client Initial (RFC 9001 5.2); a
  // version change (compatible version negotiation) keeps that DCID.
  bool EnsureKeys(QuicVersionKind version, std::span<const std::uint8_t> dcid) {
    if (have_keys && keys_version == version) return true;
    const std::span<const std::uint8_t> source = have_keys ? KeysDcid() : dcid;
    QuicPacketKeys derived;
    if (!crypto.DeriveClientInitialKeys(version, source, &derived)) return false;
    std::array<std::uint8_t, kQuicMaxCidLength> copy{};
    std::copy(source.begin(), source.end(), copy.begin());
    return Adopt(version, std::span<const std::uint8_t>(copy).first(source.size()), derived);
  }

  // Removes header protection and opens the payload with the loaded keys.
  bool TryOpen(const LongHeader& header, std::span<const std::uint8_t>* plaintext) {
    const std::span<const std::uint8_t> packet = header.packet;
    const std::size_t sample_offset = header.pn_offset + 4;
    if (packet.size() < sample_offset + kQuicHpSampleLength) return false;
    std::array<std::uint8_t, 5> mask{};
    if (!crypto.HeaderProtectionMask(packet.subspan(sample_offset).first<kQuicHpSampleLength>(),
                                     &mask)) {
      return false;
    }
    const std::uint8_t first_byte = header.first_byte ^ (mask[0] & 0x0f);
    const std::size_t pn_length = (first_byte & 0x03) + 1;
    std::array<std::uint8_t, 4> pn_bytes{};
    std::uint64_t truncated = 0;
    for (std::size_t i = 0; i < pn_length; ++i) {
      pn_bytes[i] = packet[header.pn_offset + i] ^ mask[1 + i];
      truncated = (truncated << 8) | pn_bytes[i];
    }
    const std::int64_t pn =
        DecodePacketNumber(largest_pn, truncated, static_cast<int>(8 * pn_length));
    const std::span<const std::uint8_t> aad[] = {
        std::span<const std::uint8_t>(&first_byte, 1),
        packet.subspan(1, header.pn_offset - 1),
        std::span<const std::uint8_t>(pn_bytes).first(pn_length),
    };
    const std::span<const std::uint8_t> sealed = packet.subspan(header.pn_offset + pn_length);
    if (sealed.size() < kQuicAeadTagLength) return false;
    const std::span<std::uint8_t> out =
        PlaintextScratch().first(sealed.size() - kQuicAeadTagLength);
    if (!crypto.Open(static_cast<std::uint64_t>(pn), aad, sealed, out)) return false;
    largest_pn = std::max(largest_pn, pn);
    *plaintext = out;
    return true;
  }

  // Falls back to keys from this packet's own DCID when it differs from the
  // one we hold: after a Retry the client really uses new keys, and the
  // Initial we keyed on may have been junk.
  bool Open(const LongHeader& header, std::span<const std::uint8_t>* plaintext) {
    if (TryOpen(header, plaintext)) return true;
    const std::span<const std::uint8_t> held = KeysDcid();
    if (std::equal(held.begin(), held.end(), header.dcid.begin(), header.dcid.end()) ||
        rekeys >= kMaxRekeys) {
      return false;
    }
    ++rekeys;
    QuicPacketKeys candidate;
    if (!crypto.DeriveClientInitialKeys(header.version, header.dcid, &candidate) ||
        !crypto.LoadKeys(candidate)) {
      crypto.LoadKeys(keys);
      return false;
    }
    // Packet numbers continue across a Retry (RFC 9000 17.2.5.3), so the
    // largest one seen still guides decoding.
    if (TryOpen(header, plaintext)) {
      // A new DCID is a new connection to the server (or the same
      // ClientHello again, after a Retry): its CRYPTO stream starts over.
      reassembler.Reset();
      return Adopt(header.version, header.dcid, candidate);
    }
    crypto.LoadKeys(keys);
    return false;
  }
};

QuicInitialParser::QuicInitialParser() : impl_(std::make_unique<Impl>()) {}
QuicInitialParser::~QuicInitialParser() = default;

void QuicInitialParser::Reset() {
  impl_->reassembler.Reset();
  impl_->have_keys = false;
  impl_->keys_version = QuicVersionKind::kUnknown;
  impl_->keys_dcid_length = 0;
  impl_->largest_pn = -1;
  impl_->rekeys = 0;
  impl_->seen_initial = false;
  hello_ = ClientHelloInfo{};
  version_ = QuicVersionKind::kUnknown;
  wire_version_ = 0;
  saw_unknown_version_ = false;
  stats_ = QuicInitialStats{};
  terminal_ = ParseStatus::kNeedMore;
}

QuicLongHeaderKind QuicInitialParser::ClassifyDatagram(std::span<const std::uint8_t> udp_payload) {
  ByteCursor datagram(udp_payload);
  LongHeader header;
  switch (NextLongHeaderPacket(datagram, &header)) {
    case PacketStep::kPacket:
      return header.type == QuicLongType::kInitial ? QuicLongHeaderKind::kSupportedInitial
                                                   : QuicLongHeaderKind::kSupportedOther;
    case PacketStep::kRetry:
      return QuicLongHeaderKind::kSupportedOther;
    case PacketStep::kUnknownVersion:
      return QuicLongHeaderKind::kUnknownVersion;
    case PacketStep::kStop:
      break;
  }
  return QuicLongHeaderKind::kNotQuicLongHeader;
}

bool QuicInitialParser::LooksLikeInitial(std::span<const std::uint8_t> udp_payload) {
  return ClassifyDatagram(udp_payload) == QuicLongHeaderKind::kSupportedInitial;
}

ParseStatus QuicInitialParser::Feed(std::span<const std::uint8_t> udp_payload) {
  if (terminal_ != ParseStatus::kNeedMore) return terminal_;
  auto finish = [this](ParseStatus status) {
    terminal_ = status;
    return status;
  };
  ByteCursor datagram(udp_payload);
  bool any_initial = false;
  bool first_packet = true;
  LongHeader header;
  // Coalesced packets (RFC 9000 12.2) are walked by their Length fields; a
  // short header runs to the end of the datagram, so the walk stops there.
  while (datagram.Remaining() > 0) {
    const PacketStep step = NextLongHeaderPacket(datagram, &header);
    if (step == PacketStep::kUnknownVersion && first_packet) {
      if (!saw_unknown_version_ && version_ == QuicVersionKind::kUnknown) {
        wire_version_ = header.wire_version;
      }
      saw_unknown_version_ = true;
    }
    if (step != PacketStep::kPacket) break;
    first_packet = false;
    ++stats_.packets_seen;
    if (header.type != QuicLongType::kInitial) continue;
    any_initial = true;
    impl_->seen_initial = true;
    if (version_ == QuicVersionKind::kUnknown) {
      version_ = header.version;
      wire_version_ = header.wire_version;
    }

    std::span<const std::uint8_t> plaintext;
    if (!impl_->EnsureKeys(header.version, header.dcid) || !impl_->Open(header, &plaintext)) {
      ++stats_.decrypt_failures;
      continue;
    }
    ++stats_.initials_decrypted;
    FrameWalkStats walk;
    const FrameWalkResult walked = WalkInitialFrames(plaintext, &impl_->reassembler, &walk);
    stats_.crypto_bytes_dropped += static_cast<std::uint32_t>(walk.crypto_bytes_dropped);
    if (walked == FrameWalkResult::kConflict) ++stats_.crypto_conflicts;
    if (walked == FrameWalkResult::kMalformed || walked == FrameWalkResult::kConflict) {
      return finish(ParseStatus::kMalformed);
    }

    const std::span<const std::uint8_t> stream = impl_->reassembler.Contiguous();
    if (stream.size() < 4) continue;
    if (stream[0] != 1) return finish(ParseStatus::kMalformed);  // not a ClientHello
    const std::size_t needed =
        4 + ((std::size_t{stream[1]} << 16) | (std::size_t{stream[2]} << 8) | stream[3]);
    if (needed > kMaxCryptoBytes) return finish(ParseStatus::kTooLarge);
    if (stream.size() < needed) continue;
    if (ParseClientHelloHandshake(stream.first(needed), &hello_) != ParseStatus::kOk) {
      return finish(ParseStatus::kMalformed);
    }
    return finish(ParseStatus::kOk);
  }
  if (!any_initial && !impl_->seen_initial) return ParseStatus::kNotMine;
  return ParseStatus::kNeedMore;
}

}  // namespace flightwall
