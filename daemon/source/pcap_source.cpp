#include "source/pcap_source.h"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "common/sha256.h"
#include "source/hashing_reader.h"

namespace flightwall {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f != nullptr) std::fclose(f);
  }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

// Hashes everything `in` yields and, when `copy` is set, writes it there too
// (standard input has to be kept so that libpcap can read it afterwards).
bool HashStream(std::FILE* in, std::FILE* copy, std::string* sha256, std::uint64_t* size,
                std::string* why) {
  Sha256Hasher hasher;
  // Not zero-filled: only what fread wrote is read (a small file touches a page or two).
  constexpr std::size_t kChunk = 64 * 1024;
  const auto buf = std::make_unique_for_overwrite<std::uint8_t[]>(kChunk);
  *size = 0;
  for (;;) {
    const std::size_t n = std::fread(buf.get(), 1, kChunk, in);
    if (n > 0) {
      hasher.Update(std::span<const std::uint8_t>(buf.get(), n));
      *size += n;
      if (copy != nullptr && std::fwrite(buf.get(), 1, n, copy) != n) {
        *why = std::string("cannot write temporary copy: ") + std::strerror(errno);
        return false;
      }
    }
    if (n < kChunk) {
      if (std::ferror(in)) {
        *why = std::string("read error: ") + std::strerror(errno);
        return false;
      }
      break;
    }
  }
  *sha256 = hasher.FinalHex();
  return true;
}

std::string NotACapture(const char* libpcap_says) {
  return std::string("not a pcap or pcapng file (libpcap: ") + libpcap_says +
         "); check that the path is a capture, and convert other capture formats with `editcap -F "
         "pcapng IN OUT`";
}

}  // namespace

std::uint32_t PcapSource::LinkTypeFromDlt(int dlt) {
  switch (dlt) {
    case DLT_NULL:
      return 0;
    case DLT_EN10MB:
      return 1;
    case 12:  // DLT_RAW on most systems (DLT_LOOP on OpenBSD, which we do not run on)
    case 14:  // DLT_RAW on BSD/OS
    case 101:
      return 101;
    case 108:
      return 108;
    case 113:
      return 113;
    case 228:
      return 228;
    case 229:
      return 229;
    case 276:
      return 276;
    default:
      // Outside the historical clash range (below 104) DLT and LINKTYPE agree.
      return static_cast<std::uint32_t>(dlt);
  }
}

const char* PcapSource::LinkTypeName(std::uint32_t link_type) {
  switch (link_type) {
    case 0:
      return "null";
    case 1:
      return "ether";
    case 101:
      return "rawip";
    case 108:
      return "loop";
    case 113:
      return "linux-sll";
    case 228:
      return "rawip4";
    case 229:
      return "rawip6";
    case 276:
      return "linux-sll2";
    default:
      return "unsupported";
  }
}

