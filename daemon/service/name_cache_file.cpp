#include "service/name_cache_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/byte_cursor.h"
#include "common/sha256.h"

namespace flightwall {
namespace {

constexpr std::string_view kMagic = "FLWNAMES";
constexpr std::size_t kChecksummedHeader = 32;  // magic .. payload bytes
constexpr std::uint8_t kTrusted = 1;            // record flags
constexpr std::uint8_t kConfirmed = 2;

void PutU8(std::string* out, std::uint8_t v) { out->push_back(static_cast<char>(v)); }
void PutU32(std::string* out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) PutU8(out, static_cast<std::uint8_t>(v >> shift));
}
void PutU64(std::string* out, std::uint64_t v) {
  PutU32(out, static_cast<std::uint32_t>(v >> 32));
  PutU32(out, static_cast<std::uint32_t>(v));
}
void PutAddress(std::string* out, const IpAddress& a) {
  PutU8(out, !a.IsSet() ? 0 : a.IsV6() ? 6 : 4);
  for (std::uint8_t b : a.Bytes()) PutU8(out, b);
}

std::uint64_t U64(ByteCursor* c) {
  const std::uint64_t high = c->U32();
  return high << 32 | c->U32();
}

// False when the family byte is not 4 or 6 (or 0, for an unset address
// when `may_be_unset`).
bool ReadAddress(ByteCursor* c, bool may_be_unset, IpAddress* out) {
  const std::uint8_t family = c->U8();
  const std::span<const std::uint8_t> bytes = c->Bytes(16);
  if (!c->Ok()) return false;
  if (family == 4) {
    *out = IpAddress::V4(bytes.first(4));
  } else if (family == 6) {
    *out = IpAddress::V6(bytes);
  } else if (family == 0 && may_be_unset) {
    *out = IpAddress();
  } else {
    return false;
  }
  return true;
}

std::string Checksum(std::span<const std::uint8_t> header, std::span<const std::uint8_t> payload) {
  Sha256Hasher h;
  h.Update(header);
  h.Update(payload);
  return h.FinalHex();
}

NameCacheFileContents Reject(std::string why) {
  NameCacheFileContents r;
  r.error = std::move(why);
  return r;
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

std::uint64_t NameCacheFileBound(std::size_t max_names) {
  return kNameCacheHeaderBytes + std::uint64_t{max_names} * kNameCacheMaxRecordBytes;
}

std::string EncodeNameCacheFile(std::span<const StoredName> names, std::int64_t written_at) {
  std::string payload;
  payload.reserve(names.size() * 64);
  for (const StoredName& n : names) {
    PutAddress(&payload, n.address);
    PutAddress(&payload, n.binding.resolver);
    PutU64(&payload, static_cast<std::uint64_t>(n.binding.answered_at));
    PutU32(&payload, n.binding.ttl);
    PutU8(&payload, static_cast<std::uint8_t>((n.binding.trusted ? kTrusted : 0) |
                                              (n.binding.confirmed ? kConfirmed : 0)));
    const std::string_view name = n.binding.name.View();
    PutU8(&payload, static_cast<std::uint8_t>(name.size()));
    payload.append(name);
  }
  std::string out(kMagic);
  PutU32(&out, kNameCacheFileVersion);
  PutU32(&out, static_cast<std::uint32_t>(names.size()));
  PutU64(&out, static_cast<std::uint64_t>(written_at));
  PutU64(&out, payload.size());
  const auto bytes = [](const std::string& s) {
    return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  };
  out += Checksum(bytes(out), bytes(payload));
  out += payload;
  return out;
}

NameCacheFileContents DecodeNameCacheFile(std::span<const std::uint8_t> bytes,
                                          std::size_t max_names) {
  if (bytes.size() > NameCacheFileBound(max_names)) {
    return Reject("larger (" + std::to_string(bytes.size()) + " bytes) than " +
                  std::to_string(max_names) + " names can fill");
  }
  ByteCursor c(bytes);
  const std::span<const std::uint8_t> magic = c.Bytes(kMagic.size());
  if (!c.Ok() ||
      std::string_view(reinterpret_cast<const char*>(magic.data()), magic.size()) != kMagic) {
    return Reject("not a flightwall name cache (bad magic)");
  }
  const std::uint32_t version = c.U32();
  const std::uint32_t count = c.U32();
  const std::int64_t written_at = static_cast<std::int64_t>(U64(&c));
  const std::uint64_t payload_size = U64(&c);
  const std::span<const std::uint8_t> sum = c.Bytes(64);
  if (!c.Ok()) return Reject("truncated header");
  if (version != kNameCacheFileVersion) {
    return Reject("format version " + std::to_string(version) + ", this build reads " +
                  std::to_string(kNameCacheFileVersion));
  }
  if (count > max_names) {
    return Reject("holds " + std::to_string(count) + " names, more than the " +
                  std::to_string(max_names) + " allowed");
  }
  if (payload_size != c.Remaining()) return Reject("truncated or padded (size mismatch)");
  const std::span<const std::uint8_t> payload = c.Rest();
  const std::string expected = Checksum(bytes.first(kChecksummedHeader), payload);
  if (std::string_view(reinterpret_cast<const char*>(sum.data()), sum.size()) != expected) {
    return Reject("checksum mismatch");
  }
  NameCacheFileContents r;
  r.written_at = written_at;
  r.names.reserve(count);
  ByteCursor p(payload);
  for (std::uint32_t i = 0; i < count; ++i) {
    StoredName n;
    if (!ReadAddress(&p, false, &n.address) || !ReadAddress(&p, true, &n.binding.resolver)) {
      return Reject("record " + std::to_string(i) + ": bad address");
    }
    n.binding.answered_at = static_cast<std::int64_t>(U64(&p));
    n.binding.ttl = p.U32();
    const std::uint8_t flags = p.U8();
    const std::uint8_t length = p.U8();
    const std::span<const std::uint8_t> name = p.Bytes(length);
    if (!p.Ok() || (flags & ~(kTrusted | kConfirmed)) != 0 || length == 0) {
      return Reject("record " + std::to_string(i) + ": truncated or malformed");
    }
    n.binding.trusted = (flags & kTrusted) != 0;
    n.binding.confirmed = (flags & kConfirmed) != 0;
    n.binding.name.Assign(std::string_view(reinterpret_cast<const char*>(name.data()), length));
    r.names.push_back(n);
  }
  if (p.Remaining() != 0) return Reject("trailing bytes after the last record");
  r.ok = true;
  return r;
}

NameCacheFileContents ReadNameCacheFile(const std::string& path, std::size_t max_names) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) {
      NameCacheFileContents r;
      r.ok = true;
      return r;
    }
    return Reject(Errno("cannot open"));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Reject("not a regular file");
  }
  const std::uint64_t bound = NameCacheFileBound(max_names);
  if (static_cast<std::uint64_t>(st.st_size) > bound) {
    ::close(fd);
    return Reject("larger (" + std::to_string(st.st_size) + " bytes) than " +
                  std::to_string(max_names) + " names can fill");
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  bytes.resize(got);
  return DecodeNameCacheFile(bytes, max_names);
}

Status ReplaceFileAtomically(const std::string& path, std::string_view bytes) {
  const std::string temp = path + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::Error(Errno("cannot create " + temp));
  std::string error;
  bool ok = ::fchmod(fd, 0600) == 0;
  std::size_t done = 0;
  while (ok && done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = false;
    if (n > 0) done += static_cast<std::size_t>(n);
  }
  if (!ok) error = Errno("cannot write " + temp);
  if (ok && ::fsync(fd) != 0) {
    error = Errno("cannot fsync " + temp);
    ok = false;
  }
  if (::close(fd) != 0 && ok) {
    error = Errno("cannot close " + temp);
    ok = false;
  }
  if (ok && ::rename(temp.c_str(), path.c_str()) != 0) {
    error = Errno("cannot rename " + temp + " to " + path);
    ok = false;
  }
  if (!ok) {
    ::unlink(temp.c_str());
    return Status::Error(std::move(error));
  }
  // The rename itself must reach the disk, or a power cut can bring back
  // the previous file (or none).
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status();
}

}  // namespace flightwall
