// Fuzzes PcapSource (pcap and pcapng through libpcap, as `flightwall audit`
// reads them) and the decoder behind it. The input is the capture file: it
// is written to a memfd and opened twice as two inputs by its /proc path, so
// Open() hashes and validates it as a file on disk. Checks what audit relies
// on: Open() either succeeds or says why; frames never claim more bytes than
// libpcap captured; numbering runs on across inputs with no gap; both copies
// yield the same packets; and every frame decodes or is refused cleanly.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "decode/packet_decoder.h"
#include "source/pcap_source.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

// One memfd per process, rewritten for every input.
int InputFd() {
  static const int fd = memfd_create("pcap_source_fuzz", MFD_CLOEXEC);
  Check(fd >= 0);
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int fd = InputFd();
  Check(ftruncate(fd, 0) == 0);
  std::size_t written = 0;
  while (written < size) {
    const ssize_t n = pwrite(fd, data + written, size - written, static_cast<off_t>(written));
    Check(n > 0);
    written += static_cast<std::size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);

  flightwall::Result<std::unique_ptr<flightwall::PcapSource>> opened =
      flightwall::PcapSource::Open({path, path});
  if (!opened.ok()) {
    Check(!opened.status().message().empty());
    return 0;
  }
  const std::unique_ptr<flightwall::PcapSource> source = std::move(opened).value();
  Check(size > 0);
  Check(source->Inputs().size() == 2);

  // A decoder per input, so that a finding reproduces from its input alone
  // (a static one once carried a fragment from an earlier input into the
  // run that crashed).
  flightwall::PacketDecoder decoder([] {
    flightwall::DecoderLimits limits;
    limits.max_datagrams_in_reassembly = 4;
    limits.max_reassembly_bytes = 65536;
    return limits;
  }());
  std::vector<std::size_t> lengths[2];
  flightwall::RawPacket raw;
  std::uint64_t expected_number = 1;
  // Bounded: a tiny file can hold at most size/16 records per copy.
  while (source->Next(&raw)) {
    Check(raw.number == expected_number++);
    Check(raw.input_index < 2);
    Check(raw.data.size() <= 0x40000);
    lengths[raw.input_index].push_back(raw.data.size());
    flightwall::DecodedPacket out;
    if (decoder.Decode(raw, &out) == flightwall::DecodeStatus::kOk) {
      volatile std::uint8_t sink = 0;
      for (std::uint8_t b : out.payload) sink = sink ^ b;
      static_cast<void>(sink);
    }
  }
  Check(!source->Next(&raw));  // stays exhausted
  const auto& inputs = source->Inputs();
  for (std::size_t i = 0; i < 2; ++i) {
    Check(inputs[i].size_bytes == size);
    Check(inputs[i].sha256.size() == 64);
    Check(inputs[i].packets == lengths[i].size());
    if (inputs[i].packets == 0) Check(inputs[i].first_time == 0 && inputs[i].last_time == 0);
  }
  // The same bytes give the same frames and the same ending.
  Check(inputs[0].sha256 == inputs[1].sha256);
  Check(lengths[0] == lengths[1]);
  Check(inputs[0].truncated == inputs[1].truncated);
  Check(inputs[0].link_type_number == inputs[1].link_type_number);
  Check(source->Warnings().size() % 2 == 0);
  for (const std::string& w : source->Warnings()) Check(!w.empty());
  return 0;
}