Result<std::unique_ptr<PcapSource>> PcapSource::Open(const std::vector<std::string>& paths) {
  if (paths.empty()) {
    return Status::Error("no capture file given; pass one or more pcap/pcapng paths");
  }
  std::unique_ptr<PcapSource> source(new PcapSource());
  bool stdin_used = false;
  for (const std::string& path : paths) {
    PcapInputInfo info;
    info.path = path;
    std::string why;
    // The reader outlives the FILE* over it (destroyed in reverse order).
    std::unique_ptr<HashingReader> reader;
    FilePtr file;
    if (path == "-") {
      if (stdin_used)
        return Status::InFile("-", "standard input can be read only once; give it once");
      stdin_used = true;
      file.reset(std::tmpfile());
      if (!file) {
        return Status::InFile("-", std::string("cannot create a temporary file: ") +
                                       std::strerror(errno) +
                                       "; set TMPDIR to a writable directory");
      }
      if (!HashStream(stdin, file.get(), &info.sha256, &info.size_bytes, &why)) {
        return Status::InFile("-", why);
      }
      std::rewind(file.get());
    } else {
      const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      struct stat st {};
      if (fd < 0 || fstat(fd, &st) != 0) {
        const int err = errno;
        if (fd >= 0) close(fd);
        return Status::InFile(path, std::string("cannot open: ") + std::strerror(err) +
                                        "; check the path and permissions");
      }
      if (S_ISREG(st.st_mode)) {
        // Hashed as libpcap reads it: one pass over the file.
        info.size_bytes = static_cast<std::uint64_t>(st.st_size);
        auto opened = HashingReader::Open(fd, info.size_bytes);
        if (!opened.ok()) return Status::InFile(path, opened.status().message());
        reader = std::move(*opened);
        file.reset(reader->File());
      } else {
        file.reset(fdopen(fd, "rb"));
        if (!file) {
          const int err = errno;
          close(fd);
          return Status::InFile(path, std::string("cannot open: ") + std::strerror(err));
        }
        if (!HashStream(file.get(), nullptr, &info.sha256, &info.size_bytes, &why)) {
          return Status::InFile(path, why);
        }
        std::rewind(file.get());
      }
    }
    if (info.size_bytes == 0) {
      return Status::InFile(path, "the file is empty; expected a pcap or pcapng capture");
    }
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* handle =
        pcap_fopen_offline_with_tstamp_precision(file.get(), PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (handle == nullptr) return Status::InFile(path, NotACapture(errbuf));
    static_cast<void>(file.release());  // pcap_close() closes it from now on
    source->handles_.push_back(handle);
    source->readers_.push_back(std::move(reader));
    info.link_type_number = LinkTypeFromDlt(pcap_datalink(handle));
    info.link = static_cast<LinkType>(info.link_type_number);
    info.link_type_name = LinkTypeName(info.link_type_number);
    source->inputs_.push_back(std::move(info));
  }
  return source;
}

PcapSource::~PcapSource() {
  for (pcap_t* handle : handles_) {
    if (handle != nullptr) pcap_close(handle);
  }
}

std::uint64_t PcapSource::TotalBytes() const {
  std::uint64_t total = 0;
  for (const PcapInputInfo& in : inputs_) total += in.size_bytes;
  return total;
}

std::uint64_t PcapSource::BytesRead() const {
  std::uint64_t done = 0;
  for (std::size_t i = 0; i < inputs_.size() && i < current_; ++i) done += inputs_[i].size_bytes;
  if (current_ < readers_.size() && readers_[current_] != nullptr) {
    done += readers_[current_]->BytesRead();
  } else if (current_ < handles_.size() && handles_[current_] != nullptr) {
    const long pos = std::ftell(pcap_file(handles_[current_]));
    if (pos > 0) done += static_cast<std::uint64_t>(pos);
  }
  return done;
}

bool PcapSource::Next(RawPacket* out) {
  while (current_ < handles_.size()) {
    pcap_t* handle = handles_[current_];
    PcapInputInfo& info = inputs_[current_];
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(handle, &header, &data);
    if (rc == 1) {
      // pcapng can claim any 64-bit time, or one before 1970 (found by
      // pcap_source_fuzz): PacketTimeOf clamps it (common/timestamp.h).
      const Timestamp time = PacketTimeOf(header->ts.tv_sec, header->ts.tv_usec);
      if (info.packets == 0) info.first_time = time;
      info.last_time = time;
      ++info.packets;
      out->number = next_number_++;
      out->time = time;
      out->link = info.link;
      out->wire_length = header->len;
      out->data = std::span<const std::uint8_t>(data, header->caplen);
      out->input_index = static_cast<std::uint32_t>(current_);
      return true;
    }
    if (rc == PCAP_ERROR) {
      const std::string_view libpcap_says = pcap_geterr(handle);
      const bool truncated = libpcap_says.find("truncated") != std::string_view::npos;
      info.truncated = truncated;
      info.damaged = true;
      const long offset = std::ftell(pcap_file(handle));
      info.damage_offset = offset > 0 ? static_cast<std::uint64_t>(offset) : 0;
      warnings_.push_back(
          info.path + ": " + (truncated ? "truncated at packet " : "read error at packet ") +
          std::to_string(info.packets + 1) + " (libpcap: " + std::string(libpcap_says) +
          "); the packets before it were used, the rest of this file is lost");
    }
    // End of this input (normal or not): the hash takes in what libpcap
    // left unread, then the input is released early and reading goes on.
    if (HashingReader* r = readers_[current_].get()) {
      const Status hashed = r->Finish(&info.sha256, &info.size_bytes);
      if (!hashed.ok()) {
        info.sha256.clear();
        warnings_.push_back(info.path + ": " + hashed.message() +
                            "; its SHA-256 is unknown, so the report cannot identify it");
      }
    }
    pcap_close(handle);
    handles_[current_] = nullptr;
    ++current_;
  }
  return false;
}

}  // namespace flightwall
