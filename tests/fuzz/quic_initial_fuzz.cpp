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
#include <cstring>
#include <span>
#include <vector>

#include "proto/quic_frames.h"
#include "proto/quic_initial.h"

namespace {

using flightwall::CryptoReassembler;

// Reads the input as up to kMaxWrites (3-byte offset, 1-byte length) records
// whose data is the input itself, adds them to `crypto`, and aborts unless a
// naive model agrees on which writes conflict with bytes already held and on
// the contiguous prefix. Replay runs this over every seed in unoptimised
// sanitizer builds, so the model is sparse and the writes are few and short.
void CheckReassemblerAgainstModel(std::span<const std::uint8_t> input, CryptoReassembler& crypto) {
  struct Write {
    std::size_t offset;
    std::span<const std::uint8_t> data;  // the part below kCapacity
  };
  static std::vector<Write> applied;  // accepted writes; they agree where they overlap
  static std::vector<std::uint8_t> expected;
  applied.clear();
  crypto.Reset();
  constexpr std::size_t kMaxWrites = 32;
  for (std::size_t pos = 0; pos + 4 <= input.size() && pos < 4 * kMaxWrites; pos += 4) {
    // Offsets cover the whole buffer and a little past it.
    const std::size_t offset =
        ((std::size_t{input[pos]} << 16) | (std::size_t{input[pos + 1]} << 8) | input[pos + 2]) %
        (CryptoReassembler::kCapacity + 512);
    const std::span<const std::uint8_t> data =
        input.subspan(pos, std::min<std::size_t>(input[pos + 3] % 64, input.size() - pos));
    const std::size_t kept = offset < CryptoReassembler::kCapacity
                                 ? std::min(data.size(), CryptoReassembler::kCapacity - offset)
                                 : 0;
    bool conflict = false;
    for (const Write& w : applied) {
      const std::size_t from = std::max(offset, w.offset);
      const std::size_t to = std::min(offset + kept, w.offset + w.data.size());
      for (std::size_t i = from; i < to && !conflict; ++i) {
        conflict = data[i - offset] != w.data[i - w.offset];
      }
    }
    const CryptoReassembler::AddResult added = crypto.Add(offset, data);
    if (added.dropped != data.size() - kept || added.conflict != conflict) std::abort();
    if (kept > 0 && !conflict) applied.push_back({offset, data.first(kept)});
  }
  // The prefix grows while some write starts inside it and ends past it.
  std::size_t prefix = 0;
  for (bool grew = true; grew;) {
    grew = false;
    for (const Write& w : applied) {
      if (w.offset <= prefix && w.offset + w.data.size() > prefix) {
        prefix = w.offset + w.data.size();
        grew = true;
      }
    }
  }
  expected.assign(prefix, 0);
  for (const Write& w : applied) {
    if (w.offset < prefix) {
      const std::size_t n = std::min(w.data.size(), prefix - w.offset);
      std::memcpy(expected.data() + w.offset, w.data.data(), n);
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
