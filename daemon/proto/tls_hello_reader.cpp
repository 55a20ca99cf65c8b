#include "proto/tls_hello_reader.h"

#include <algorithm>
#include <memory>

#include "common/byte_cursor.h"
#include "proto/tls_client_hello.h"

namespace flightwall {
namespace {

constexpr std::uint8_t kContentTypeHandshake = 22;
constexpr std::uint8_t kHandshakeClientHello = 1;
constexpr std::size_t kRecordHeaderLength = 5;
constexpr std::size_t kHandshakeHeaderLength = 4;
// RFC 8446 5.1/5.2: a record is at most 2^14 bytes (+2048 of expansion
// allowed for protected records in TLS 1.2).
constexpr std::size_t kMaxRecordLength = (1u << 14) + 2048;
constexpr std::size_t kMaxMessageLength =
    kHandshakeHeaderLength + TlsHelloReader::kMaxClientHelloLength;

// Every record walked carries at least one byte of the message, so the
// furthest record end is bounded and stream offsets fit the 32-bit state.
static_assert(kMaxMessageLength * (kRecordHeaderLength + kMaxRecordLength) <= 0xffffffffu);
static_assert(kMaxRecordLength <= 0xffff);

// Fragments are joined only while one message is parsed, so one buffer per
// thread serves every reader. It lives on the heap, allocated once per thread:
// a 64 KiB thread_local would come out of every thread's static TLS, i.e. its
// stack, and overflow small-stack threads.
std::span<std::uint8_t> JoinScratch() {
  thread_local std::unique_ptr<std::array<std::uint8_t, kMaxMessageLength>> scratch;
  if (!scratch) scratch = std::make_unique<std::array<std::uint8_t, kMaxMessageLength>>();
  return *scratch;
}

// The bytes from `offset` on; empty (not undefined) past the end, so a caller
// that breaks the "stream only grows" contract gets kNeedMore, not a crash.
std::span<const std::uint8_t> Tail(std::span<const std::uint8_t> stream, std::size_t offset) {
  return offset < stream.size() ? stream.subspan(offset) : std::span<const std::uint8_t>();
}

}  // namespace

ParseStatus TlsHelloReader::Feed(std::span<const std::uint8_t> stream, ClientHelloInfo* out) {
  if (status_ == ParseStatus::kNeedMore) status_ = Walk(stream);
  if (status_ != ParseStatus::kOk) return status_;
  return Finish(stream, out);
}

std::size_t TlsHelloReader::ConsumedBytes() const {
  if (status_ != ParseStatus::kOk) return 0;
  return std::size_t{record_start_} + kRecordHeaderLength + record_length_;
}

void TlsHelloReader::Reset() { *this = TlsHelloReader(); }

// Walks records from record_start_ (resuming inside the current one) until
// the stream runs out, the message is complete (kOk) or a rule is broken.
ParseStatus TlsHelloReader::Walk(std::span<const std::uint8_t> stream) {
  for (;;) {
    if (record_length_ == 0) {
      // Bytes of a header are judged as they arrive, so a non-TLS stream is
      // rejected from its first byte instead of waiting for five.
      const std::span<const std::uint8_t> header = Tail(stream, record_start_);
      const ParseStatus wrong =
          record_start_ == 0 ? ParseStatus::kNotMine : ParseStatus::kMalformed;
      if (!header.empty() && header[0] != kContentTypeHandshake) return wrong;
      if (header.size() > 1 && header[1] != 3) return wrong;
      if (header.size() < kRecordHeaderLength) return ParseStatus::kNeedMore;
      ByteCursor c(header);
      c.Skip(3);
      const std::uint16_t length = c.U16();
      if (length == 0 || length > kMaxRecordLength) return ParseStatus::kMalformed;
      record_length_ = length;
      record_read_ = 0;
    }
    const std::span<const std::uint8_t> rest =
        Tail(stream, std::size_t{record_start_} + kRecordHeaderLength + record_read_);
    const std::size_t n = std::min<std::size_t>(record_length_ - record_read_, rest.size());
    if (n == 0) return ParseStatus::kNeedMore;
    const std::span<const std::uint8_t> fragment = rest.first(n);
    // Records are never empty, so the first byte seen is in the first record.
    if (handshake_seen_ == 0 && fragment[0] != kHandshakeClientHello) return ParseStatus::kNotMine;

    std::size_t used = 0;
    while (handshake_seen_ < kHandshakeHeaderLength && used < n) {
      header_[handshake_seen_++] = fragment[used++];
    }
    if (needed_ == 0 && handshake_seen_ == kHandshakeHeaderLength) {
      const std::size_t length =
          (std::size_t{header_[1]} << 16) | (std::size_t{header_[2]} << 8) | header_[3];
      if (length > kMaxClientHelloLength) return ParseStatus::kTooLarge;
      needed_ = static_cast<std::uint32_t>(kHandshakeHeaderLength + length);
    }
    if (needed_ != 0) {
      handshake_seen_ +=
          static_cast<std::uint32_t>(std::min<std::size_t>(n - used, needed_ - handshake_seen_));
      if (handshake_seen_ == needed_) return ParseStatus::kOk;  // the record stays current
    }
    record_read_ = static_cast<std::uint16_t>(record_read_ + n);
    if (record_read_ < record_length_) return ParseStatus::kNeedMore;
    record_start_ += static_cast<std::uint32_t>(kRecordHeaderLength + record_length_);
    record_length_ = 0;
    record_read_ = 0;
  }
}

// The message is complete: parse it where it lies if the first record holds
// all of it, else join the fragments once. The headers were checked by Walk;
// the cursor still bounds every read in case the stream broke its contract.
ParseStatus TlsHelloReader::Finish(std::span<const std::uint8_t> stream,
                                   ClientHelloInfo* out) const {
  if (record_start_ == 0) {
    const std::span<const std::uint8_t> message = Tail(stream, kRecordHeaderLength);
    if (message.size() < needed_) return ParseStatus::kMalformed;
    return ParseClientHelloHandshake(message.first(needed_), out);
  }
  const std::span<std::uint8_t> joined = JoinScratch().first(needed_);
  std::size_t size = 0;
  ByteCursor records(stream);
  while (size < joined.size()) {
    records.Skip(3);
    const std::uint16_t length = records.U16();
    const std::span<const std::uint8_t> fragment =
        records.Bytes(std::min<std::size_t>(length, joined.size() - size));
    if (!records.Ok() || fragment.empty()) return ParseStatus::kMalformed;
    std::copy(fragment.begin(), fragment.end(), joined.begin() + static_cast<std::ptrdiff_t>(size));
    size += fragment.size();
  }
  return ParseClientHelloHandshake(joined, out);
}

}  // namespace flightwall
