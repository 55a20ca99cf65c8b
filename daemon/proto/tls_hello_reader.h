// TlsHelloReader: reads the ClientHello from the start of a TLS client stream
// that grows between calls, for a caller that receives it one TCP segment at a
// time. Each Feed() walks only the bytes it has not walked before, so a
// ClientHello cut into 1-byte segments or 1-byte TLS records costs O(total
// bytes), not O(n^2) as rereading the stream would.
//
// The reader keeps a few integers of state and never the bytes: the caller
// owns the stream and passes all of it (from its first byte) to every Feed();
// earlier bytes must never change. Once the message is complete its fragments
// are joined once, in a per-thread heap buffer allocated on first use (or read
// in place when one record holds the whole message), and parsed by
// ParseClientHelloHandshake. One reader per flow; not thread-safe, but
// readers on different threads are independent.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/parse_status.h"

namespace flightwall {

struct ClientHelloInfo;  // proto/tls_client_hello.h, which includes this header

class TlsHelloReader {
 public:
  // Largest handshake body (the 24-bit length) that is reassembled.
  // ParseClientHelloHandshake has the same limit.
  static constexpr std::size_t kMaxClientHelloLength = 65536;

  // kNeedMore until the handshake message is complete, then kOk (`out`
  // filled). kNotMine when the first record is not a handshake record carrying
  // a ClientHello (decided from the first bytes; the caller then tries plain
  // HTTP). kMalformed for a broken record layer (a record of length 0 or over
  // 2^14+2048, a non-handshake record after the first) or a broken ClientHello
  // body; kTooLarge when the handshake length exceeds kMaxClientHelloLength.
  // Idempotent: once the status is not kNeedMore, calling again with the same
  // or a longer stream returns the same status (kOk or a body kMalformed
  // re-parse the message into `out`). `out` is written only once the message
  // is complete.
  ParseStatus Feed(std::span<const std::uint8_t> stream, ClientHelloInfo* out);

  // After the message is complete: the stream offset just past the last record
  // that carried ClientHello bytes, from that record's length field, so it may
  // lie past the bytes received when the record holds more than the
  // ClientHello. 0 while the message is incomplete or was rejected.
  std::size_t ConsumedBytes() const;

  // Forgets everything, for reuse on another stream.
  void Reset();

 private:
  ParseStatus Walk(std::span<const std::uint8_t> stream);
  ParseStatus Finish(std::span<const std::uint8_t> stream, ClientHelloInfo* out) const;

  std::uint32_t record_start_ = 0;        // stream offset of the current record's header
  std::uint32_t handshake_seen_ = 0;      // handshake bytes walked, at most needed_ once known
  std::uint32_t needed_ = 0;              // 4 + handshake length, 0 until header_ is full
  std::uint16_t record_length_ = 0;       // current record's body length; 0 = header not read
  std::uint16_t record_read_ = 0;         // body bytes of the current record walked
  std::array<std::uint8_t, 4> header_{};  // the handshake header (type, 24-bit length)
  ParseStatus status_ = ParseStatus::kNeedMore;  // kOk once complete, or the record-layer error
};

}  // namespace flightwall
