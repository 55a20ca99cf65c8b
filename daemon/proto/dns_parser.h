// DNS message parser (RFC 1035) for names and address answers.
//
// ParseDnsMessage reads one message (UDP payload, or one TCP message without
// its 2-byte length prefix) into a caller-owned DnsMessage without
// allocating. Compression pointers are followed with loop protection (each
// pointer must point strictly backwards, at most 64 jumps, names at most 255
// bytes). Names are returned lower-cased, without the trailing dot, with
// label bytes as they came ('.' inside a label is kept as-is; binary bytes
// from DNS tunnels are kept too, only ASCII A-Z is lower-cased). The root
// name is "". Only the header, the questions and the answer section are read;
// authority and additional records are not needed for attribution.
// DnsTcpReassembler splits a TCP byte stream into messages (several per
// segment, or one split across segments), bounded to 64 KiB + 2.
// Not thread-safe: one parser call / one reassembler per direction of a flow.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/fixed_string.h"
#include "common/ip_address.h"
#include "proto/parse_status.h"

namespace flightwall {

namespace dns_type {
constexpr std::uint16_t kA = 1;
constexpr std::uint16_t kCname = 5;
constexpr std::uint16_t kAaaa = 28;
}  // namespace dns_type

struct DnsQuestion {
  HostName name;
  std::uint16_t qtype = 0;
  std::uint16_t qclass = 0;
};

struct DnsAnswer {
  HostName owner;          // the record's name
  std::uint16_t type = 0;  // A, AAAA or CNAME (others are skipped)
  std::uint32_t ttl = 0;
  IpAddress address;      // A/AAAA
  HostName cname_target;  // CNAME
};

struct DnsMessage {
  static constexpr std::size_t kMaxQuestions = 4;
  static constexpr std::size_t kMaxAnswers = 32;

  std::uint16_t id = 0;
  bool is_response = false;
  std::uint8_t opcode = 0;
  std::uint8_t rcode = 0;
  bool truncated = false;            // TC bit: the full answer needs a TCP retry
  std::uint16_t question_count = 0;  // as in the header
  std::uint16_t answer_count = 0;    // as in the header
  std::size_t questions_stored = 0;  // <= kMaxQuestions
  std::size_t answers_stored = 0;    // A/AAAA/CNAME stored, <= kMaxAnswers
  // Answer records whose RDATA contradicted their type (A not 4 bytes, AAAA
  // not 16, CNAME target not a valid name). RDLENGTH still frames them, so
  // they are skipped rather than failing the whole message.
  std::size_t malformed_answers = 0;
  std::array<DnsQuestion, kMaxQuestions> questions;
  std::array<DnsAnswer, kMaxAnswers> answers;
};

// kOk, kMalformed (truncated header, bad label, pointer loop, name too long),
// or kNotMine for bytes too short for a header. On kMalformed the fields
// parsed before the error are kept (questions_stored etc. are accurate), so a
// question can still be attributed from a message whose answers are garbage.
// A/AAAA records are stored only for class IN (the mDNS cache-flush bit is
// ignored); a TTL with the top bit set is stored as 0 (RFC 2181 section 8).
ParseStatus ParseDnsMessage(std::span<const std::uint8_t> message, DnsMessage* out);

// Reassembles DNS-over-TCP (RFC 1035 4.2.2, RFC 7766) for one direction.
class DnsTcpReassembler {
 public:
  static constexpr std::size_t kCapacity = 65535 + 2;

  // Appends in-order stream bytes. Returns false (and resets) if they do not
  // fit; call Next() until it returns false after every Append so that only
  // one partial message is ever buffered.
  bool Append(std::span<const std::uint8_t> bytes);
  // Takes as many bytes as fit and returns how many: for segments larger than
  // the free space (e.g. GRO-merged captures), loop AppendSome + Next.
  std::size_t AppendSome(std::span<const std::uint8_t> bytes);
  // If a whole message is buffered, sets *message to it (without the length
  // prefix) and returns true; the view is valid until the next Append/Next.
  // Zero-length messages (a bare 0x0000 prefix) carry nothing and are
  // skipped, so *message is never empty.
  bool Next(std::span<const std::uint8_t>* message);
  void Reset();
  // Bytes buffered but not yet handed out (a partial message).
  std::size_t Pending() const { return size_ - consumed_; }

 private:
  std::array<std::uint8_t, kCapacity> buf_{};
  std::size_t size_ = 0;
  std::size_t consumed_ = 0;  // bytes of buf_ already handed out

  void Compact();
};

}  // namespace flightwall
