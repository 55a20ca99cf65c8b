#include "sink/chain_key.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace flightwall {

ChainKey::ChainKey(std::span<const std::uint8_t> bytes) : bytes_(bytes.begin(), bytes.end()) {}

ChainKey::~ChainKey() { Wipe(); }

ChainKey::ChainKey(ChainKey&& other) noexcept : bytes_(std::move(other.bytes_)) {
  other.bytes_.clear();
}

ChainKey& ChainKey::operator=(ChainKey&& other) noexcept {
  if (this != &other) {
    Wipe();
    bytes_ = std::move(other.bytes_);
    other.bytes_.clear();
  }
  return *this;
}

void ChainKey::Wipe() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  bytes_.clear();
}

Status ReadChainKey(const std::string& path, KeyFileCheck check, ChainKey* key) {
  const std::string create =
      "; create one with: head -c 32 /dev/urandom >FILE && chmod 0640 FILE "
      "(owner root, group of the daemon's user)";
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    const int e = errno;
    std::string why = "cannot read the chain key " + path + ": " + std::strerror(e);
    if (e == ENOENT) return Status::Error(why + create);
    return Status::Error(
        why + "; the daemon's user (and whoever runs verify-log) must be able to read it");
  }
  struct stat st {};
  std::string why;
  if (fstat(fd, &st) != 0) {
    why = "cannot read the chain key " + path + ": " + std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    why = "the chain key " + path + " is not a regular file" + create;
  } else if (st.st_size < static_cast<off_t>(kMinChainKeyBytes) ||
             st.st_size > static_cast<off_t>(kMaxChainKeyBytes)) {
    why = "the chain key " + path + " is " + std::to_string(st.st_size) + " bytes; a key is " +
          std::to_string(kMinChainKeyBytes) + " to " + std::to_string(kMaxChainKeyBytes) +
          " bytes" + create;
  } else if (check == KeyFileCheck::kPrivate && (st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    why = "the chain key " + path + " may be read or written by every user (mode " + mode +
          "), so anyone could forge the event log; run chmod o-rw " + path;
  }
  if (!why.empty()) {
    close(fd);
    return Status::Error(std::move(why));
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      why = "cannot read the chain key " + path + ": " + std::strerror(errno);
      break;
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  close(fd);
  if (why.empty() && got != bytes.size()) {
    why = "the chain key " + path + " changed size while it was read; read it again";
  }
  if (why.empty()) *key = ChainKey(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  if (!why.empty()) return Status::Error(std::move(why));
  return {};
}

}  // namespace flightwall
