#include "proto/dns_parser.h"

#include <algorithm>
#include <cstring>

#include "common/byte_cursor.h"

namespace flightwall {
namespace {

constexpr std::size_t kHeaderBytes = 12;
// RFC 1035 3.1: a name is at most 255 bytes on the wire, counting every
// length byte and the terminating root label.
constexpr std::size_t kMaxNameWireBytes = 255;
constexpr std::size_t kMaxLabelBytes = 63;
// Pointers must go strictly backwards, which already bounds pointer-only
// chains; the cap bounds the work a hostile label/pointer mix can cause.
constexpr int kMaxPointerJumps = 64;
constexpr std::uint16_t kClassIn = 1;

char LowerAscii(std::uint8_t b) {
  if (b >= 'A' && b <= 'Z') return static_cast<char>(b - 'A' + 'a');
  return static_cast<char>(b);
}

// Reads the (possibly compressed) name at the cursor into *out and leaves the
// cursor just after the name's in-line bytes (after the first pointer, if
// any). Returns false on truncation, reserved label types, labels over 63
// bytes, names over 255 bytes, or pointers that do not go strictly backwards.
bool ReadName(ByteCursor* cursor, HostName* out) {
  out->Clear();
  ByteCursor walk = *cursor;
  std::size_t wire_bytes = 1;  // the root label
  std::size_t resume_at = 0;
  bool jumped = false;
  int jumps = 0;
  for (;;) {
    const std::size_t label_start = walk.Position();
    const std::uint8_t len = walk.U8();
    if (!walk.Ok()) return false;
    if ((len & 0xC0) == 0xC0) {
      const std::uint8_t low = walk.U8();
      if (!walk.Ok()) return false;
      // A legal compressor only refers to names it already wrote, so the
      // target is before the pointer itself. A self or forward pointer
      // is how loops are built.
      const std::size_t target = (std::size_t{len & 0x3Fu} << 8) | low;
      if (target >= label_start || ++jumps > kMaxPointerJumps) return false;
      if (!jumped) {
        resume_at = walk.Position();
        jumped = true;
      }
      walk.Seek(target);
      continue;
    }
    // 0x40 (RFC 6891 extended label) and 0x80 are reserved types.
    if ((len & 0xC0) != 0) return false;
    if (len == 0) break;
    static_assert(kMaxLabelBytes == 0x3F, "a 6-bit length cannot exceed 63");
    wire_bytes += std::size_t{len} + 1;
    if (wire_bytes > kMaxNameWireBytes) return false;
    const auto label = walk.Bytes(len);
    if (!walk.Ok()) return false;
    if (!out->Empty()) out->Append('.');
    for (const std::uint8_t b : label) out->Append(LowerAscii(b));
  }
  return cursor->Seek(jumped ? resume_at : walk.Position());
}

bool ReadQuestion(ByteCursor* cursor, DnsQuestion* q) {
  if (!ReadName(cursor, &q->name)) return false;
  q->qtype = cursor->U16();
  q->qclass = cursor->U16();
  return cursor->Ok();
}

enum class RecordResult { kStored, kSkipped, kBadRdata, kTruncated };

// Reads one resource record. *rr is filled when the record is A/AAAA (class
// IN) or CNAME with consistent RDATA.
RecordResult ReadAnswer(ByteCursor* cursor, DnsAnswer* rr) {
  if (!ReadName(cursor, &rr->owner)) return RecordResult::kTruncated;
  const std::uint16_t type = cursor->U16();
  const std::uint16_t rclass = cursor->U16() & 0x7FFF;  // mDNS cache-flush bit
  const std::uint32_t ttl = cursor->U32();
  const std::uint16_t rdlength = cursor->U16();
  const std::size_t rdata_start = cursor->Position();
  const auto rdata = cursor->Bytes(rdlength);
  if (!cursor->Ok()) return RecordResult::kTruncated;

  rr->type = type;
  rr->ttl = (ttl & 0x80000000u) != 0 ? 0 : ttl;
  rr->address = IpAddress{};
  rr->cname_target.Clear();
  switch (type) {
    case dns_type::kA:
      if (rdlength != 4) return RecordResult::kBadRdata;
      if (rclass != kClassIn) return RecordResult::kSkipped;
      rr->address = IpAddress::V4(rdata);
      return RecordResult::kStored;
    case dns_type::kAaaa:
      if (rdlength != 16) return RecordResult::kBadRdata;
      if (rclass != kClassIn) return RecordResult::kSkipped;
      rr->address = IpAddress::V6(rdata);
      return RecordResult::kStored;
    case dns_type::kCname: {
      // The target may point anywhere earlier in the message, so it is read
      // through a cursor over the whole message, then must end exactly at
      // the end of RDATA.
      ByteCursor target(cursor->Whole());
      target.Seek(rdata_start);
      if (!ReadName(&target, &rr->cname_target) || target.Position() != rdata_start + rdlength) {
        rr->cname_target.Clear();
        return RecordResult::kBadRdata;
      }
      return RecordResult::kStored;
    }
    default:
      return RecordResult::kSkipped;
  }
}

}  // namespace

ParseStatus ParseDnsMessage(std::span<const std::uint8_t> message, DnsMessage* out) {
  // The arrays are overwritten slot by slot; only the scalars need a reset.
  out->id = 0;
  out->is_response = false;
  out->opcode = 0;
  out->rcode = 0;
  out->truncated = false;
  out->question_count = 0;
  out->answer_count = 0;
  out->questions_stored = 0;
  out->answers_stored = 0;
  out->malformed_answers = 0;
  if (message.size() < kHeaderBytes) return ParseStatus::kNotMine;

  ByteCursor cursor(message);
  out->id = cursor.U16();
  const std::uint16_t flags = cursor.U16();
  out->is_response = (flags & 0x8000) != 0;
  out->opcode = static_cast<std::uint8_t>((flags >> 11) & 0x0F);
  out->truncated = (flags & 0x0200) != 0;
  out->rcode = static_cast<std::uint8_t>(flags & 0x0F);
  out->question_count = cursor.U16();
  out->answer_count = cursor.U16();
  cursor.Skip(4);  // NSCOUNT, ARCOUNT: those sections are not read

  // Every question is walked (the answers follow them) but only the first
  // kMaxQuestions are kept; the rest are parsed into a scratch slot.
  DnsQuestion scratch_question;
  for (std::uint32_t i = 0; i < out->question_count; ++i) {
    const bool keep = out->questions_stored < DnsMessage::kMaxQuestions;
    DnsQuestion* q = keep ? &out->questions[out->questions_stored] : &scratch_question;
    if (!ReadQuestion(&cursor, q)) return ParseStatus::kMalformed;
    if (keep) ++out->questions_stored;
  }

  DnsAnswer scratch_answer;
  for (std::uint32_t i = 0; i < out->answer_count; ++i) {
    const bool keep = out->answers_stored < DnsMessage::kMaxAnswers;
    DnsAnswer* rr = keep ? &out->answers[out->answers_stored] : &scratch_answer;
    switch (ReadAnswer(&cursor, rr)) {
      case RecordResult::kStored:
        if (keep) ++out->answers_stored;
        break;
      case RecordResult::kSkipped:
        break;
      case RecordResult::kBadRdata:
        ++out->malformed_answers;
        break;
      case RecordResult::kTruncated:
        return ParseStatus::kMalformed;
    }
  }
  return ParseStatus::kOk;
}

bool DnsTcpReassembler::Append(std::span<const std::uint8_t> bytes) {
  if (consumed_ == size_) {
    size_ = consumed_ = 0;
  } else if (kCapacity - size_ < bytes.size()) {
    Compact();
  }
  if (kCapacity - size_ < bytes.size()) {
    Reset();
    return false;
  }
  std::copy(bytes.begin(), bytes.end(), buf_.begin() + static_cast<std::ptrdiff_t>(size_));
  size_ += bytes.size();
  return true;
}

std::size_t DnsTcpReassembler::AppendSome(std::span<const std::uint8_t> bytes) {
  if (consumed_ == size_) {
    size_ = consumed_ = 0;
  } else if (kCapacity - size_ < bytes.size()) {
    Compact();
  }
  const std::size_t n = std::min(bytes.size(), kCapacity - size_);
  std::copy_n(bytes.begin(), n, buf_.begin() + static_cast<std::ptrdiff_t>(size_));
  size_ += n;
  return n;
}

bool DnsTcpReassembler::Next(std::span<const std::uint8_t>* message) {
  for (;;) {
    ByteCursor cursor(std::span<const std::uint8_t>(buf_.data() + consumed_, size_ - consumed_));
    const std::uint16_t length = cursor.U16();
    const auto body = cursor.Bytes(length);
    if (!cursor.Ok()) return false;  // the prefix or the message is incomplete
    consumed_ += 2 + std::size_t{length};
    if (length == 0) continue;
    *message = body;
    return true;
  }
}

void DnsTcpReassembler::Reset() {
  size_ = 0;
  consumed_ = 0;
}

void DnsTcpReassembler::Compact() {
  if (consumed_ == 0) return;
  std::memmove(buf_.data(), buf_.data() + consumed_, size_ - consumed_);
  size_ -= consumed_;
  consumed_ = 0;
}

}  // namespace flightwall
