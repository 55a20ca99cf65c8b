// Fuzz target: QUIC Initial parsing. The input is split into datagrams, each
// prefixed by a 2-byte big-endian length, and fed to one parser as a flow
// would be. The same bytes are also walked as a decrypted Initial payload,
// since random input almost never passes AEAD authentication and the frame
// and reassembly code must be reached directly.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "proto/quic_frames.h"
#include "proto/quic_initial.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using flightwall::ParseStatus;
  const std::span<const std::uint8_t> input(data, size);

  static flightwall::QuicInitialParser parser;  // contexts built once, as in a flow
  parser.Reset();
  flightwall::QuicInitialParser::LooksLikeInitial(input);
  std::size_t pos = 0;
  while (pos + 2 <= size) {
    const std::size_t length = (std::size_t{data[pos]} << 8) | data[pos + 1];
    pos += 2;
    const std::size_t n = length < size - pos ? length : size - pos;
    const ParseStatus status = parser.Feed(input.subspan(pos, n));
    if (status == ParseStatus::kOk && parser.Stats().initials_decrypted == 0) std::abort();
    pos += n;
  }

  static flightwall::CryptoReassembler crypto;
  crypto.Reset();
  flightwall::FrameWalkStats stats;
  flightwall::WalkInitialFrames(input, &crypto, &stats);
  const std::span<const std::uint8_t> stream = crypto.Contiguous();
  if (stream.size() > flightwall::CryptoReassembler::kCapacity) std::abort();
  flightwall::ClientHelloInfo info;
  flightwall::ParseClientHelloHandshake(stream, &info);
  return 0;
}
