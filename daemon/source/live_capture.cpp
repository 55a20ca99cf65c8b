#include "source/live_capture.h"

#include <pcap/pcap.h>
#include <poll.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "source/pcap_source.h"

namespace flightwall {

std::string LiveCaptureFilterFor(const std::vector<std::string>& nets) {
  std::string any;
  for (const std::string& n : nets) any += (any.empty() ? "net " : " or net ") + n;
  if (any.empty()) return "";
  const std::string f = "(" + any + ") or port 53";
  // Each `vlan` shifts the offsets of everything after it in the whole
  // expression (not only its own clause), so the tagged cases nest:
  // untagged, or one tag and (F, or a second tag and F).
  return f + " or (vlan and (" + f + " or (vlan and (" + f + "))))";
}
namespace {

std::string Errbuf(const char* errbuf) { return errbuf[0] != '\0' ? errbuf : "no detail"; }

}  // namespace

Result<std::unique_ptr<LiveCapture>> LiveCapture::Open(const LiveCaptureOptions& options) {
  std::unique_ptr<LiveCapture> c(new LiveCapture());
  c->options_ = options;
  const std::string& ifc = options.interface;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  c->handle_ = pcap_create(ifc.c_str(), errbuf);
  if (c->handle_ == nullptr) {
    return Status::InFile(ifc, "cannot capture: " + Errbuf(errbuf) + "; check the interface name");
  }
  pcap_set_snaplen(c->handle_, options.snaplen);
  pcap_set_promisc(c->handle_, 1);
  pcap_set_immediate_mode(c->handle_, 1);
  if (options.buffer_kb > 0) pcap_set_buffer_size(c->handle_, options.buffer_kb * 1024);
  const int rc = pcap_activate(c->handle_);
  if (rc < 0) {
    std::string why = pcap_geterr(c->handle_);
    if (rc == PCAP_ERROR_PERM_DENIED) why += " (capturing needs root or CAP_NET_RAW)";
    if (rc == PCAP_ERROR_NO_SUCH_DEVICE) why += " (no such interface: see `ip link`)";
    return Status::InFile(ifc, "cannot start capturing: " + why);
  }
  const int dlt = pcap_datalink(c->handle_);
  const std::uint32_t link = PcapSource::LinkTypeFromDlt(dlt);
  if (std::string(PcapSource::LinkTypeName(link)) == "unsupported") {
    return Status::InFile(
        ifc, "link type " + std::to_string(link) +
                 " cannot be decoded; capture on an Ethernet, raw IP or loopback interface");
  }
  c->link_ = static_cast<LinkType>(link);
  if (!options.filter.empty()) {
    bpf_program program{};
    if (pcap_compile(c->handle_, &program, options.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      return Status::InFile(ifc, "capture filter '" + options.filter +
                                     "' does not compile: " + pcap_geterr(c->handle_));
    }
    const int set = pcap_setfilter(c->handle_, &program);
    pcap_freecode(&program);
    if (set != 0) {
      return Status::InFile(
          ifc, std::string("cannot set the capture filter: ") + pcap_geterr(c->handle_));
    }
  }
  if (pcap_setnonblock(c->handle_, 1, errbuf) != 0) {
    return Status::InFile(ifc, "cannot make the capture non-blocking: " + Errbuf(errbuf));
  }
  c->fd_ = pcap_get_selectable_fd(c->handle_);
  if (c->fd_ < 0) {
    return Status::InFile(ifc, "libpcap offers no descriptor to wait on for this interface");
  }
  // The message names the file to write.
  if (!options.write_path.empty() && !c->OpenNextFile()) return Status::Error(c->write_error_);
  return c;
}

LiveCapture::~LiveCapture() {
  if (dumper_ != nullptr) pcap_dump_close(dumper_);
  if (handle_ != nullptr) pcap_close(handle_);
}

bool LiveCapture::OpenNextFile() {
  std::string path = options_.write_path;
  if (!files_.empty()) {
    // Two appends: GCC 12's -Wrestrict misjudges "." + std::string&& at -O3.
    path += '.';
    path += std::to_string(files_.size());
  }
  dumper_ = pcap_dump_open(handle_, path.c_str());
  if (dumper_ == nullptr) {
    write_error_ = path + ": cannot write the capture: " + pcap_geterr(handle_) +
                   "; check that the directory exists and is writable";
    return false;
  }
  files_.push_back(std::move(path));
  return true;
}

LivePoll LiveCapture::Poll(RawPacket* out, int wait_ms) {
  if (!error_.empty()) return LivePoll::kError;
  for (int round = 0; round < 2; ++round) {
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(handle_, &header, &data);
    if (rc == 1) {
      ++packets_;
      if (dumper_ != nullptr) {
        pcap_dump(reinterpret_cast<u_char*>(dumper_), header, data);
        if (options_.rotate_bytes > 0 &&
            static_cast<std::uint64_t>(pcap_dump_ftell64(dumper_)) >= options_.rotate_bytes) {
          if (pcap_dump_flush(dumper_) != 0) write_error_ = files_.back() + ": write failed";
          pcap_dump_close(dumper_);
          dumper_ = nullptr;
          if (!OpenNextFile()) error_ = write_error_;
        }
      }
      out->number = packets_;
      out->time = PacketTimeOf(header->ts.tv_sec, header->ts.tv_usec);
      out->link = link_;
      out->wire_length = header->len;
      out->data = std::span<const std::uint8_t>(data, header->caplen);
      out->input_index = 0;
      return LivePoll::kPacket;
    }
    if (rc < 0) {
      error_ = options_.interface + ": capture failed: " + pcap_geterr(handle_);
      return LivePoll::kError;
    }
    if (round == 1) break;
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, wait_ms);
    if (ready <= 0) return LivePoll::kIdle;  // timeout, or a signal (the caller checks)
    if ((p.revents & (POLLERR | POLLNVAL)) != 0) {
      error_ = options_.interface + ": the interface went away or failed";
      return LivePoll::kError;
    }
  }
  return LivePoll::kIdle;
}

LiveCaptureCounts LiveCapture::Counts() const {
  pcap_stat st{};
  if (pcap_stats(handle_, &st) != 0) return {};
  return {st.ps_recv, st.ps_drop, st.ps_ifdrop};
}

void LiveCapture::Flush() {
  if (dumper_ != nullptr && pcap_dump_flush(dumper_) != 0 && write_error_.empty()) {
    write_error_ = files_.back() + ": write failed: " + std::strerror(errno) + " (disk full?)";
  }
}

Status LiveCapture::FinishWriting() {
  if (dumper_ != nullptr) {
    if (pcap_dump_flush(dumper_) != 0 && write_error_.empty()) {
      write_error_ = files_.back() + ": write failed: " + std::strerror(errno) + " (disk full?)";
    }
    std::FILE* f = pcap_dump_file(dumper_);
    if (f != nullptr && std::ferror(f) != 0 && write_error_.empty()) {
      write_error_ = files_.back() + ": write failed (disk full?)";
    }
    pcap_dump_close(dumper_);
    dumper_ = nullptr;
  }
  if (!write_error_.empty()) return Status::Error(write_error_);
  return Status();
}

}  // namespace flightwall
