// PcapSource: reads one or several capture files (pcap or pcapng, through
// libpcap) in the order given and hands out their frames as RawPackets with
// one packet numbering across all inputs, as `flightwall audit` needs to cite
// "packet N" the way Wireshark would when the files are merged in order.
//
// "-" reads standard input: it is copied to an anonymous temporary file first
// so it can be hashed like any other input and reopened by libpcap.
//
// Open() validates every input up front (readable, a capture) so a typo in
// the fifth path fails before any packet is processed. A file is hashed as
// libpcap reads it (source/hashing_reader.h): read once, not twice. Per-input
// counts, first/last timestamps and SHA-256 are complete once Next() has
// returned false. A damaged input (truncated last record, read error) does not stop the
// run: it ends that input, adds a warning for the operator, and Next() moves
// on to the following input.
//
// Ownership: the source owns the libpcap handles; a RawPacket's bytes belong
// to libpcap and stay valid until the next call to Next(). Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/timestamp.h"
#include "source/raw_packet.h"

typedef struct pcap pcap_t;

namespace flightwall {

class HashingReader;

// What a report says about one input file.
struct PcapInputInfo {
  std::string path;    // as given ("-" for standard input)
  std::string sha256;  // lowercase hex digest of the file bytes
  std::uint64_t size_bytes = 0;
  LinkType link = LinkType::kRaw;
  std::uint32_t link_type_number = 0;  // LINKTYPE_* value, also for link types we do not decode
  std::string link_type_name;          // tshark-style short name: "ether", "linux-sll", ...
  std::uint64_t packets = 0;           // packets read so far (all of them once Next() is false)
  Timestamp first_time = 0;            // 0 while no packet has been read
  Timestamp last_time = 0;
  bool truncated = false;           // the input ended inside a record (see Warnings())
  bool damaged = false;             // truncated, or a read error: the rest of the file was lost
  std::uint64_t damage_offset = 0;  // byte offset where reading stopped (when damaged)
};

class PcapSource {
 public:
  // Opens all paths, in order ("-" is standard input, once). On failure the
  // Status names the file and says what to do.
  static Result<std::unique_ptr<PcapSource>> Open(const std::vector<std::string>& paths);
  ~PcapSource();
  PcapSource(const PcapSource&) = delete;
  PcapSource& operator=(const PcapSource&) = delete;

  // Fills *out with the next frame; false once every input is exhausted.
  bool Next(RawPacket* out);

  const std::vector<PcapInputInfo>& Inputs() const { return inputs_; }
  // Bytes of all inputs, and how far reading has come (for a progress bar).
  std::uint64_t TotalBytes() const;
  std::uint64_t BytesRead() const;
  // Problems that ended an input early, e.g.
  // "cut.pcap: truncated at packet 12 (...)". Meant to be shown to the operator.
  const std::vector<std::string>& Warnings() const { return warnings_; }

  // Maps a libpcap DLT_* value (as pcap_datalink() returns it) to the
  // LINKTYPE_* number stored in files, which is what LinkType holds.
  static std::uint32_t LinkTypeFromDlt(int dlt);
  static const char* LinkTypeName(std::uint32_t link_type);

 private:
  PcapSource() = default;

  std::vector<PcapInputInfo> inputs_;
  std::vector<pcap_t*> handles_;
  // Per input, the hashing stream libpcap reads from (null for standard
  // input, hashed while it was copied). The destructor closes the handles
  // (and with them these streams) before these go.
  std::vector<std::unique_ptr<HashingReader>> readers_;
  std::vector<std::string> warnings_;
  std::size_t current_ = 0;
  std::uint64_t next_number_ = 1;
};

}  // namespace flightwall
