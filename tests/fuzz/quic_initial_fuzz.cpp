// Fuzz target: QUIC Initial parsing. The input is split into datagrams, each
// prefixed by a 2-byte big-endian length, and fed to one parser as a flow
// would be; each datagram is also classified. The same bytes are also walked
// as a decrypted Initial payload, since random input almost never passes AEAD
// authentication and the frame and reassembly code must be reached directly,
// and replayed into a CryptoReassembler checked against a naive model.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "proto/quic_frames.h"
#include "proto/quic_initial.h"

namespace {

using flightwall::CryptoReassembler;

// Reads the input as (3-byte offset, 1-byte length) records whose data is the
// input itself, adds them to `crypto`, and aborts unless its contiguous
// prefix is what a naive model of the same writes gives (the model is sparse:
// replay runs this over every seed under sanitizers, so it must be cheap).
void CheckReassemblerAgainstModel(std::span<const std::uint8_t> input, CryptoReassembler& crypto) {
  struct Write {
    std::size_t offset;
    std::span<const std::uint8_t> data;  // the part below kCapacity
  };
  static std::vector<Write> writes;
  static std::vector<Write> sorted;
  static std::vector<std::uint8_t> expected;
  writes.clear();
  crypto.Reset();
  for (std::size_t pos = 0; pos + 4 <= input.size(); pos += 4) {
    // Offsets cover the whole buffer and a little past it.
    const std::size_t offset =
        ((std::size_t{input[pos]} << 16) | (std::size_t{input[pos + 1]} << 8) | input[pos + 2]) %
        (CryptoReassembler::kCapacity + 512);
    const std::span<const std::uint8_t> data =
        input.subspan(pos, std::min<std::size_t>(input[pos + 3], input.size() - pos));
    const std::size_t kept = offset < CryptoReassembler::kCapacity
                                 ? std::min(data.size(), CryptoReassembler::kCapacity - offset)
                                 : 0;
    if (crypto.Add(offset, data) != data.size() - kept) std::abort();
    if (kept > 0) writes.push_back({offset, data.first(kept)});
  }
  sorted = writes;
  std::sort(sorted.begin(), sorted.end(),
            [](const Write& a, const Write& b) { return a.offset < b.offset; });
  std::size_t prefix = 0;
  for (const Write& w : sorted) {
    if (w.offset > prefix) break;
    prefix = std::max(prefix, w.offset + w.data.size());
  }
  expected.assign(prefix, 0);
  for (const Write& w : writes) {  // in order: later writes win
    for (std::size_t i = 0; i < w.data.size() && w.offset + i < prefix; ++i) {
      expected[w.offset + i] = w.data[i];
    }
  }
  const std::span<const std::uint8_t> got = crypto.Contiguous();
  if (got.size() != prefix || !std::equal(got.begin(), got.end(), expected.begin())) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using flightwall::ParseStatus;
  using flightwall::QuicInitialParser;
  using flightwall::QuicLongHeaderKind;
  const std::span<const std::uint8_t> input(data, size);

  static QuicInitialParser parser;  // contexts built once, as in a flow
  parser.Reset();
  const QuicLongHeaderKind whole = QuicInitialParser::ClassifyDatagram(input);
  if (QuicInitialParser::LooksLikeInitial(input) !=
      (whole == QuicLongHeaderKind::kSupportedInitial)) {
    std::abort();
  }
  std::size_t pos = 0;
  while (pos + 2 <= size) {
    const std::size_t length = (std::size_t{data[pos]} << 8) | data[pos + 1];
    pos += 2;
    const std::size_t n = length < size - pos ? length : size - pos;
    const std::span<const std::uint8_t> datagram = input.subspan(pos, n);
    const QuicLongHeaderKind kind = QuicInitialParser::ClassifyDatagram(datagram);
    const ParseStatus before = parser.Feed({});  // an empty datagram changes nothing
    const bool was_done = before != ParseStatus::kNotMine && before != ParseStatus::kNeedMore;
    const ParseStatus status = parser.Feed(datagram);
    if (status == ParseStatus::kOk && parser.Stats().initials_decrypted == 0) std::abort();
    // An unknown version at the front of a datagram is always reported
    // (unless the flow had already ended).
    if (kind == QuicLongHeaderKind::kUnknownVersion && !was_done && !parser.SawUnknownVersion()) {
      std::abort();
    }
    // Only a supported long header can make a flow leave kNotMine.
    if (status != ParseStatus::kNotMine && parser.Stats().packets_seen == 0) std::abort();
    pos += n;
  }

  static CryptoReassembler crypto;
  crypto.Reset();
  flightwall::FrameWalkStats stats;
  flightwall::WalkInitialFrames(input, &crypto, &stats);
  const std::span<const std::uint8_t> stream = crypto.Contiguous();
  if (stream.size() > CryptoReassembler::kCapacity) std::abort();
  flightwall::ClientHelloInfo info;
  flightwall::ParseClientHelloHandshake(stream, &info);

  CheckReassemblerAgainstModel(input, crypto);
  return 0;
}
